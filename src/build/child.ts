// A full build in a child process, for a process that lives on after it (serve): compiling a
// fleet holds every data file and answer in memory at once (~0.9 GB at 100k machines), and a
// Node process keeps most of what it grew to. The child compiles and writes the snapshot as
// `bootcfg build` would, then hands back what an incremental build needs of it (src/build/
// incremental.ts: the answers' paths and hashes, where each came from, the data files' sizes,
// the templates) in a compact form, and exits. The parent never holds the fleet's contents.
//
// The child is this module, forked (build-child-main.ts). It answers with one message, and
// errors cross as their fields and are made again as the same BootcfgError kinds, so serve
// reports a failed build exactly as it would an in-process one.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BootcfgError, ErrorList, LoadError, SourceError, TemplateError, UsageError } from '../compile/errors.js';
import type { TemplateName, TemplateSource } from '../compile/templates.js';
import { compileAll, writeCompiled, type BuildOptions, type BuildResult, type Compiled, type FullCompile } from './build.js';
import { buildStopped } from './source.js';
import { writtenStore, type WrittenStore } from './write.js';

/** A full build done in a child: its result and, when asked for, what the next incremental build needs. */
export interface ChildBuild {
  result: BuildResult;
  kept?: KeptBuild;
}

/** What a full build leaves for the next incremental one, as it crosses between processes. */
export interface KeptBuild {
  compiled: Omit<Compiled, 'files' | 'origins'>;
  /** Every data file read (data-relative) and its size. */
  files: string[];
  sizes: number[];
  /** Every answer path, sorted as a full build hands them over, and its sha256 (32 bytes each). */
  paths: string[];
  hashes: Uint8Array;
  /**
   * For each answer, the data file it came from: an index in `files`, or past them in
   * `otherSources` (a file the compile names that it did not read), or -1 for none. By index, so
   * that the receiver keeps one string per data file (structured clone copies every string).
   */
  origins: Int32Array;
  otherSources: string[];
  /** The content revision's running sum (RevisionSum), in hex. */
  sum: string;
  templates: [TemplateName, TemplateSource][];
  dataTemplates: [string, TemplateSource][];
  localFiles: [string, Uint8Array][];
  /** The writer's memory of the snapshot (write.ts), so the next build plans only what changed. */
  written: WrittenStore | undefined;
}

/** The options a child can take (no callbacks): a build of a data directory into a dist. */
export type ChildOptions = Pick<BuildOptions, 'dataPath' | 'distPath' | 'source' | 'revision' | 'imagesPath' | 'pruneLater' | 'signal'>;

/** What is sent to the child: the options, and whether to hand back the state for incremental builds. */
type Asked = Omit<ChildOptions, 'signal'> & { keep: boolean };

/** The child's one message. Warnings (in the result and the kept compile) cross as SentErrors. */
type Reply = { ok: true; build: ChildBuild; warnings: SentError[] } | { ok: false; error: SentError };

export interface SentError {
  kind: string;
  message: string;
  file?: string;
  line?: number;
  column?: number;
  hint?: string;
  stack?: string;
  errors?: SentError[];
  warnings?: SentError[];
}

const MAIN = fileURLToPath(new URL('./build-child-main.js', import.meta.url));

/**
 * Builds in a child process; resolves once the snapshot is live. A failure rejects with the
 * child's errors; the signal stops the child (the last good build stays live).
 */
export async function buildInChild(options: ChildOptions): Promise<Required<ChildBuild>> {
  return (await ask(options, true)) as Required<ChildBuild>;
}

/** A build in a child process, for a caller that builds once (serve without --watch). */
export async function buildOnceInChild(options: ChildOptions): Promise<BuildResult> {
  return (await ask(options, false)).result;
}

function ask(options: ChildOptions, keep: boolean): Promise<ChildBuild> {
  if (options.signal?.aborted) return Promise.reject(buildStopped());
  const { signal, ...rest } = options;
  const sent: Asked = { ...rest, keep };
  return new Promise((resolve, reject) => {
    const child = fork(MAIN, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let reply: Reply | undefined;
    const stop = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', stop, { once: true });
    child.once('message', (message) => {
      reply = message as Reply;
      // The child prunes old snapshots after answering (pruneLater); the parent goes on.
      if (reply.ok) resolve(received(reply.build, reply.warnings));
      else reject(fromSent(reply.error));
    });
    child.once('error', (error) => reject(error));
    child.once('exit', (code, by) => {
      signal?.removeEventListener('abort', stop);
      if (reply) return;
      reject(signal?.aborted ? buildStopped() : new SourceError(`the build process ended (${by ?? `exit ${code}`}) before it answered`, { hint: 'see its output above; the last good build is still live' }));
    });
    child.send(sent);
  });
}

/**
 * The child's side: one build as asked, one reply, then exit once its prune is done. A stop is
 * SIGTERM's default, at once: the writer keeps a build that dies at any point from going live
 * half-made (write.ts), and compiling is synchronous, so an abort flag would be seen only once
 * the compile is done. A parent that goes away before the reply ends the child the same way.
 */
export function runChild(): void {
  let replied = false;
  process.once('disconnect', () => {
    if (!replied) process.kill(process.pid, 'SIGTERM');
  });
  process.once('message', ({ keep, ...options }: Asked) => {
    void buildKept(options, keep).then(
      ({ build, warnings }) => reply({ ok: true, build, warnings }),
      (error: unknown) => reply({ ok: false, error: toSent(error) }),
    );
  });
  function reply(message: Reply): void {
    replied = true;
    // Disconnect once sent: the parent is done with this child, which exits when its work is.
    process.send!(message, () => process.disconnect());
  }
}

async function buildKept(options: BuildOptions, keep: boolean): Promise<{ build: ChildBuild; warnings: SentError[] }> {
  const started = performance.now();
  const all = await compileAll(options.dataPath, { ...options, deferChecks: true });
  const result = await writeCompiled(options, all.compiled, all.hashes, started, undefined, all.checked);
  const warnings = result.warnings.map(toSent);
  return { build: { result: { ...result, warnings: [] }, kept: keep ? keptOf(all, result.dir) : undefined }, warnings };
}

function keptOf(all: FullCompile, dir: string): KeptBuild {
  const files = [...all.sources.keys()];
  const otherSources: string[] = [];
  const index = new Map(files.map((file, i) => [file, i]));
  const paths = [...all.hashes.keys()];
  const hashes = new Uint8Array(paths.length * 32);
  const origins = new Int32Array(paths.length);
  for (const [i, path] of paths.entries()) {
    hashes.set(Buffer.from(all.hashes.get(path)!, 'hex'), i * 32);
    const source = all.compiled.origins.get(path);
    let at = source === undefined ? -1 : index.get(source);
    if (at === undefined) index.set(source!, (at = files.length + otherSources.push(source!) - 1));
    origins[i] = at;
  }
  const { files: _answers, origins: _origins, ...compiled } = all.compiled;
  return {
    compiled: { ...compiled, warnings: [] },
    files, paths, hashes, origins, otherSources,
    sizes: files.map((file) => all.sources.get(file)!.length),
    sum: all.sum.toHex(),
    templates: [...all.templates],
    dataTemplates: [...all.model.dataTemplates],
    localFiles: [...all.model.localFiles],
    written: writtenStore(dir),
  };
}

/** The reply as this process uses it: warnings made again, Uint8Arrays as Buffers. */
function received(build: ChildBuild, sent: SentError[]): ChildBuild {
  const warnings = sent.map((warning) => fromSent(warning) as BootcfgError);
  const result = { ...build.result, warnings };
  if (!build.kept) return { result };
  const localFiles = build.kept.localFiles.map(([name, bytes]): [string, Uint8Array] => [name, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
  return { result, kept: { ...build.kept, compiled: { ...build.kept.compiled, warnings }, localFiles } };
}

const KINDS: Record<string, new (message: string, where: ConstructorParameters<typeof BootcfgError>[1]) => BootcfgError> = { BootcfgError, LoadError, TemplateError, SourceError, UsageError };

export function toSent(error: unknown): SentError {
  if (error instanceof ErrorList) return { ...fields(error), kind: 'ErrorList', errors: error.errors.map(toSent), warnings: error.warnings.map(toSent) };
  if (error instanceof BootcfgError) return { ...fields(error), kind: error.constructor.name };
  const plain = error instanceof Error ? error : new Error(String(error));
  return { kind: 'Error', message: plain.message, stack: plain.stack };
}

function fields(error: BootcfgError): SentError {
  return { kind: '', message: error.message, file: error.file, line: error.line, column: error.column, hint: error.hint };
}

/** The child's error made again in this process, of the same kind. */
export function fromSent(sent: SentError): Error {
  if (sent.kind === 'ErrorList') return new ErrorList((sent.errors ?? []).map((e) => fromSent(e) as BootcfgError), (sent.warnings ?? []).map((e) => fromSent(e) as BootcfgError));
  const Kind = KINDS[sent.kind];
  if (Kind) return new Kind(sent.message, { file: sent.file, line: sent.line, column: sent.column, hint: sent.hint });
  const error = new Error(sent.message);
  if (sent.stack) error.stack = sent.stack;
  return error;
}
