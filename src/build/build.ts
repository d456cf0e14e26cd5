// The one place the pipeline's stages are chained: read → load → resolve → render (pure) →
// write. compile() stops before writing (validate and diff use it); build() writes a snapshot.

import { hash as oneShot } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import { BootcfgError, ErrorList, LoadError, TemplateError } from '../compile/errors.js';
import { load, type Model } from '../compile/load.js';
import { Compilers, Rendering, type OutputFiles } from '../compile/render.js';
import { resolve, type Plan } from '../compile/resolve.js';
import { buildStopped, readSource } from './source.js';
import { readBuiltinTemplates } from './builtin-templates.js';
import { TEMPLATE_NAMES, type TemplateName, type TemplateSource } from '../compile/templates.js';
import { EarlyStore, sha256, writeSnapshot, type Answers, type Origins, type PreviousSnapshot, type SnapshotMeta, type WriteResult } from './write.js';
import { checkImages } from './images-check.js';
import { checkCloudConfigs } from './cloud-checks.js';
import { forEachYielding } from './pool.js';

/** Reports a long build's progress: `done` of `total` items of a stage (total 0: not known yet). */
export type Progress = (stage: string, done: number, total: number) => void;

export interface CompileOptions {
  /** The revision to stamp; defaults to a hash of the output (a plain directory has no commit). */
  revision?: string;
  progress?: Progress;
  /** Stops the build (serve shutting down): it fails, and the last good build stays live. */
  signal?: AbortSignal;
  /** When given, every /images/ kernel and initrd must be a file here (validate and build --images-path). */
  imagesPath?: string;
  /** Rewrites the plan before it is rendered (bootcfg publish's static layout); its errors fail the build. */
  layout?: (plan: Plan, model: Model) => { plan: Plan; errors: BootcfgError[]; warnings: BootcfgError[] };
  /**
   * Called once the plan is made, before the render, with the answer paths in the plan's order,
   * their count, and a way to read an answer once it is rendered: a build that writes answers as
   * they are rendered (write.ts: EarlyStore) returns what to tell as the render goes on.
   */
  writeAhead?: (paths: Iterable<string>, count: number, content: (path: string) => Buffer) => Promise<WriteAhead | undefined>;
}

/** A write started before the render, told how far the render has come. */
export interface WriteAhead {
  /** The plan's first `count` answers are rendered, without errors. */
  rendered(count: number): void;
}

/** Answers rendered between two turns of the event loop while a write goes on ahead: the fill worker asks for its next chunks. */
const RENDER_TURN = 2048;

export interface Compiled {
  revision: string;
  files: OutputFiles;
  /** Data files compiled (boot and cloud configs, profiles, groups, data templates). */
  inputs: number;
  /** Problems that do not fail the build (unused profiles and templates, …); build and validate print them. */
  warnings: BootcfgError[];
  /** Answer path → the data file it was compiled from (a group's or a seed file's path), for diff. */
  origins: Origins;
  /** Every group: its file (as in origins), id, name and profile, for the fleet view. */
  groups: { file: string; id: string; name: string; profile: string }[];
}

export interface BuildOptions extends CompileOptions {
  dataPath: string;
  distPath: string;
  /** Where the data came from, for the manifest; defaults to the data path. */
  source?: string;
  /** Prune old snapshots after returning (serve --watch: see WriteOptions.pruneLater). */
  pruneLater?: boolean;
}

export interface BuildResult extends WriteResult {
  /** How it was built: the whole data directory, or only what a change touched (serve --watch). */
  kind?: 'full' | 'incremental';
  revision: string;
  inputs: number;
  warnings: BootcfgError[];
  ms: number;
}

export async function compile(dataPath: string, options: CompileOptions = {}): Promise<Compiled> {
  return (await compileAll(dataPath, options)).compiled;
}

/** A whole compile and what an incremental build keeps of it to redo only what a change touches. */
export interface FullCompile {
  compiled: Compiled;
  sources: SourceList;
  model: Model;
  plan: Plan;
  /** The iPXE templates in effect (built-in, or the data directory's overrides). */
  templates: Map<TemplateName, TemplateSource>;
  /** sha256 of every output file. */
  hashes: Map<string, string>;
  /** The content revision's running sum (a plain directory's revision). */
  sum: RevisionSum;
  /**
   * Resolves once the cloud configs are checked, rejects with the build's errors if one is bad.
   * Already settled unless the compile was asked to `deferChecks`; then whoever makes the build
   * live waits for it first (writeCompiled's `ready`).
   */
  checked: Promise<void>;
}

export async function compileAll(dataPath: string, options: CompileOptions & { deferChecks?: boolean } = {}): Promise<FullCompile> {
  const progress = options.progress ?? (() => {});
  const { builtins, loaded, cloud, sources } = await readAndLoad(dataPath, options.signal, progress);
  // The seed cloud configs are checked as YAML beside the rest (cloud-checks.ts).
  const checking = checkCloudConfigs(cloud, options.signal);
  checking.catch(() => {}); // awaited below, or by the caller through `checked`
  const resolved = resolve(loaded.model);
  const imageErrors = options.imagesPath !== undefined ? await checkImages(loaded.model, options.imagesPath) : [];
  const errors: BootcfgError[] = [...loaded.errors.filter((error) => error !== CHECKED_APART), ...resolved.errors, ...imageErrors];
  const resolveWarnings = resolved.warnings.map((warning) => locate(warning, dataPath));
  // The cloud configs' problems, listed as a compile that checked them in line lists its
  // errors: in file order among the load errors, and then no layout and no render.
  const cloudFailure = async (): Promise<ErrorList | undefined> => {
    const problems = await checking;
    if (problems.size === 0) return undefined;
    let next = 0;
    const inLine = loaded.errors.flatMap((error) => (error === CHECKED_APART ? problems.get(cloud[next++]![0]) ?? [] : [error]));
    return new ErrorList([...inLine, ...resolved.errors, ...imageErrors].map((error) => locate(error, dataPath)), resolveWarnings);
  };
  if (errors.length > 0 || !options.deferChecks) {
    const failed = await cloudFailure();
    if (failed) throw failed;
  }
  let output: OutputFiles = new Map();
  let shared: ReadonlySet<Buffer> = new Set();
  const templates = withOverrides(builtins, loaded.model.templates);
  let plan = resolved.plan;
  const layoutWarnings: BootcfgError[] = [];
  if (errors.length === 0 && options.layout) {
    const laid = options.layout(plan, loaded.model);
    plan = laid.plan;
    errors.push(...laid.errors);
    layoutWarnings.push(...laid.warnings);
  }
  if (errors.length === 0) {
    progress('render', 0, plan.size);
    const rendered = await renderAll(plan, templates, loaded.model, options.writeAhead);
    errors.push(...rendered.errors);
    output = rendered.files;
    shared = rendered.shared;
  }
  const warnings = [...resolveWarnings, ...layoutWarnings.map((warning) => locate(warning, dataPath))];
  if (errors.length > 0) throw (await cloudFailure()) ?? new ErrorList(errors.map((error) => locate(error, dataPath)), warnings);
  const checked = cloudFailure().then((failed) => {
    if (failed) throw failed;
  });
  checked.catch(() => {}); // the caller awaits it before the build goes live
  const { model } = loaded;
  const hashes = new Map<string, string>();
  const sum = new RevisionSum();
  const hashOf = new Map<Buffer, string>(); // an answer many paths share (a profile's script) is hashed once
  // A turn of the event loop now and then: the fill worker writing ahead asks for its next chunk.
  await forEachYielding(output, ([path, content]) => {
    let hash = hashOf.get(content);
    if (hash === undefined) {
      hash = sha256(content);
      if (shared.has(content)) hashOf.set(content, hash);
    }
    hashes.set(path, hash);
    sum.add(path, hash);
  }, 8192);
  const compiled: Compiled = {
    revision: options.revision ?? sum.revision(),
    files: output,
    inputs: model.boot.length + model.cloud.length + model.profiles.size + model.groups.length + model.dataTemplates.size,
    warnings,
    origins: originsOf(resolved.plan),
    // By file, not in the order the walk met them: an incremental build puts a changed group back in its place.
    groups: model.groups.map(({ file, id, name, profile }) => ({ file, id, name, profile })).sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)),
  };
  return { compiled, sources, model, plan, templates, hashes, sum, checked };
}

/**
 * The plan rendered, in its order. With `writeAhead` (a build writing its answers as they are
 * rendered), a turn of the event loop every RENDER_TURN answers, and the write told how far the
 * render has come while it has met no error (an answer that failed is left out).
 */
async function renderAll(plan: Plan, templates: ReadonlyMap<TemplateName, TemplateSource>, model: Model, writeAhead: CompileOptions['writeAhead']): Promise<Rendering> {
  const rendering = new Rendering(templates, model.dataTemplates, model.localFiles, new Compilers());
  if (rendering.errors.length > 0) return rendering;
  const ahead = await writeAhead?.(plan.keys(), plan.size, (path) => rendering.files.get(path)!);
  let done = 0;
  for (const [path, planned] of plan) {
    rendering.add(path, planned);
    if (ahead && ++done % RENDER_TURN === 0 && rendering.errors.length === 0) {
      ahead.rendered(done);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  if (ahead && rendering.errors.length === 0) ahead.rendered(plan.size);
  return rendering;
}

/** What a compile keeps of the data files once they are loaded: their names and sizes, and the profiles (child.ts's KeptBuild). */
export interface SourceList {
  files: string[];
  sizes: number[];
  profiles: [string, Buffer][];
}

/**
 * Stands in a load's errors for a seed cloud config's own problems, checked apart
 * (cloud-checks.ts): one per such file, in the order they were loaded, so that its problems
 * take its place among the load's errors (compileAll's cloudFailure).
 */
const CHECKED_APART = new LoadError('a seed cloud config checked apart');

/**
 * Reads the data directory and loads it, then lets go of what was read: the model holds what it
 * needs of each boot config, profile and group (load.ts keeps its strings), and the seed cloud
 * configs and files/ are copied out of the read's buffers (a worker thread hands half of them over
 * as one block, the other half lie in Buffer's pool: a view kept any of it whole), the seed
 * cloud configs one after the other into one block. `cloud` is each seed cloud config and its
 * bytes, in load order.
 */
async function readAndLoad(dataPath: string, signal: AbortSignal | undefined, progress: Progress) {
  progress('read', 0, 0);
  const [files, builtins] = await Promise.all([
    readSource(dataPath, { signal }).catch((error: unknown) => {
      throw locateAll(error, dataPath);
    }),
    readBuiltinTemplates(),
  ]);
  progress('load', 0, files.size);
  const loaded = load(files, TEMPLATE_NAMES, () => [CHECKED_APART]);
  const { model } = loaded;
  let total = 0;
  for (const { value } of model.cloud) total += value.length;
  const block = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const seed of model.cloud) {
    seed.value.copy(block, at);
    seed.value = block.subarray(at, (at += seed.value.length));
  }
  for (const [name, content] of model.localFiles) model.localFiles.set(name, Buffer.copyBytesFrom(content));
  const sources: SourceList = { files: [], sizes: [], profiles: [] };
  for (const [file, content] of files) {
    sources.files.push(file);
    sources.sizes.push(content.length);
    if (file.startsWith('profiles/')) sources.profiles.push([file, Buffer.copyBytesFrom(content)]);
  }
  const cloud = model.cloud.map(({ file, value }): [string, Buffer] => [file, value]);
  return { builtins, loaded, cloud, sources };
}

/** A read or compile failure with its paths made ones the user can open. */
export function locateAll(error: unknown, dataPath: string): unknown {
  if (error instanceof ErrorList) return new ErrorList(error.errors.map((e) => locate(e, dataPath)), error.warnings);
  return error instanceof BootcfgError ? locate(error, dataPath) : error;
}

/** Answer path → the data file it was compiled from, read off the plan: a Map of its own was ~160 ms and 14 MB at 100k machines. */
function originsOf(plan: Plan): Origins {
  return {
    get: (path) => {
      const planned = plan.get(path);
      return planned !== undefined && 'source' in planned && planned.source ? planned.source : undefined;
    },
  };
}

export async function build(options: BuildOptions): Promise<BuildResult> {
  const started = performance.now();
  return withEarlyStore(options.distPath, async (writeAhead, early) => {
    const { compiled, hashes, checked } = await compileAll(options.dataPath, { ...options, deferChecks: true, writeAhead });
    return writeCompiled(options, compiled, hashes, started, undefined, checked, early());
  });
}

/**
 * Runs a full build whose answers start going to disk as soon as they are rendered, when the
 * dist has no live snapshot yet (write.ts: EarlyStore): `writeAhead` is the compile's hook,
 * `early()` what it started, for the write to take up. Dropped after, taken up or not.
 */
export async function withEarlyStore<T>(distPath: string, work: (writeAhead: NonNullable<CompileOptions['writeAhead']>, early: () => EarlyStore | undefined) => Promise<T>): Promise<T> {
  let early: EarlyStore | undefined;
  try {
    return await work(async (paths, count, content) => (early = await EarlyStore.start(distPath, paths, count, content)), () => early);
  } finally {
    await early?.drop();
  }
}

/**
 * Writes a compiled build as the live snapshot; `previous` is the live manifest's files when the
 * caller holds them; `ready` is awaited before the snapshot goes live (a compile's deferred checks).
 */
export async function writeCompiled(options: BuildOptions, compiled: Omit<Compiled, 'files' | 'origins' | 'groups'> & { files: Answers; origins: Origins; groups: SnapshotMeta['groups'] }, hashes: ReadonlyMap<string, string>, started: number, previous?: PreviousSnapshot, ready?: Promise<void>, early?: EarlyStore): Promise<BuildResult> {
  if (options.signal?.aborted) throw buildStopped();
  const written = await writeSnapshot(options.distPath, compiled.files, { revision: compiled.revision, source: options.source ?? options.dataPath, ...describeFleet(compiled) }, { progress: options.progress, hashes, previous, pruneLater: options.pruneLater, ready, early });
  return { revision: compiled.revision, inputs: compiled.inputs, warnings: compiled.warnings, ...written, ms: Math.round(performance.now() - started) };
}

/**
 * What the manifest keeps for `bootcfg machines --dist-path` and /-/machines: where each answer
 * came from (write.ts records the iPXE answers': one per machine or group, not one per file)
 * and each group's profile.
 */
function describeFleet(compiled: Pick<SnapshotMeta, 'groups'> & { origins: Origins }): Pick<SnapshotMeta, 'origins' | 'groups'> {
  return { origins: compiled.origins, groups: compiled.groups };
}

function withOverrides(builtins: Map<TemplateName, TemplateSource>, overrides: ReadonlyMap<string, TemplateSource>): Map<TemplateName, TemplateSource> {
  const merged = new Map(builtins);
  for (const [name, source] of overrides) merged.set(name as TemplateName, source);
  return merged;
}

/**
 * A plain directory's revision: the first 12 hex digits of a hash of the sum (mod 2^256) of
 * sha256(path, sha256(contents)) over every output file. A sum, so that an incremental build
 * keeps it up to date one changed file at a time and still names the same output the same.
 *
 * The sum is eight 32-bit words, least significant first, added with carries: a full build at
 * 100k machines adds ~350k terms, and as a BigInt each made four numbers and two strings
 * (~260 ms of the build).
 */
export class RevisionSum {
  private readonly words = new Uint32Array(WORDS);

  add(path: string, hash: string): void {
    const t = term(path, hash);
    let carry = 0;
    for (let i = 0; i < WORDS; i++) {
      const sum = this.words[i]! + wordOf(t, i) + carry;
      this.words[i] = sum >>> 0;
      carry = sum > 0xffffffff ? 1 : 0;
    }
  }

  remove(path: string, hash: string): void {
    const t = term(path, hash);
    let borrow = 0;
    for (let i = 0; i < WORDS; i++) {
      const difference = this.words[i]! - wordOf(t, i) - borrow;
      this.words[i] = difference >>> 0;
      borrow = difference < 0 ? 1 : 0;
    }
  }

  revision(): string {
    return sha256(this.toHex()).slice(0, 12);
  }

  /** The sum in hex, without leading zeros (as BigInt's toString(16) writes it): to carry it to another process (src/build/child.ts), and hashed by revision(). */
  toHex(): string {
    let hex = '';
    for (let i = WORDS - 1; i >= 0; i--) hex += this.words[i]!.toString(16).padStart(8, '0');
    return hex.replace(/^0+(?=.)/, '');
  }

  static fromHex(hex: string): RevisionSum {
    const sum = new RevisionSum();
    let value = BigInt(`0x${hex}`);
    for (let i = 0; i < WORDS; i++, value >>= 32n) sum.words[i] = Number(value & 0xffffffffn);
    return sum;
  }
}

/** 32-bit words of a 256-bit sum. */
const WORDS = 8;

/** The content revision of a whole output (what a build of it is named; bootcfg publish names its trees so). */
export function contentRevision(files: OutputFiles): string {
  const sum = new RevisionSum();
  for (const [path, content] of files) sum.add(path, sha256(content));
  return sum.revision();
}

/**
 * sha256(path, NUL, hash): a term of the sum, its 32 bytes big-endian as the char codes of a
 * latin1 string (crypto's one-shot hash makes one as fast as hex, a Buffer ~3× slower).
 */
function term(path: string, hash: string): string {
  return oneShot('sha256', `${path}\0${hash}`, 'binary');
}

/** Word `i` (least significant first) of a term's 32 bytes. */
function wordOf(bytes: string, i: number): number {
  const at = 4 * (WORDS - 1 - i);
  return ((bytes.charCodeAt(at) << 24) | (bytes.charCodeAt(at + 1) << 16) | (bytes.charCodeAt(at + 2) << 8) | bytes.charCodeAt(at + 3)) >>> 0;
}

/** Makes a data-relative error path one the user can open from where they ran bootcfg. */
function locate(error: BootcfgError, dataPath: string): BootcfgError {
  if (!error.file || isAbsolute(error.file) || !(error instanceof LoadError || error instanceof TemplateError)) return error;
  const file = join(dataPath, error.file);
  const Kind = error instanceof TemplateError ? TemplateError : LoadError;
  return new Kind(error.message, { file, line: error.line, column: error.column, hint: error.hint, cause: error.cause });
}

/** The one line every build logs, whoever started it (build, serve, a watcher, a repo follower). */
export function formatBuild(result: BuildResult): string {
  const warned = result.warnings.length ? `; ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'} (bootcfg validate lists them)` : '';
  return `built revision ${result.revision}${result.kind === 'incremental' ? ' (incremental)' : ''}: ${result.inputs} configs → written ${result.written}, unchanged ${result.unchanged}, removed ${result.removed} in ${result.ms} ms${warned}`;
}
