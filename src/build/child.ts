// A full build in a child process, for a process that lives on after it (serve): compiling a
// fleet holds every data file and answer in memory at once (~0.9 GB at 100k machines), and a
// Node process keeps most of what it grew to. The child compiles and writes the snapshot as
// `bootcfg build` would, then hands back what an incremental build needs of it (src/build/
// incremental.ts: the answers' paths and hashes, where each came from, the data files' sizes,
// the templates) in a compact form, and exits. The parent never holds the fleet's contents.
//
// The child is this module, forked (build-child-main.ts) through ask-child.ts: it answers with
// one message, and errors cross as the same BootcfgError kinds, so serve reports a failed build
// exactly as it would an in-process one. The state itself (~34 MB serialized at 100k machines)
// comes back through a private temp file the parent opened and the child inherited: over IPC,
// Node gathers a message in 64 KB chunks, joins them, and only then decodes, so serve held it
// twice over beside what it decodes to (a start-up peak of ~320–360 MB at 100k machines). The
// file is read in one piece. Without one (no temp dir, or no room in it) it comes over IPC.

import { writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import type { BootcfgError } from '../compile/errors.js';
import type { TemplateName, TemplateSource } from '../compile/templates.js';
import { compileAll, withEarlyStore, writeCompiled, type BuildOptions, type BuildResult, type Compiled, type FullCompile } from './build.js';
import { answerParent, askChild, fromSent, SHARED_FD, toSent, type SentError } from './ask-child.js';
import { PrivateFile } from './private-file.js';
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

/**
 * What is sent to the child: the options, whether to hand back the state for incremental
 * builds, and whether to write it to the shared file (its SHARED_FD) rather than send it.
 */
type Asked = Omit<ChildOptions, 'signal'> & { keep: boolean; shared: boolean };

/**
 * The child's answer. Warnings (in the result and the kept compile) cross as SentErrors. The
 * kept state is in `build`, or the shared file's first `keptBytes` bytes hold it (v8.serialize).
 */
interface Built {
  build: ChildBuild;
  keptBytes?: number;
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

/**
 * The build child's young generation, in MB a semi-space: Node 20 and 22's largest, where
 * Node 24 lets V8 grow it to 64 MB, and a full build at 100k machines grows it that far. On
 * Node 24.22, `serve --watch` of 100k machines until it listens, seven runs each: the child's
 * peak 959–1,020 MB (median 971) with V8's default, 856–980 MB (median 870) with this; its
 * build 10.7–10.9 s against 10.5–11.6 s. A young-generation flag given to node wins.
 */
export const CHILD_SEMI_SPACE_MB = 16;

async function ask(options: ChildOptions, keep: boolean): Promise<ChildBuild> {
  const { signal, ...rest } = options;
  const shared = keep ? PrivateFile.create('bootcfg-kept') : undefined; // none: the state comes over IPC
  try {
    const sent: Asked = { ...rest, keep, shared: shared !== undefined };
    // The child prunes old snapshots after answering (pruneLater); the parent goes on.
    const { build, keptBytes, warnings } = await askChild<Built>(MAIN, sent, { serialization: 'advanced', signal, what: 'build', stopped: buildStopped, shared: shared?.fd, semiSpaceMb: CHILD_SEMI_SPACE_MB });
    if (keptBytes !== undefined) build.kept = deserialize(shared!.read(0, keptBytes)) as KeptBuild;
    return received(build, warnings);
  } finally {
    shared?.release();
  }
}

/**
 * The child's side: one build as asked, one reply, then exit once its prune is done. A stop is
 * SIGTERM's default, at once: the writer keeps a build that dies at any point from going live
 * half-made (write.ts), and compiling is synchronous, so an abort flag would be seen only once
 * the compile is done. A parent that goes away before the reply ends the child the same way.
 */
export function runChild(): void {
  answerParent(({ keep, shared, ...options }: Asked) => buildKept(options, keep, shared));
}

async function buildKept(options: BuildOptions, keep: boolean, shared: boolean): Promise<Built> {
  const started = performance.now();
  const { all, result } = await withEarlyStore(options.distPath, async (writeAhead, early) => {
    const all = await compileAll(options.dataPath, { ...options, deferChecks: true, writeAhead });
    return { all, result: await writeCompiled(options, all.compiled, all.hashes, started, undefined, all.checked, early()) };
  });
  const warnings = result.warnings.map(toSent);
  const kept = keep ? keptOf(all, result.dir) : undefined;
  const keptBytes = kept && shared ? writeShared(serialize(kept)) : undefined;
  return { build: { result: { ...result, warnings: [] }, kept: keptBytes === undefined ? kept : undefined }, keptBytes, warnings };
}

/** Writes the state to the parent's shared file; its length, or undefined when it did not fit (it goes over IPC). */
function writeShared(bytes: Buffer): number | undefined {
  try {
    for (let at = 0; at < bytes.length; ) at += writeSync(SHARED_FD, bytes, at, bytes.length - at, at);
    return bytes.length;
  } catch {
    return undefined;
  }
}

function keptOf(all: FullCompile, dir: string): KeptBuild {
  const files = all.sources.files;
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
    sizes: all.sources.sizes,
    sum: all.sum.toHex(),
    templates: [...all.templates],
    dataTemplates: [...all.model.dataTemplates],
    localFiles: [...all.model.localFiles],
    profiles: all.sources.profiles,
    written: writtenStore(dir),
  };
}

/**
 * The reply as this process uses it: warnings made again, Uint8Arrays as Buffers. The files kept
 * for the next builds (files/, profiles/) are copied out: v8's deserialize makes every typed
 * array a view into the message it read, and one such view kept would keep the whole state's
 * bytes (~34 MB at 100k machines, ~74 MB as groups) for as long as serve runs.
 */
function received(build: ChildBuild, sent: SentError[]): ChildBuild {
  const warnings = sent.map((warning) => fromSent(warning) as BootcfgError);
  const result = { ...build.result, warnings };
  if (!build.kept) return { result };
  const buffers = (files: [string, Uint8Array][]) => files.map(([name, bytes]): [string, Uint8Array] => [name, Buffer.copyBytesFrom(bytes)]);
  return { result, kept: { ...build.kept, compiled: { ...build.kept.compiled, warnings }, localFiles: buffers(build.kept.localFiles), profiles: buffers(build.kept.profiles) } };
}
