// A full build in a child process, for a process that lives on after it (serve): compiling a
// fleet holds every data file and answer in memory at once (~0.9 GB at 100k machines), and a
// Node process keeps most of what it grew to. The child compiles and writes the snapshot as
// `bootcfg build` would, then hands back what an incremental build needs of it (src/build/
// incremental.ts: the answers' paths and hashes, where each came from, the data files' sizes,
// the templates) in a compact form, and exits. The parent never holds the fleet's contents.
//
// The child is this module, forked (build-child-main.ts) through ask-child.ts: it answers with
// one message, and errors cross as the same BootcfgError kinds, so serve reports a failed build
// exactly as it would an in-process one.

import { fileURLToPath } from 'node:url';
import type { BootcfgError } from '../compile/errors.js';
import type { TemplateName, TemplateSource } from '../compile/templates.js';
import { compileAll, writeCompiled, type BuildOptions, type BuildResult, type Compiled, type FullCompile } from './build.js';
import { answerParent, askChild, fromSent, toSent, type SentError } from './ask-child.js';
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
  /** The profiles' sources (profiles/…): a changed group is compiled against them (compile/incremental.ts). */
  profiles: [string, Uint8Array][];
  /** The writer's memory of the snapshot (write.ts), so the next build plans only what changed. */
  written: WrittenStore | undefined;
}

/** The options a child can take (no callbacks): a build of a data directory into a dist. */
export type ChildOptions = Pick<BuildOptions, 'dataPath' | 'distPath' | 'source' | 'revision' | 'imagesPath' | 'pruneLater' | 'signal'>;

/** What is sent to the child: the options, and whether to hand back the state for incremental builds. */
type Asked = Omit<ChildOptions, 'signal'> & { keep: boolean };

/** The child's answer. Warnings (in the result and the kept compile) cross as SentErrors. */
interface Built {
  build: ChildBuild;
  warnings: SentError[];
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

async function ask(options: ChildOptions, keep: boolean): Promise<ChildBuild> {
  const { signal, ...rest } = options;
  const sent: Asked = { ...rest, keep };
  // The child prunes old snapshots after answering (pruneLater); the parent goes on.
  const { build, warnings } = await askChild<Built>(MAIN, sent, { serialization: 'advanced', signal, what: 'build', stopped: buildStopped });
  return received(build, warnings);
}

/**
 * The child's side: one build as asked, one reply, then exit once its prune is done. A stop is
 * SIGTERM's default, at once: the writer keeps a build that dies at any point from going live
 * half-made (write.ts), and compiling is synchronous, so an abort flag would be seen only once
 * the compile is done. A parent that goes away before the reply ends the child the same way.
 */
export function runChild(): void {
  answerParent(({ keep, ...options }: Asked) => buildKept(options, keep));
}

async function buildKept(options: BuildOptions, keep: boolean): Promise<Built> {
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
    profiles: [...all.sources].filter(([file]) => file.startsWith('profiles/')),
    written: writtenStore(dir),
  };
}

/** The reply as this process uses it: warnings made again, Uint8Arrays as Buffers. */
function received(build: ChildBuild, sent: SentError[]): ChildBuild {
  const warnings = sent.map((warning) => fromSent(warning) as BootcfgError);
  const result = { ...build.result, warnings };
  if (!build.kept) return { result };
  const buffers = (files: [string, Uint8Array][]) => files.map(([name, bytes]): [string, Uint8Array] => [name, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
  return { result, kept: { ...build.kept, compiled: { ...build.kept.compiled, warnings }, localFiles: buffers(build.kept.localFiles), profiles: buffers(build.kept.profiles) } };
}
