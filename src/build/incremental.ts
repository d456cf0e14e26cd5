// Incremental builds for a process that builds the same data directory again and again (serve
// --watch, and serve --repo's one kept tree): the last whole compile is kept, and a change to
// seed files (boot/ and cloud/ by uuid, mac or default) or groups (groups/<id>.json) — the bulk
// of a large fleet, in either layout — re-reads, re-loads and re-renders only those files, then
// writes a snapshot hard-linking everything else. A changed profile or data template (cloud/,
// generic/, ignition/) is built as a change to every group it reaches, so it costs in proportion
// to them. Whatever this cannot decide from the changed files alone — an iPXE template or files/
// changed, a profile appearing or going, a change reaching more than half of the groups, an
// answer path taken by another file, a selector shape appearing or going, selectors that could
// tie, a profile coming into use or going out of it, a directory moved — is a full build, as is
// the first.
// test/incremental.test.ts checks that every incremental snapshot is byte for byte the one a
// full build of the same data writes.

import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { ErrorList, type BootcfgError } from '../compile/errors.js';
import type { Group } from '../compile/groups.js';
import { filePlanner, isGroupFile, isSeedFile, isSurroundingFile, loadProfiles, planFiles, reachedProfiles, surroundingWarnings, type PlannedFiles } from '../compile/incremental.js';
import type { Profile } from '../compile/profiles.js';
import { tiedShapes } from '../compile/matching.js';
import { Compilers, render, Rendering, type OutputFiles } from '../compile/render.js';
import type { Plan } from '../compile/resolve.js';
import { distFile, type ShapeKeys } from '../compile/shapes.js';
import { TEMPLATE_NAMES, type TemplateName, type TemplateSource } from '../compile/templates.js';
import { locateAll, RevisionSum, writeCompiled, type BuildOptions, type BuildResult, type Compiled } from './build.js';
import { buildInChild, type KeptBuild } from './child.js';
import { MAX_ENTRIES, MAX_TOTAL_BYTES, SOURCE_ROOTS, readChanged } from './source.js';
import { DataFiles } from './data-files.js';
import { Digests } from './digests.js';
import { GroupList, type GroupEntry } from './group-list.js';
import { forEachYielding, turns } from './pool.js';
import { adoptWrittenStore, dropPrelinkedFor, prelinkNext, prepareManifest, sha256, type Answers, type Origins, type PreviousSnapshot } from './write.js';

/** How long after a full build the compile is warmed (warm()): past the build's own bursts. */
const WARM_AFTER_MS = 1000;

/**
 * Work done between two turns of the event loop while a build plans, renders, hashes and takes
 * over state: serve answers between them. Unbroken, a profile's edit reaching 25k groups kept
 * serve from answering for ~4 s at 100k machines, and taking over a full build's state ~2.6 s.
 */
const FILES_PER_TURN = 128;
const ANSWERS_PER_TURN = 1024;

/** What the last good build left: enough to redo one file's part of it. */
interface State {
  /**
   * Each data file's size (its contents are not kept: only changed files are read again) and the
   * answers it owns; an iPXE answer's owner is its origin, which the manifest records (write.ts).
   */
  files: DataFiles;
  /** Every directory holding a data file (data-relative): a change naming one is a move. */
  dirs: Set<string>;
  /** Every answer's sha256 (32 bytes each); their contents are not kept (KeptAnswers reads one back if it must). */
  hashes: Digests;
  sum: RevisionSum;
  /** `<kind>/<shape dir>` → answers in it: a shape is in shapes.json while it has one. */
  shapeCounts: Map<string, number>;
  /** Shapes of equally many keys that one request could match: ties need the whole plan. */
  ties: boolean;
  templates: Map<TemplateName, TemplateSource>;
  dataTemplates: ReadonlyMap<string, TemplateSource>;
  localFiles: ReadonlyMap<string, Buffer>;
  /** The profiles by id, parsed: a changed group is compiled against them. */
  profiles: ReadonlyMap<string, Profile>;
  /** Profile id → the groups naming it: one coming into use or going out of it changes warnings only a full build gives. */
  profileUse: Map<string, number>;
  /** The last build's, with its groups kept compactly (group-list.ts). */
  compiled: Omit<Compiled, 'files' | 'origins' | 'groups'> & { groups: GroupList };
  /** The snapshot this state was written as (its directory). */
  snapshot: string;
}

export class IncrementalBuilder {
  private state: State | undefined;
  private readonly dirty = new Set<string>();
  private everything = true;
  /** The templates as compiled for the last edit's render: the next one compiles only those whose text changed. */
  private readonly compilers = new Compilers();
  /** How the last build went: 'full' or 'incremental' (tests and logs). */
  lastKind: 'full' | 'incremental' | undefined;
  /** The changed paths (data-relative) the last build was asked to take in. */
  lastChanged: readonly string[] = [];
  /** The data file the last warm-up planned and rendered, and the warm-up after the last full build, settled once it ran (tests). */
  warmed: string | undefined;
  warming: Promise<void> | undefined;

  /** Whether a build is running (prepare waits for none). */
  private building = false;

  constructor(private options: BuildOptions) {}

  /**
   * Says a change is on its way (serve: a file event before the change settles, or a fetch
   * started): the next incremental build's links to the store are made meanwhile, from the
   * snapshot the last build wrote (write.ts: prelinkNext). Nothing while a build runs, before
   * the first, or when the last one failed in full.
   */
  prepare(): void {
    if (!this.building && this.state && !this.everything) prelinkNext(this.options.distPath);
  }

  /** Lets go of what prepare made and no build took up. */
  async close(): Promise<void> {
    await dropPrelinkedFor(this.options.distPath);
  }

  /**
   * Notes changed paths under the data directory (absolute, as a watcher reports them), or an
   * unknown change (undefined: the directory replaced, too many files to track).
   */
  changed(paths: Iterable<string> | undefined): void {
    if (paths === undefined) {
      this.everything = true;
      return;
    }
    for (const path of paths) {
      const rel = relative(this.options.dataPath, path);
      if (rel === '' || rel.startsWith('..') || rel.includes(`..${sep}`)) this.everything = true;
      else this.dirty.add(rel.split(sep).join('/'));
    }
  }

  /**
   * One build: incremental when the changes allow it, else full. A failure leaves the last good
   * state. `revision` names this build (serve --repo: the commit) instead of the options' one.
   */
  async build(revision?: string): Promise<BuildResult> {
    const started = performance.now();
    if (revision !== undefined) this.options = { ...this.options, revision };
    const everything = this.everything;
    const dirty = [...this.dirty];
    this.lastChanged = dirty;
    this.everything = false;
    this.dirty.clear();
    this.building = true;
    try {
      let result = !everything && this.state ? await this.incremental(this.state, dirty, started).catch(fallBack) : undefined;
      result ??= await this.full(started);
      return result;
    } catch (error) {
      // Not built: the same changes are looked at again next time.
      if (everything) this.everything = true;
      for (const path of dirty) this.dirty.add(path);
      throw error;
    } finally {
      this.building = false;
    }
  }

  /**
   * A full build, in a child process (src/build/child.ts): this process keeps only what the next
   * incremental build needs, never the fleet's contents or what compiling them grew the heap to.
   */
  private async full(started: number): Promise<BuildResult> {
    this.lastKind = 'full';
    this.state = undefined; // a failed full build must not leave a state that predates it
    const { dataPath, distPath, source, revision, imagesPath, pruneLater, signal } = this.options;
    const { result, kept } = await buildInChild({ dataPath, distPath, source, revision, imagesPath, pruneLater, signal });
    const state = await stateOf(kept, result.dir);
    if (kept.written) await adoptWrittenStore(kept.written, kept.paths); // state.hashes.keys(), without reading 350k paths back
    this.state = state;
    prepareManifest(this.state.compiled.groups);
    const warm = this.state;
    const sample = kept.files.find((file) => isSeedFile(file) || isGroupFile(file));
    this.warming = sample === undefined ? undefined : new Promise((done) => setTimeout(() => void this.warm(warm, sample).catch(() => {}).then(done), WARM_AFTER_MS).unref());
    return { ...result, ms: Math.round(performance.now() - started) };
  }

  /**
   * One data file planned and rendered again, in memory, nothing written: this process has not
   * run the compile since its full build ran in a child, and the first edit after start-up paid
   * for compiling it (and its templates) on the way to its answer.
   */
  private async warm(state: State, file: string): Promise<void> {
    if (this.state !== state) return;
    const read = await this.readChanged([file]);
    const content = read?.get(file);
    if (!content || this.state !== state) return;
    const { plans, errors } = planFiles(new Map([[file, content]]), TEMPLATE_NAMES, { profiles: state.profiles, dataTemplates: state.dataTemplates });
    const plan = plans.get(file);
    if (errors.length > 0 || !plan || plan.size === 0) return; // a file being written: the edit reports it
    render(plan, state.templates, state.dataTemplates, state.localFiles, this.compilers);
    this.warmed = file;
  }

  /**
   * The build for changes to seed files, groups, profiles and data templates; undefined when a
   * full build must decide. A changed profile or template is built through the groups it reaches.
   */
  private async incremental(state: State, dirty: string[], started: number): Promise<BuildResult | undefined> {
    if (state.ties || this.options.imagesPath !== undefined) return undefined;
    dirty = dirty.filter((file) => (SOURCE_ROOTS as readonly string[]).includes(file.split('/')[0]!)); // the build reads nothing else
    if (!dirty.every((file) => (isSeedFile(file) || isGroupFile(file) || isSurroundingFile(file)) && !state.dirs.has(file))) return undefined;
    const around = await this.surroundings(state, dirty.filter(isSurroundingFile));
    if (!around) return undefined;
    const own = new Set([...dirty.filter((file) => !isSurroundingFile(file)), ...around.reached]);
    const read = await this.readChanged([...own]);
    if (!read) return undefined;
    const present = new Map([...read].filter((entry): entry is [string, Buffer] => entry[1] !== null));
    const planned: PlannedFiles = { plans: new Map(), groups: new Map(), warnings: [], errors: [] };
    const plan = filePlanner(TEMPLATE_NAMES, around, planned);
    await forEachYielding(present, ([file, content]) => plan(file, content), FILES_PER_TURN);
    const { plans, groups, warnings, errors } = planned;
    if (errors.length > 0) throw locateAll(new ErrorList(errors), this.options.dataPath);
    for (const file of read.keys()) if (isGroupFile(file) && !groups.has(file)) groups.set(file, undefined);
    const listed = regroup(state.compiled.groups, state.profileUse, groups);
    if (!listed) return undefined;
    const used = new Set([...listed.use].filter(([, count]) => count > 0).map(([id]) => id));
    warnings.push(...surroundingWarnings(new Set(around.read.keys()), around, used));
    for (const [file, content] of around.read) read.set(file, content); // their sizes, and their warnings replaced

    // What only the whole can tell: an answer path taken twice, a shape appearing or going.
    const counts = new Map<string, number>();
    const removed = new Set<string>();
    await forEachYielding(read.keys(), (file) => {
      for (const path of state.files.owned(file)) {
        removed.add(path);
        counts.set(shapeKey(path), (counts.get(shapeKey(path)) ?? 0) - 1);
      }
    }, FILES_PER_TURN);
    const added = new Map<string, Plan extends Map<string, infer P> ? P : never>();
    const turn = turns(ANSWERS_PER_TURN);
    for (const plan of plans.values()) {
      for (const [path, planned] of plan) {
        if (added.has(path) || (state.hashes.has(path) && !removed.has(path))) return undefined; // a collision: the full build names both files
        added.set(path, planned);
        counts.set(shapeKey(path), (counts.get(shapeKey(path)) ?? 0) + 1);
      }
      await turn(plan.size);
    }
    for (const [key, delta] of counts) {
      const before = state.shapeCounts.get(key) ?? 0;
      if ((before === 0) !== (before + delta === 0)) return undefined; // shapes.json changes
    }
    let bytes = state.files.total;
    for (const [file, content] of read) bytes += (content?.length ?? 0) - (state.files.size(file) ?? 0);
    if (bytes > MAX_TOTAL_BYTES || state.files.count + read.size > MAX_ENTRIES) return undefined; // the full build reports it

    const rendered = new Rendering(state.templates, around.dataTemplates, state.localFiles, this.compilers);
    if (rendered.errors.length === 0) await forEachYielding(added, ([path, planned]) => rendered.add(path, planned), ANSWERS_PER_TURN);
    if (rendered.errors.length > 0) throw locateAll(new ErrorList(rendered.errors as BootcfgError[]), this.options.dataPath);

    this.lastKind = 'incremental';
    // The live snapshot's hashes: today's, but for the paths this change touches.
    const before = new Map<string, string | undefined>();
    await forEachYielding([...removed, ...added.keys()], (path) => before.set(path, state.hashes.get(path)), ANSWERS_PER_TURN);
    this.state = undefined; // apply() changes the state in place: until the write succeeds, none
    const next = await apply(state, read, plans, removed, added, rendered.files, counts, this.options.revision);
    next.profileUse = listed.use;
    next.profiles = around.profiles;
    next.dataTemplates = around.dataTemplates;
    const inputs = next.compiled.inputs + around.templatesAdded;
    next.compiled = { ...next.compiled, inputs, groups: listed.groups, warnings: rewarn(state.compiled.warnings, read.keys(), warnings, this.options.dataPath) };
    const now = next.hashes;
    const previous: PreviousSnapshot = {
      id: basename(state.snapshot),
      hashOf: (path) => (before.has(path) ? before.get(path) : now.get(path)),
      *paths() {
        for (const path of now.keys()) if (!before.has(path) || before.get(path) !== undefined) yield path;
        for (const [path, hash] of before) if (hash !== undefined && !now.has(path)) yield path;
      },
      changed: new Set(before.keys()),
    };
    const answers = new KeptAnswers(next.hashes, rendered.files, state.snapshot);
    const result = await writeCompiled(this.options, { ...next.compiled, origins: originsOf(next.files), files: answers }, next.hashes, started, previous);
    next.snapshot = result.dir;
    this.state = next;
    return { ...result, kind: 'incremental' };
  }

  /** The data files again, each checked as a full read checks it; undefined: read them all. */
  private readChanged(files: string[]): Promise<Map<string, Buffer | null> | undefined> {
    return readChanged(this.options.dataPath, files, { signal: this.options.signal }).catch((error: unknown) => {
      throw locateAll(error, this.options.dataPath);
    });
  }

  /**
   * The profiles and data templates as changed, and the groups the change reaches (those whose
   * profile changed or names a changed template); undefined when a full build must decide: a
   * profile appearing or going, or a change reaching more than half of the groups.
   */
  private async surroundings(state: State, changed: string[]): Promise<Around | undefined> {
    const unchanged = { profiles: state.profiles, dataTemplates: state.dataTemplates, reached: [], read: new Map(), templatesAdded: 0 };
    if (changed.length === 0) return unchanged;
    const read = await this.readChanged(changed);
    if (!read) return undefined;
    const profiles = new Map(state.profiles);
    const dataTemplates = new Map(state.dataTemplates);
    const changedProfiles = new Map<string, Buffer>();
    let templatesAdded = 0;
    for (const [file, content] of read) {
      if (file.startsWith('profiles/')) {
        const id = [...profiles.values()].find((profile) => profile.file === file)?.id;
        if ((content === null) !== (id === undefined)) return undefined; // a profile appearing or going
        if (content !== null) changedProfiles.set(file, content);
        profiles.delete(id!);
        continue;
      }
      templatesAdded += (content === null ? 0 : 1) - (dataTemplates.has(file) ? 1 : 0);
      if (content === null) dataTemplates.delete(file);
      else dataTemplates.set(file, { file, text: content.toString('utf8') });
    }
    const parsed = loadProfiles(changedProfiles, TEMPLATE_NAMES);
    if (parsed.errors.length > 0) throw locateAll(new ErrorList(parsed.errors), this.options.dataPath);
    for (const [id, profile] of parsed.profiles) profiles.set(id, profile);
    const ids = reachedProfiles(read.keys(), profiles);
    const reached = state.compiled.groups.filesWith(ids);
    if (reached.length > state.compiled.groups.length / 2) return undefined;
    return { profiles, dataTemplates, reached, read, templatesAdded };
  }
}

/** What a change to profiles and data templates leaves around the groups it reaches. */
interface Around {
  profiles: ReadonlyMap<string, Profile>;
  dataTemplates: ReadonlyMap<string, TemplateSource>;
  /** The group files the change reaches: built again as if each had changed. */
  reached: string[];
  /** The changed profiles and templates, as read (null: gone). */
  read: Map<string, Buffer | null>;
  /** Data templates added less those removed (the build's count of configs). */
  templatesAdded: number;
}

/** The state a full build's child handed over, in this process's structures (its paths as bytes: path-store.ts). */
async function stateOf(kept: KeptBuild, snapshot: string): Promise<State> {
  // A copy: the hashes arrive as a view into the whole state read from the child (~34 MB at 100k).
  const hashes = await Digests.yielding(kept.paths, Buffer.copyBytesFrom(kept.hashes), ANSWERS_PER_TURN);
  const groups = await GroupList.yielding(kept.compiled.groups, ANSWERS_PER_TURN);
  const files = new DataFiles(hashes);
  const dirs = new Set<string>();
  await forEachYielding(kept.files.entries(), ([i, file]) => {
    files.setSize(file, kept.sizes[i]!);
    for (let at = file.lastIndexOf('/'); at > 0; at = file.lastIndexOf('/', at - 1)) dirs.add(file.slice(0, at));
  }, ANSWERS_PER_TURN);
  const owned = new Map<number, string[]>();
  const shapeCounts = new Map<string, number>();
  await forEachYielding(kept.paths.entries(), ([i, path]) => {
    shapeCounts.set(shapeKey(path), (shapeCounts.get(shapeKey(path)) ?? 0) + 1);
    const at = kept.origins[i]!;
    if (at < 0) return;
    const list = owned.get(at);
    if (list) list.push(path);
    else owned.set(at, [path]);
  }, ANSWERS_PER_TURN);
  await forEachYielding(owned, ([at, paths]) => files.setOwned(at < kept.files.length ? kept.files[at]! : kept.otherSources[at - kept.files.length]!, paths), ANSWERS_PER_TURN);
  files.trim();
  return {
    files, dirs, shapeCounts, hashes,
    sum: RevisionSum.fromHex(kept.sum),
    ties: hasTies(shapeCounts.keys()), // one key per kind and shape dir (shapeKey): ~50, not 550k paths
    templates: new Map(kept.templates),
    dataTemplates: new Map(kept.dataTemplates),
    localFiles: new Map(kept.localFiles as [string, Buffer][]),
    profiles: loadProfiles(new Map(kept.profiles as [string, Buffer][]), TEMPLATE_NAMES).profiles, // they built: no errors
    profileUse: groups.profileCounts(),
    compiled: { ...kept.compiled, groups },
    snapshot,
  };
}

/** The iPXE answers' origins, as the manifest records them: their owners. */
function originsOf(files: DataFiles): Origins {
  return { get: (path) => (path.startsWith('ipxe/') ? files.ownerOf(path) : undefined) };
}

type Planned = Plan extends Map<string, infer P> ? P : never;

/**
 * The fleet's groups with the changed ones put in their place, and how many groups name each
 * profile; undefined when a profile comes into use or goes out of it (its warnings are the
 * full build's to give).
 */
function regroup(before: GroupList, use: ReadonlyMap<string, number>, changed: ReadonlyMap<string, Group | undefined>): { groups: GroupList; use: Map<string, number> } | undefined {
  const entries = new Map([...changed].map(([file, group]) => [file, group && { file, id: group.id, name: group.name, profile: group.profile }]));
  const olds = new Map([...changed.keys()].map((file) => [file, before.get(file)]));
  const same = (a: GroupEntry | undefined, b: GroupEntry | undefined) => a === b || (a !== undefined && b !== undefined && a.id === b.id && a.name === b.name && a.profile === b.profile);
  // The same list (a metadata or selector edit, the usual one): the manifest reuses its text (write.ts).
  if ([...entries].every(([file, entry]) => same(entry, olds.get(file)))) return { groups: before, use: use as Map<string, number> };
  const counts = new Map(use);
  for (const [file, entry] of entries) {
    const old = olds.get(file);
    if (old) counts.set(old.profile, counts.get(old.profile)! - 1);
    if (entry) counts.set(entry.profile, (counts.get(entry.profile) ?? 0) + 1);
  }
  for (const [profile, count] of counts) if ((count === 0) !== ((use.get(profile) ?? 0) === 0)) return undefined;
  return { groups: before.with(entries), use: counts };
}

/** The last build's warnings, but for those about the changed files, which are theirs now. */
function rewarn(before: readonly BootcfgError[], changed: Iterable<string>, now: readonly BootcfgError[], dataPath: string): BootcfgError[] {
  const files = new Set([...changed].map((file) => join(dataPath, file))); // as locateAll names them
  return [...before.filter((warning) => warning.file === undefined || !files.has(warning.file)), ...now.map((warning) => locateAll(warning, dataPath) as BootcfgError)];
}

/**
 * The state after a change: the old answers of the changed files out, their new ones in. The
 * maps are updated in place (the old state is not used again once a build is written; a failed
 * write leaves them describing the data, which the next build writes). Paths added or removed
 * re-sort the plan, so the output (and its manifest) is in the order a full build gives.
 */
async function apply(state: State, read: Map<string, Buffer | null>, plans: Map<string, Plan>, removed: Set<string>, added: Map<string, Planned>, files: OutputFiles, counts: Map<string, number>, revision: string | undefined): Promise<State> {
  let inputs = state.compiled.inputs;
  // The changed files' answers let go while their slots are theirs (a deleted answer's slot is given again).
  for (const [file, content] of read) {
    inputs += (content !== null && (plans.get(file)?.size ?? 0) > 0 ? 1 : 0) - (state.files.owns(file) ? 1 : 0);
    state.files.setOwned(file, []);
  }
  let reorder = false;
  for (const path of removed) {
    if (added.has(path)) continue;
    state.sum.remove(path, state.hashes.get(path)!);
    state.hashes.delete(path);
    reorder = true;
  }
  await forEachYielding(added.keys(), (path) => {
    const hash = sha256(files.get(path)!);
    const old = state.hashes.get(path);
    if (old !== undefined) state.sum.remove(path, old);
    else reorder = true;
    state.sum.add(path, hash);
    state.hashes.set(path, hash);
  }, ANSWERS_PER_TURN);
  await forEachYielding(read, ([file, content]) => {
    state.files.setSize(file, content?.length);
    state.files.setOwned(file, plans.get(file)?.keys() ?? []);
  }, FILES_PER_TURN);
  for (const [key, delta] of counts) state.shapeCounts.set(key, (state.shapeCounts.get(key) ?? 0) + delta);
  if (reorder) {
    state.hashes = state.hashes.sorted();
    state.files.follow(state.hashes);
  }
  const compiled = { ...state.compiled, revision: revision ?? state.sum.revision(), inputs };
  return { ...state, compiled };
}

/**
 * An incremental build's answers for the write: every path (in the order a full build gives),
 * the contents of those this change rendered, and any other read back from the snapshot the
 * last build wrote, checked against its hash, when the write cannot link it (a hand-edited or
 * pruned store dir). Keeping hashes instead of every answer's bytes is ~200 MB less at rest for
 * 100k machines. An answer that cannot be read back as it was built throws AnswerGone, and the
 * builder does a full build instead.
 */
class KeptAnswers implements Answers {
  constructor(private readonly hashes: ReadonlyMap<string, string>, private readonly fresh: ReadonlyMap<string, Buffer>, private readonly snapshot: string) {}

  get size(): number {
    return this.hashes.size;
  }

  has(path: string): boolean {
    return this.hashes.has(path);
  }

  keys(): IterableIterator<string> {
    return this.hashes.keys();
  }

  get(path: string): Buffer | undefined {
    const hash = this.hashes.get(path);
    if (hash === undefined) return undefined;
    const content = this.fresh.get(path) ?? readAnswer(join(this.snapshot, distFile(path)), hash);
    if (content === undefined) throw new AnswerGone(path);
    return content;
  }
}

/** No answer comes near this (the build refuses data files over 1 MiB). */
const MAX_ANSWER_BYTES = 64 * 1024 ** 2;

/** A regular file of the last snapshot, if it is still what that build wrote. */
function readAnswer(file: string, hash: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile() || info.size > MAX_ANSWER_BYTES) return undefined;
    const content = readFileSync(fd);
    return sha256(content) === hash ? content : undefined;
  } finally {
    closeSync(fd);
  }
}

class AnswerGone extends Error {
  constructor(path: string) {
    super(`the last build's ${path} is gone or changed: a full build writes it`);
  }
}

/** An incremental write that lost an answer it did not render: the caller builds in full. */
function fallBack(error: unknown): undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) if (cause instanceof AnswerGone) return undefined;
  throw error;
}

/** `ipxe/uuid` for `ipxe/uuid/<uuid>`, `ipxe/default` for the default: an answer's kind and shape. */
function shapeKey(path: string): string {
  const second = path.indexOf('/', path.indexOf('/') + 1);
  return second === -1 ? path : path.slice(0, second);
}

/** Whether any two shapes of one kind could tie (src/compile/matching.ts), from the answer paths or their shapeKeys. */
function hasTies(paths: Iterable<string>): boolean {
  const byKind = new Map<string, Map<string, ShapeKeys>>();
  for (const path of paths) {
    const [kind, dir] = path.split('/', 2);
    if (dir === undefined) continue;
    let shapes = byKind.get(kind!);
    if (!shapes) byKind.set(kind!, (shapes = new Map()));
    if (!shapes.has(dir)) shapes.set(dir, dir === 'default' ? [] : dir.split('.'));
  }
  return [...byKind].some(([kind, shapes]) => tiedShapes(kind, [...shapes.values()]).length > 0);
}

function basename(dir: string): string {
  return dir.slice(dir.lastIndexOf(sep) + 1);
}
