// Stage 4, write: output files → a new immutable snapshot under dist/revs/, then one atomic
// rename of the dist/current symlink. A server resolving a request inside one snapshot answers
// wholly from one build; a failed build leaves current and every snapshot as they were.
//
// Only what changed is written: a file whose hash matches the previous snapshot's manifest is
// hard-linked from it (no bytes copied). A snapshot with identical contents is reused as is.

import { execFile } from 'node:child_process';
import { createHash, hash as oneShot, randomBytes, type Hash } from 'node:crypto';
import { closeSync, constants, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, rmdirSync, statSync, symlinkSync, unlinkSync, writeFileSync, type Dirent } from 'node:fs';
import { mkdir, open, readdir, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { BootcfgError, SourceError } from '../compile/errors.js';
import { MANIFEST_FILE, REVISION_FILE } from '../compile/outputs.js';
import { distFile, shardKey } from '../compile/shapes.js';
import { recordDelta } from './deltas.js';
import { Digests } from './digests.js';
import { GroupList } from './group-list.js';
import { fillAll, SharedFill, tryLink, type DirFill } from './fill.js';
import { packPaths, unpackPaths } from './path-store.js';
import { forEachYielding, mapLimit, turns } from './pool.js';
import { dropPrelinked, parentsOf, prelinkedBase, prelinkedNames, startPrelink, takePrelinked, type Prelinked } from './prelink.js';
import { PrivateFile } from './private-file.js';
import type { Progress } from './build.js';

export interface Manifest {
  revision: string;
  /** Where the build came from: a data directory, or a repo URL and ref. */
  source: string;
  /** dist-relative path → sha256 hex of its contents. */
  files: Record<string, string>;
  /** iPXE answer path → the data file it came from (one per machine or group; the fleet view reads it). */
  origins?: Record<string, string>;
  /** Every group's file, id, name and profile (the fleet view reads it). */
  groups?: { file: string; id: string; name: string; profile: string }[];
}

/** What a snapshot's manifest says besides its files, as a build hands it over. */
export interface SnapshotMeta {
  revision: string;
  source: string;
  /** Answer path → the data file it came from; the manifest records the iPXE answers' (the fleet view reads them). */
  origins?: Origins;
  /** The groups' list: an array (a full build's), or as serve --watch keeps it (group-list.ts). */
  groups?: Manifest['groups'] | GroupList;
}

/** Answer path → the data file it came from (only looked up: an incremental build derives it, data-files.ts). */
export type Origins = Pick<ReadonlyMap<string, string>, 'get'>;

/**
 * A build's answers as the write reads them: every path, and a path's contents only when the
 * write must write it (a link to the previous snapshot's copy is the usual case). A compile's
 * Map is one; serve --watch's kept build is another, holding hashes only (src/build/incremental.ts).
 */
export interface Answers {
  readonly size: number;
  has(path: string): boolean;
  keys(): IterableIterator<string>;
  get(path: string): Buffer | undefined;
}

export interface WriteResult {
  /** Absolute path of the snapshot now live. */
  dir: string;
  written: number;
  unchanged: number;
  removed: number;
}

export const CURRENT = 'current';
export const SNAPSHOTS = 'revs';
/** Snapshots kept besides the live one, in build order, so requests still reading an older one finish. */
const KEEP_PREVIOUS = 2;
/** `revs/.order/<sequence>.<id>`: one empty file per build, the order pruning goes by (never the clock). */
const ORDER = '.order';
/** Files and directories to flush past which one syncfs is cheaper than an fsync each. */
const SYNC_EACH_MAX = 256;
/** A staging dir whose builder cannot be checked (another host or container) is left this long. */
const FOREIGN_STAGING_MS = 3600_000;

/** sha256 in hex. The one-shot crypto.hash: a build hashes ~700k small inputs at 100k machines, and a Hash object each cost twice the time. */
export function sha256(data: Buffer | string): string {
  return oneShot('sha256', data, 'hex');
}

/** A snapshot's file hashes as its builder still holds them: no need to read its manifest back. */
export interface PreviousSnapshot {
  id: string;
  hashOf(path: string): string | undefined;
  paths(): Iterable<string>;
  /** Every path whose hash may differ between that snapshot and this one; the rest are the same. */
  changed?: ReadonlySet<string>;
}

/** The live snapshot's directory and a lookup of its files' hashes. */
interface Live {
  dir: string;
  hashOf(path: string): string | undefined;
  /** An iPXE answer's data file, as the snapshot records it (read from disk only: a caller's snapshot says what changed). */
  originOf?(path: string): string | undefined;
  paths(): Iterable<string>;
  changed?: ReadonlySet<string>;
}

export interface WriteOptions {
  progress?: Progress;
  /** sha256 of each file, when the caller has them (else computed here). */
  hashes?: ReadonlyMap<string, string>;
  /** The snapshot the caller last wrote; used only if it is still the live one. */
  previous?: PreviousSnapshot;
  /**
   * Return once the new snapshot is live and prune after (serve --watch): removing the
   * directories a build made obsolete (up to a fleet's worth of files) is not on the way from
   * an edit to its answer. Prunes of one dist run one after another.
   */
  pruneLater?: boolean;
  /**
   * Awaited before the snapshot goes live (build.ts: a compile's deferred cloud-config checks):
   * if it rejects, the snapshot is dropped, the error is the write's, and the live one stays.
   */
  ready?: Promise<void>;
  /** Bytes of store dir pieces held in memory before the rest go to a temp file (PieceSpill); tests set 0. */
  heldPieceBytes?: number;
  /** These answers' store dirs, being written since they were rendered (EarlyStore): taken up when the dist still has no live snapshot. */
  early?: EarlyStore;
}

/** The prune running or queued per dist directory (pruneLater). */
const pruning = new Map<string, Promise<void>>();

export async function writeSnapshot(distPath: string, files: Answers, meta: SnapshotMeta, options: WriteOptions = {}): Promise<WriteResult> {
  const spill = new PieceSpill(options.heldPieceBytes);
  try {
    return await writeHolding(spill, distPath, files, meta, options);
  } finally {
    spill.release();
  }
}

/** writeSnapshot, with the pieces it makes held by `spill` until written. */
async function writeHolding(spill: PieceSpill, distPath: string, files: Answers, meta: SnapshotMeta, options: WriteOptions): Promise<WriteResult> {
  const { progress } = options;
  progress?.('write', 0, files.size);
  const previousId = liveId(distPath);
  const previous = await liveSnapshot(distPath, previousId, options.previous);
  const hashes = options.hashes ?? new Map([...files.keys()].map((path) => [path, sha256(files.get(path)!)]));
  const origins = meta.origins ?? new Map<string, string>();
  const early = previous === undefined ? options.early : undefined;
  const plan = early?.plan ?? (await planStore(files, hashes, origins, previous));
  const pieces = await pieceHashes(plan, hashes, origins, previous, spill);
  // The build's files and the two this write adds, without copying a fleet's worth of entries.
  const manifest = manifestBytes(meta, plan, hashes, origins, pieces);
  const own = new Map([[REVISION_FILE, [Buffer.from(`${meta.revision}\n`)]], [MANIFEST_FILE, manifest.parts]]);
  const all: Contents = { get: (path) => files.get(path), parts: (path) => own.get(path), size: files.size + own.size };
  plan.loose.push(...own.keys());

  // `<revision>.<hash of the whole tree>`: the revision leads so nginx can name it in a header;
  // the hash tells apart two builds of one commit with different templates or bootcfg versions.
  // The manifest names each store dir's piece by its hash, so it hashes the whole tree.
  if (!/^[0-9A-Za-z_-]+$/.test(meta.revision)) throw new Error(`bug: revision ${JSON.stringify(meta.revision)} is not a safe directory name`);
  const id = `${meta.revision}.${manifest.sha256.slice(0, 16)}`;
  const dir = join(distPath, SNAPSHOTS, id);
  const counts = await diffCounts(hashes, previous, options.previous?.changed);
  try {
    // Ordered before it exists: a concurrent build pruning meanwhile counts it among the newest.
    markBuilt(distPath, id);
    const reused = existsNow(dir);
    if (reused) counts.written = 0; // the same tree was built before: reuse it
    const filled = reused ? undefined : await fillSnapshot(dir, plan, all, hashes, origins, pieces, previous, progress, options.ready, early);
    const made = filled?.made ?? false;
    await options.ready;
    // Before the switch: a server in this process may open the new snapshot at once (pack.ts),
    // and takes its store links from here when this write made them.
    const links = made ? { dir: resolve(dir), names: [...plan.groups].map(([group, { name }]): [string, string] => [group, name]) } : undefined;
    // The files that differ, and those written again with the same bytes (a new mtime: not the old pack's record).
    const delta = previous?.changed ? [...(await differing(previous, previous.changed, hashes)), ...(filled?.rewritten ?? []).map((path) => distFile(path))] : undefined;
    if (delta) recordDelta(basename(previous!.dir), id, delta, links);
    await pointCurrentAt(distPath, id);
    // A concurrent prune may have taken the reused snapshot, or a store dir it links, just before the switch: rebuild it.
    if (!(await exists(dir))) {
      const fresh = await planStore(files, hashes, origins, undefined);
      fresh.loose.push(...own.keys());
      await fillSnapshot(dir, fresh, all, hashes, origins, pieces, undefined, progress);
      // Its store dirs have fresh names now: a pack reads the links from disk. (One that took the
      // names above meanwhile still serves the right bytes: a snapshot id names each store dir's contents.)
      if (delta) recordDelta(basename(previous!.dir), id, delta);
      forget(dir);
    } else {
      // A reused snapshot's links are the earlier build's: read once, for the repair and the memory.
      const links = reused ? await storeLinks(dir) : undefined;
      await repairStore(dir, plan, links, all, hashes, origins, pieces);
      if (links) rememberReused(dir, plan, links, pieces);
      else remember(dir, plan, pieces);
    }
  } catch (error) {
    forget(dir);
    throw writeError(distPath, error);
  }
  const prune = () => pruneSnapshots(distPath, id, previousId).catch(() => {}); // see pruneSnapshots: best effort
  const queued = (pruning.get(distPath) ?? Promise.resolve()).then(prune);
  pruning.set(distPath, queued);
  void queued.then(() => { if (pruning.get(distPath) === queued) pruning.delete(distPath); });
  if (!options.pruneLater) await queued;
  return { dir, ...counts };
}

/** The dist files of `changed` (answer paths) whose contents differ between the previous snapshot and this build. */
async function differing(previous: Live, changed: ReadonlySet<string>, hashes: ReadonlyMap<string, string>): Promise<string[]> {
  const files: string[] = [];
  await forEachYielding(changed, (path) => {
    if (previous.hashOf(path) !== hashes.get(path)) files.push(distFile(path));
  }, PATHS_PER_TURN);
  return files;
}

/**
 * Answer paths looked at between two turns of the event loop where a write goes over the paths
 * a change touched (a profile's edit at 100k machines as groups: 150k of them), so that serve
 * answers between them.
 */
const PATHS_PER_TURN = 4096;

/** The live snapshot, from what the caller holds when that is still live, else from its manifest. */
async function liveSnapshot(distPath: string, id: string | undefined, held: PreviousSnapshot | undefined): Promise<Live | undefined> {
  if (id !== undefined && held?.id === id) {
    const dir = join(distPath, SNAPSHOTS, id);
    if (existsNow(dir)) return { dir, hashOf: (path) => held.hashOf(path), paths: () => held.paths(), changed: held.changed };
  }
  const read = await readLiveManifest(distPath);
  if (!read) return undefined;
  const { files, origins = {} } = read.manifest;
  return {
    dir: read.dir,
    hashOf: (path) => (Object.hasOwn(files, path) ? files[path] : undefined),
    originOf: (path) => (Object.hasOwn(origins, path) ? origins[path] : undefined),
    paths: () => Object.keys(files),
  };
}

/**
 * The live snapshot's manifest and directory, if dist holds a build, with every store dir's
 * piece read back into one list of files and origins. A manifest or piece that cannot be read,
 * parsed or does not match its hash (a power cut, a hand edit) counts as none: the next build
 * writes everything.
 */
export async function readLiveManifest(distPath: string): Promise<{ dir: string; manifest: Manifest } | undefined> {
  const id = liveId(distPath);
  if (id === undefined) return undefined;
  const dir = join(distPath, SNAPSHOTS, id);
  const text = await readBounded(join(dir, MANIFEST_FILE), MAX_PIECE_BYTES);
  const top = text === undefined ? undefined : parseManifest(text.toString('utf8'));
  if (!top) return undefined;
  const { dirs, ...manifest } = top;
  const files: Record<string, string> = { ...manifest.files };
  const origins: Record<string, string> | undefined = manifest.origins ? { ...manifest.origins } : undefined;
  const groups = Object.entries(dirs ?? {});
  if (groups.length > MAX_ENTRIES_LISTED) return undefined;
  const pieces = await mapLimit(groups, 16, async ([group, hash]) => {
    const name = isStoreGroup(group) ? await storeDirOf(dir, group) : undefined;
    const piece = name === undefined ? undefined : await readBounded(join(distPath, STORE, pieceName(name)), MAX_PIECE_BYTES);
    return piece !== undefined && sha256(piece) === hash ? parsePiece(piece.toString('utf8')) : undefined;
  });
  for (const piece of pieces) {
    if (!piece) return undefined;
    Object.assign(files, piece.files);
    if (origins && piece.origins) Object.assign(origins, piece.origins);
  }
  return { dir, manifest: { ...manifest, files, ...(origins && { origins }) } };
}

/** The name of the store dir the snapshot's link at `group` leads to, if it is a store link. */
async function storeDirOf(snapshot: string, group: string): Promise<string | undefined> {
  const target = await readlink(join(snapshot, group)).catch(() => undefined);
  return target === undefined ? undefined : storeNameOf(group, target);
}

/** Store groups a manifest may name: `<kind>/<shape>` or `<kind>/<shape>/<shard>`, nothing that leaves the snapshot. */
function isStoreGroup(group: string): boolean {
  return /^[a-z][a-z0-9-]*\/[a-z][a-z0-9_.]*(\/[0-9a-f]{1,8})?$/.test(group) && !group.includes('..');
}

/** Store dirs a manifest may name (at 100k machines: ~1,800). */
const MAX_ENTRIES_LISTED = 100_000;

/** The live snapshot's name: `current` → `revs/<id>`; anything else (absolute, `..`) is not a snapshot. */
function liveId(distPath: string): string | undefined {
  try {
    return /^revs\/([^/.][^/]*)$/.exec(readlinkSync(join(distPath, CURRENT)))?.[1];
  } catch {
    return undefined; // no live snapshot yet
  }
}

/** The manifest as written, with `dirs` (store dir → its piece's hash) when the build had store dirs. */
function parseManifest(text: string): (Manifest & { dirs?: Record<string, string> }) | undefined {
  try {
    const value = JSON.parse(text) as Partial<Manifest> & { dirs?: unknown } | null;
    if (typeof value?.revision !== 'string' || typeof value.source !== 'string' || !isStringMap(value.files)) return undefined;
    if (value.dirs !== undefined && !isStringMap(value.dirs)) return undefined;
    if (value.origins !== undefined && !isStringMap(value.origins)) return undefined;
    return value as Manifest & { dirs?: Record<string, string> };
  } catch {
    return undefined;
  }
}

function parsePiece(text: string): { files: Record<string, string>; origins?: Record<string, string> } | undefined {
  try {
    const value = JSON.parse(text) as { files?: unknown; origins?: unknown } | null;
    if (!isStringMap(value?.files) || (value.origins !== undefined && !isStringMap(value.origins))) return undefined;
    return value as { files: Record<string, string>; origins?: Record<string, string> };
  } catch {
    return undefined;
  }
}

function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((item) => typeof item === 'string');
}

/** `"key": "value"` lines of a JSON object, one per entry, as `JSON.stringify(…, null, 1)` nests them. */
function objectLines(entries: Iterable<[string, string]>): string {
  const out: string[] = [];
  for (const [key, value] of entries) out.push(`  ${JSON.stringify(key)}: ${JSON.stringify(value)}`);
  return out.length === 0 ? '{}' : `{\n${out.join(',\n')}\n }`;
}

/** The iPXE answers' origins among `paths` (the manifest records only those). */
function* ipxeOrigins(paths: Iterable<string>, origins: Origins): Generator<[string, string]> {
  for (const path of paths) {
    const origin = path.startsWith('ipxe/') ? origins.get(path) : undefined;
    if (origin !== undefined) yield [path, origin];
  }
}

/**
 * The snapshot's manifest: its groups (the fleet view reads them), its loose files (defaults,
 * boot.ipxe, shapes.json) with their hashes and origins, and for each store dir it links, the
 * hash of that dir's piece (pieceName: the same for the files in the dir). A build writes pieces
 * only for the store dirs it makes, so a one-machine edit writes a few KB of manifest besides
 * the groups, not a line per file of the fleet.
 *
 * In parts, with its sha256: the groups' text (~10 MB at 100k groups) is the same from one edit
 * to the next, so it leads, and its bytes and the hash state after them are made once per list
 * (groupsHead) and neither copied nor hashed again (~30-40 ms a group's edit at 100k).
 */
function manifestBytes(meta: SnapshotMeta, plan: StorePlan, hashes: ReadonlyMap<string, string>, origins: Origins, pieces: ReadonlyMap<string, Piece>): { parts: Part[]; sha256: string } {
  const loose = plan.loose.filter((path) => hashes.has(path));
  const dirs = [...plan.groups.keys()].sort().map((group): [string, string] => [group, pieces.get(group)!.hash]);
  let text = `${meta.groups === undefined ? '{\n' : ',\n'} "revision": ${JSON.stringify(meta.revision)},\n "source": ${JSON.stringify(meta.source)},\n "files": ${objectLines(loose.map((path) => [path, hashes.get(path)!]))}`;
  text += `,\n "dirs": ${objectLines(dirs)}`;
  if (meta.origins !== undefined) text += `,\n "origins": ${objectLines(ipxeOrigins(loose, origins))}`;
  const rest = Buffer.from(`${text}\n}\n`);
  if (meta.groups === undefined) return { parts: [rest], sha256: sha256(rest) };
  const head = groupsHead(meta.groups);
  return { parts: [head.part, rest], sha256: head.hash.copy().update(rest).digest('hex') };
}

/**
 * The manifest's opening and its list of groups (100k of them are ~10 MB, made and encoded in
 * ~90 ms), with the sha256 state after them: made again only when the list is another one (an
 * incremental build keeps the list when no group's entry changed). The bytes of a list kept
 * from one build to the next (a GroupList: serve --watch's) wait in a private temp file
 * (private-file.ts), not in memory: at 100k groups they were 11.6 MB of serve's ~200 MB at rest.
 * Each manifest copies them from there (writeParts, ~40 reads and writes of 256 KB). Without a
 * temp file they stay in memory, as a full build's list (an array, written once) does. The
 * file goes when the list does.
 */
const groupsHeads = new WeakMap<object, { part: Part; hash: Hash }>();
const headFiles = new FinalizationRegistry<PrivateFile>((file) => file.release());

/** Makes the list's text ahead of the build that needs it (serve, after a full build: the first edit's ~0.2 s at 100k groups). */
export function prepareManifest(groups: SnapshotMeta['groups']): void {
  if (groups !== undefined && groups.length > 0) groupsHead(groups);
}

function groupsHead(groups: NonNullable<SnapshotMeta['groups']>): { part: Part; hash: Hash } {
  let head = groupsHeads.get(groups);
  if (head === undefined) {
    const text = Buffer.from(`{\n "groups": ${JSON.stringify(groups, null, 1).replaceAll('\n', '\n ')}`);
    head = { part: groups instanceof GroupList ? spillHead(groups, text) : text, hash: createHash('sha256').update(text) };
    groupsHeads.set(groups, head);
  }
  return head;
}

/** `text` in a private file of its own, released when `groups` is collected; `text` itself when no file can take it. */
function spillHead(groups: object, text: Buffer): Part {
  const file = PrivateFile.create('bootcfg-manifest');
  const offset = file?.append(text);
  if (file === undefined || offset === undefined) {
    file?.release();
    return text;
  }
  headFiles.register(groups, file);
  return { file, offset, length: text.length };
}

/**
 * A store dir's own manifest, beside it in dist/dirs/ (`<name>.manifest.json`): its files'
 * hashes and the iPXE answers' origins. Not inside it: everything under a snapshot's kind
 * directories is an answer (tools validate them so), and a piece is not one.
 */
export function pieceName(storeDir: string): string {
  return `${storeDir}${PIECE_SUFFIX}`;
}
const PIECE_SUFFIX = '.manifest.json';
/** No piece of a store dir comes near this (~200 files at 100k machines: ~30 KB). */
const MAX_PIECE_BYTES = 64 * 1024 ** 2;

/** Bytes kept in a private file (PieceSpill, the manifest's list of groups). */
interface Spilled {
  file: PrivateFile;
  offset: number;
  length: number;
}

/** Part of a file to write: bytes in memory or in a private file. */
type Part = Buffer | Spilled;

/** A store dir's piece: its hash (what the manifest names), and its bytes when this build writes it (PieceSpill). */
interface Piece {
  hash: string;
  text?: Buffer;
  spilled?: Spilled;
}

/** Bytes of pieces a build holds in memory before it holds the rest in a file. */
const HELD_PIECE_BYTES = 4 * 1024 ** 2;

/**
 * Where a build holds the pieces it made until the fill writes each into its store dir: in
 * memory up to HELD_PIECE_BYTES in all (a one-machine edit's two or three), past that in a
 * private temp file (a 1% edit at 100k machines makes ~35 MB of them, a full build ~47 MB). In
 * memory, they were the largest part of such an edit's rise over serve's rest, and as ~50 KB
 * allocations each they stayed in the C heap after it (docs/BENCHMARKS.md). Without a temp file
 * (no temp dir, no room) they stay in memory.
 */
class PieceSpill {
  private held = 0;
  /** null: none could be made. */
  private file: PrivateFile | null | undefined;

  constructor(private readonly most = HELD_PIECE_BYTES) {}

  keep(text: Buffer): Pick<Piece, 'text' | 'spilled'> {
    if (this.held + text.length > this.most) {
      if (this.file === undefined) this.file = PrivateFile.create('bootcfg-pieces') ?? null;
      const offset = this.file?.append(text);
      if (offset !== undefined) return { spilled: { file: this.file!, offset, length: text.length } };
    }
    this.held += text.length;
    return { text };
  }

  release(): void {
    this.file?.release();
    this.file = null;
  }
}

/**
 * A piece's bytes: the same text as `{ files, origins }` in objectLines's layout, written
 * straight into one buffer. A 1% edit at 100k machines makes a piece for nearly every store
 * dir (~45 MB in all); made as strings that was ~1 s of the edit, most of it garbage and hex
 * strings, and hashing them ~0.25 s more for their UTF-8 encoding.
 */
export function pieceText(files: readonly string[], hashes: ReadonlyMap<string, string>, origins: Origins): Buffer {
  const owned = [...ipxeOrigins(files, origins)];
  let size = 64;
  for (const path of files) size += jsonLength(path) + 72;
  for (const [path, origin] of owned) size += jsonLength(path) + jsonLength(origin) + 8;
  const out = Buffer.allocUnsafe(size);
  let at = out.write('{\n "files": ', 0, 'latin1');
  at = openLines(out, at, files.length);
  for (const [i, path] of files.entries()) {
    at = lineKey(out, at, i, path);
    out[at++] = QUOTE;
    if (hashes instanceof Digests ? !hashes.hexInto(path, out, at) : out.write(hashes.get(path) ?? '', at, 'latin1') !== 64) throw new Error(`bug: no hash for ${path}`);
    at += 64;
    out[at++] = QUOTE;
  }
  at = closeLines(out, at, files.length);
  at += out.write(',\n "origins": ', at, 'latin1');
  at = openLines(out, at, owned.length);
  for (const [i, [path, origin]] of owned.entries()) at = jsonWrite(out, lineKey(out, at, i, path), origin);
  at = closeLines(out, at, owned.length);
  at += out.write('\n}\n', at, 'latin1');
  return out.subarray(0, at);
}

const QUOTE = 0x22;
/** A string JSON.stringify leaves as it is but for the quotes around it. */
const PLAIN = /^[\w ./:@+=,~-]*$/;

function jsonLength(text: string): number {
  return PLAIN.test(text) ? text.length + 2 : Buffer.byteLength(JSON.stringify(text));
}

/** `text` as a JSON string at `at`; where it ends. ASCII a code unit at a time: a call to Buffer.write costs more than a path's ~50. */
function jsonWrite(out: Buffer, at: number, text: string): number {
  if (!PLAIN.test(text)) return at + out.write(JSON.stringify(text), at, 'utf8');
  out[at++] = QUOTE;
  for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
  out[at++] = QUOTE;
  return at;
}

/** objectLines's opening: `{}` for none (closeLines then adds nothing). */
function openLines(out: Buffer, at: number, count: number): number {
  return at + out.write(count === 0 ? '{}' : '{\n', at, 'latin1');
}

/** A line's start, `  "key": `, after the line before's `,\n`. */
function lineKey(out: Buffer, at: number, i: number, key: string): number {
  if (i > 0) {
    out[at++] = 0x2c; // ,
    out[at++] = 0x0a;
  }
  out[at++] = 0x20;
  out[at++] = 0x20;
  at = jsonWrite(out, at, key);
  out[at++] = 0x3a; // :
  out[at++] = 0x20;
  return at;
}

function closeLines(out: Buffer, at: number, count: number): number {
  return count === 0 ? at : at + out.write('\n }', at, 'latin1');
}

/**
 * Each store dir's piece: made for the dirs this build writes, and for a reused dir the hash
 * of the piece it holds (remembered from the build that wrote or last reused it, else read).
 * A reused dir without a readable piece (written by an older bootcfg) is written anew.
 */
async function pieceHashes(plan: StorePlan, hashes: ReadonlyMap<string, string>, origins: Origins, previous: Live | undefined, spill: PieceSpill): Promise<Map<string, Piece>> {
  const pieces = new Map<string, Piece>();
  const known = lastWriteOf(previous)?.pieces;
  const unknown = [...plan.groups].filter(([, dir]) => dir.reused && !known?.has(dir.name));
  const store = previous && join(dirname(dirname(previous.dir)), STORE);
  const read = new Map(await mapLimit(unknown, 16, async ([group, dir]) => [group, await readPieceHash(join(store!, pieceName(dir.name)))] as const));
  // One piece after another, yielding between some: made on this thread, a 1% edit's ~1,800
  // pieces at 100k machines are ~0.3 s of work (concurrent workers would not yield: each goes
  // on in a microtask while another waits for its turn).
  const turn = turns(PATHS_PER_TURN);
  for (const [group, dir] of plan.groups) {
    const hash = dir.reused ? known?.get(dir.name) ?? read.get(group) : undefined;
    if (hash !== undefined) {
      pieces.set(group, { hash });
      await turn();
      continue;
    }
    if (dir.reused) Object.assign(dir, { reused: false, name: storeName(group) });
    const text = pieceText(dir.files, hashes, origins);
    pieces.set(group, { hash: sha256(text), ...spill.keep(text) });
    await turn(dir.files.length);
  }
  return pieces;
}

async function readPieceHash(path: string): Promise<string | undefined> {
  const text = await readBounded(path, MAX_PIECE_BYTES);
  return text === undefined ? undefined : sha256(text);
}

/** A regular file's contents, if it is one and no bigger than `max`. */
async function readBounded(path: string, max: number): Promise<Buffer | undefined> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW).catch(() => undefined);
  if (!handle) return undefined;
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size > max) return undefined;
    return await handle.readFile();
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

/**
 * Per dist directory, the last snapshot this process wrote: its plan, so the next build plans
 * only what changed (replan), and its store dirs' piece hashes, so a reused dir's piece is not
 * read again. Bounded: a process writes one or two dist directories (tests a few more).
 */
const lastWrites = new Map<string, { dir: string; plan: StorePlan; pieces: Map<string, string> }>();
const MAX_REMEMBERED = 16;

function lastWriteOf(previous: Live | undefined): { plan: StorePlan; pieces: Map<string, string> } | undefined {
  const last = previous && lastWrites.get(dirname(dirname(previous.dir)));
  return last?.dir === previous?.dir ? last : undefined;
}

function remember(dir: string, plan: StorePlan, pieces: ReadonlyMap<string, Piece>): void {
  const distPath = dirname(dirname(dir));
  const hashes = new Map<string, string>();
  for (const [group, store] of plan.groups) hashes.set(store.name, pieces.get(group)!.hash);
  lastWrites.delete(distPath);
  if (lastWrites.size >= MAX_REMEMBERED) lastWrites.delete(lastWrites.keys().next().value!);
  lastWrites.set(distPath, { dir, plan: { groups: plan.groups, loose: plan.loose.filter((path) => path !== REVISION_FILE && path !== MANIFEST_FILE) }, pieces: hashes });
  if (plan.replanned) void keepAsBytes(plan.groups);
}

/**
 * A kept plan's paths made bytes (GroupPlan.kept), a turn of the event loop after every
 * PATHS_PER_TURN of them: after the write has returned, since a 1% edit at 100k machines has
 * ~350k fresh paths (~130 ms). Either form of a group is the same plan to the next build.
 */
async function keepAsBytes(groups: Map<string, GroupPlan>): Promise<void> {
  const turn = turns(PATHS_PER_TURN);
  for (const [group, plan] of groups) {
    groups.set(group, plan.kept());
    await turn(plan.count);
  }
}

/**
 * Removes the links of a snapshot made ahead (prelink.ts) whose groups the plan no longer has,
 * and the directories that leaves empty (a shape gone): a fresh staging dir would not have them.
 */
function unlinkGone(staging: string, prelinked: Prelinked, groups: ReadonlyMap<string, GroupPlan>): void {
  for (const group of prelinked.names.keys()) {
    if (groups.has(group)) continue;
    unlinkSync(`${staging}/${group}`);
    for (let parent = dirname(group); parent !== '.'; parent = dirname(parent)) {
      try {
        rmdirSync(`${staging}/${parent}`);
      } catch {
        break; // not empty: nor are those above it
      }
    }
  }
}

/** Links each group of the plan the snapshot made ahead does not link as the plan says (an edit's few). */
function relink(staging: string, prelinked: Prelinked, groups: ReadonlyMap<string, GroupPlan>): void {
  for (const [group, { name }] of groups) {
    const had = prelinked.names.get(group);
    if (had === name) continue;
    if (had !== undefined) unlinkSync(`${staging}/${group}`);
    symlinkSync(storeLink(group, name), `${staging}/${group}`);
  }
}

/**
 * Remembers a snapshot this build reused (the same tree built before: an edit undone, a revert)
 * as if it had written it. Its links are the earlier build's, not this plan's fresh names, so
 * the caller reads them from it (~1,800 at 100k machines). Without this the next edit would plan every
 * answer again from disk: ~0.4 s at 100k instead of ~0.08.
 */
function rememberReused(dir: string, plan: StorePlan, links: readonly { group: string; name: string }[], pieces: ReadonlyMap<string, Piece>): void {
  const names = new Map(links.map(({ group, name }) => [group, name]));
  if (names.size !== plan.groups.size) return forget(dir);
  const groups = new Map<string, GroupPlan>();
  for (const [group, store] of plan.groups) {
    const name = names.get(group);
    if (name === undefined) return forget(dir); // not this plan's tree after all: plan the next build from disk
    groups.set(group, store.as(name, true));
  }
  remember(dir, { groups, loose: plan.loose, replanned: plan.replanned }, pieces);
}

/**
 * What this process remembers of the snapshot it last wrote (lastWrites), in a form another
 * process can take over: serve builds in full in a child process (src/build/child.ts) and
 * plans its next incremental build from this, as if it had written the snapshot itself.
 */
export interface WrittenStore {
  dir: string;
  /** Each group's store dir: `[group, name]`. */
  names: [string, string][];
  /** Each store dir's piece hash: `[name, sha256]`. */
  pieces: [string, string][];
}

export function writtenStore(dir: string): WrittenStore | undefined {
  const last = lastWrites.get(dirname(dirname(dir)));
  if (last?.dir !== dir) return undefined;
  return { dir, names: [...last.plan.groups].map(([group, plan]) => [group, plan.name]), pieces: [...last.pieces] };
}

/**
 * Takes over another process's memory of the snapshot it wrote, whose answers are `paths`
 * (sorted); yields now and then (550k paths at 100k machines as groups: serve answers between).
 */
export async function adoptWrittenStore(written: WrittenStore, paths: Iterable<string>): Promise<void> {
  const names = new Map(written.names);
  const plan: StorePlan = { groups: new Map(), loose: [] };
  await forEachYielding(paths, (path) => addToPlan(plan, path), PATHS_PER_TURN);
  const { groups, loose } = plan;
  if (groups.size !== names.size) return forget(written.dir);
  const turn = turns(PATHS_PER_TURN);
  for (const [group, plan] of groups) {
    const name = names.get(group);
    if (name === undefined) return forget(written.dir); // not the plan that wrote it: plan the next build from disk
    groups.set(group, plan.as(name, true).kept());
    await turn(plan.count);
  }
  const distPath = dirname(dirname(written.dir));
  lastWrites.delete(distPath);
  if (lastWrites.size >= MAX_REMEMBERED) lastWrites.delete(lastWrites.keys().next().value!);
  lastWrites.set(distPath, { dir: written.dir, plan: { groups, loose }, pieces: new Map(written.pieces) });
}

function forget(dir: string): void {
  lastWrites.delete(dirname(dirname(dir)));
}

/** How lastWrites and the prelinked snapshots key a dist directory. */
function distKey(distPath: string): string {
  return dirname(join(distPath, SNAPSHOTS));
}

/**
 * Starts making the next snapshot's links to the store ahead of its build (src/build/prelink.ts),
 * as the snapshot this process wrote last into `distPath` links them; nothing if it wrote none.
 * serve calls it when a change arrives, before the change settles.
 */
export function prelinkNext(distPath: string): void {
  const key = distKey(distPath);
  const last = lastWrites.get(key);
  if (!last || prelinkedBase(key) === last.dir) return;
  const names = new Map([...last.plan.groups].map(([group, { name }]) => [group, name]));
  startPrelink(key, join(key, SNAPSHOTS, `.staging-${stagingOwner()}-${randomBytes(6).toString('hex')}`), last.dir, names, storeLink);
}

/** Removes the snapshot links made ahead for `distPath` and not taken up (serve stopping). */
export function dropPrelinkedFor(distPath: string): Promise<void> {
  return dropPrelinked(distKey(distPath));
}

async function diffCounts(next: ReadonlyMap<string, string>, prev: Live | undefined, changed: ReadonlySet<string> | undefined): Promise<{ written: number; unchanged: number; removed: number }> {
  let unchanged = 0;
  let removed = 0;
  if (prev && changed) {
    // Only these paths can differ from the live snapshot (the caller says so).
    let written = 0;
    await forEachYielding(changed, (path) => {
      const [before, now] = [prev.hashOf(path), next.get(path)];
      if (now !== undefined && now !== before) written++;
      if (before !== undefined && now === undefined) removed++;
    }, PATHS_PER_TURN);
    return { written, unchanged: next.size - written, removed };
  }
  if (prev) {
    for (const [path, hash] of next) if (prev.hashOf(path) === hash) unchanged++;
    for (const path of prev.paths()) if (!next.has(path)) removed++;
  }
  return { written: next.size - unchanged, unchanged, removed };
}

/**
 * Writes the snapshot under a staging name, makes it durable, then renames it into place: after
 * a power cut, a snapshot under its final name (and so `current`) is complete, never empty files.
 *
 * The answers of one shape of one kind (`ipxe/uuid/…`: at 100k machines, 50k files) live in a
 * shared directory `dist/dirs/<name>/`, and the snapshot holds a symlink to it
 * (`revs/<id>/ipxe/uuid -> ../../../dirs/<name>`). A shape whose files are all unchanged since
 * the previous snapshot keeps its directory: a one-machine edit relinks one shape's files, not
 * the fleet's, and a default's edit none. Store directories are written the same way
 * (staging, synced, renamed) and never change once named.
 */
async function fillSnapshot(dir: string, plan: StorePlan, all: Contents, hashes: ReadonlyMap<string, string>, origins: Origins, pieces: ReadonlyMap<string, Piece>, previous: Live | undefined, progress?: Progress, ready?: Promise<void>, early?: EarlyStore): Promise<{ made: boolean; rewritten: string[] }> {
  const revs = dirname(dir);
  const store = join(dirname(revs), STORE);
  // The links made ahead from the live snapshot, if any (prelink.ts); else a fresh staging dir.
  const prelinked = await takePrelinked(dirname(revs), previous?.dir);
  const staging = prelinked?.dir ?? join(revs, `.staging-${stagingOwner()}-${randomBytes(6).toString('hex')}`);
  const { groups, loose } = plan;
  try {
    mkdirSync(store, { recursive: true });
    // The snapshot's links are made before the store dirs they name, so a concurrent prune that
    // reads every snapshot's links (staging ones included) never removes one in use.
    if (prelinked) unlinkGone(staging, prelinked, groups);
    const parents = parentsOf([...loose, ...groups.keys()]).map((parent) => (parent === '' ? staging : `${staging}/${parent}`));
    for (const parent of parents) mkdirSync(parent, { recursive: true });
    if (prelinked) relink(staging, prelinked, groups);
    else await forEachYielding(groups, ([group, dir]) => symlinkSync(storeLink(group, dir.name), `${staging}/${group}`));
    const written: string[] = [];
    let done = 0;
    const tick = () => {
      if (++done % 1000 === 0) progress?.('write', done, all.size);
    };
    const fresh = [...groups].filter(([, dir]) => !dir.reused);
    for (const [, dir] of groups) if (dir.reused) done += dir.count;
    const rewritten = await fillStoreDirs(store, fresh.map(([group, dir]) => ({ group, name: dir.name, files: dir.files, piece: pieceOf(pieces, group, dir.files, hashes, origins) })), all, hashes, previous, tick, early);
    await forEachYielding(loose, (path) => {
      tick();
      if (linkOrWrite(path, join(staging, path), all, hashes.get(path), previous)) written.push(path);
    });
    await syncTree(staging, written, parents);
    await ready; // no snapshot of a build that fails its checks: staging goes below
    let made = true;
    try {
      renameSync(staging, dir);
    } catch (error) {
      // Another build of the same contents finished first: its snapshot is this one (with its own store links).
      const { code } = error as NodeJS.ErrnoException;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error;
      await rm(staging, { recursive: true, force: true });
      made = false;
    }
    await syncDirectory(revs);
    return { made, rewritten };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/**
 * A fresh store dir's piece, when its dir is written: the text this build made (held, or read
 * back from the spill), or (a reused dir written again after a prune) made again.
 */
function pieceOf(pieces: ReadonlyMap<string, Piece>, group: string, files: readonly string[], hashes: ReadonlyMap<string, string>, origins: Origins): () => Buffer {
  return () => {
    const { text, spilled } = pieces.get(group) ?? {};
    return text ?? (spilled ? spilled.file.read(spilled.offset, spilled.length) : pieceText(files, hashes, origins));
  };
}

/** Where the shared answer directories live, beside revs/. */
export const STORE = 'dirs';

/**
 * One store dir of a plan. Its paths are strings while a build plans and fills it, and bytes
 * while the plan is kept between builds (lastWrites): ~5 MB at 100k machines, where the strings
 * were ~25 MB of serve's heap at rest. A reused dir's paths are read back only if a build asks
 * for them (a pruned dir written again, a piece to make anew).
 */
class GroupPlan {
  private list: string[] | undefined;

  constructor(
    /** The store directory's name. */
    public name: string,
    /** The previous snapshot's directory serves as is. */
    public reused: boolean,
    list: string[] | undefined,
    private readonly packed?: Buffer,
    private readonly counted = list?.length ?? 0,
  ) {
    this.list = list;
  }

  /** Paths (dist-relative) of the group's files, in order. */
  get files(): string[] {
    return (this.list ??= unpackPaths(this.packed!));
  }

  get count(): number {
    return this.list?.length ?? this.counted;
  }

  /** The same paths under another name. */
  as(name: string, reused: boolean): GroupPlan {
    return new GroupPlan(name, reused, this.list, this.packed, this.count);
  }

  /** The same, its paths as bytes (already bytes when it was kept before). */
  kept(): GroupPlan {
    return new GroupPlan(this.name, this.reused, undefined, this.packed ?? packPaths(this.list!), this.count);
  }
}

/** A build's files by path: what the write reads them through. */
interface Contents {
  get(path: string): Buffer | undefined;
  /** The files this write adds (REVISION, the manifest), in the parts to write one after another. */
  parts?(path: string): readonly Part[] | undefined;
  readonly size: number;
}

/** Which answers go in which store dir (by group: `ipxe/uuid/<xx>`), and the loose files. */
interface StorePlan {
  groups: Map<string, GroupPlan>;
  loose: string[];
  /**
   * Planned from the last one (replan): the plan a long-running process keeps between builds,
   * so its groups are kept as bytes. A full plan is a one-shot build's (the CLI, serve's build
   * child), which would pack 350k paths at 100k machines for nothing.
   */
  replanned?: boolean;
}

/** A new store dir's name: the group's path, and random bytes (never the name of one before it). */
function storeName(group: string): string {
  return `${group.replace(/\//g, '_')}.${randomBytes(8).toString('hex')}`;
}

/**
 * The store dir group of a dist file: its shard `ipxe/uuid/<xx>` for `ipxe/uuid/<xx>/<uuid>`
 * (`ipxe/mac.os/<xx>` for `ipxe/mac.os/<xx>/<mac>/<os>`), its shape `ipxe/os` for a shape
 * without uuid or mac; undefined for a loose file (`ipxe/default`, `boot.ipxe`).
 */
function groupOf(disk: string): string | undefined {
  const first = disk.indexOf('/');
  const second = first < 0 ? -1 : disk.indexOf('/', first + 1);
  if (second < 0) return undefined;
  if (shardKey(disk.slice(first + 1, second).split('.')) === undefined) return disk.slice(0, second);
  const third = disk.indexOf('/', second + 1);
  return third < 0 ? undefined : disk.slice(0, third);
}

/** The group of an answer path's file (see groupOf). */
function groupOfAnswer(path: string): string | undefined {
  return groupOf(distFile(path));
}

/** The snapshot's link to a store dir: relative, so dist/ can move as a whole. */
export function storeLink(group: string, name: string): string {
  return `${'../'.repeat(group.split('/').length + 1)}${STORE}/${name}`;
}

/**
 * The store dir a link at `group` names, if `target` is exactly what storeLink makes for it
 * (the one rule every reader of a snapshot's links goes by, the server's pack included).
 */
export function storeNameOf(group: string, target: string): string | undefined {
  const prefix = storeLink(group, '');
  const name = target.startsWith(prefix) ? target.slice(prefix.length) : '';
  return /^[^/.][^/]*$/.test(name) ? name : undefined;
}

/**
 * Which files go in which store dir, and which store dirs the previous snapshot already has
 * right: the same files with the same hashes and (the piece records them) iPXE origins.
 */
async function planStore(files: Answers, hashes: ReadonlyMap<string, string>, origins: Origins, previous: Live | undefined): Promise<StorePlan> {
  const last = lastWriteOf(previous);
  if (previous?.changed && last) return await replan(last.plan, files, previous.changed);
  const { groups, loose } = groupAnswers(files.keys());
  const changed = new Set<string>();
  const differs = (path: string) => !previous || previous.hashOf(path) !== hashes.get(path) || (path.startsWith('ipxe/') && previous.originOf?.(path) !== origins.get(path));
  if (!previous?.changed) for (const [group, plan] of groups) if (plan.files.some(differs)) changed.add(group);
  if (previous?.changed) {
    for (const path of previous.changed) changed.add(groupOfAnswer(path) ?? '');
  } else if (previous) {
    for (const path of previous.paths()) if (!files.has(path)) changed.add(groupOfAnswer(path) ?? '');
  }
  await mapLimit([...groups], 16, async ([group, plan]) => {
    const before = changed.has(group) || !previous ? undefined : await previousStoreDir(previous.dir, group);
    plan.reused = before !== undefined;
    plan.name = before ?? storeName(group);
  });
  return { groups, loose };
}

/** Answer paths (in order) by store dir group, and the loose ones; every group not yet named. */
function groupAnswers(paths: Iterable<string>): StorePlan {
  const plan: StorePlan = { groups: new Map(), loose: [] };
  for (const path of paths) addToPlan(plan, path);
  return plan;
}

/** One more answer path in its store dir group's list (or the loose ones); its group. */
function addToPlan({ groups, loose }: StorePlan, path: string): string | undefined {
  const group = groupOfAnswer(path);
  if (group === undefined) {
    loose.push(path);
    return undefined;
  }
  let plan = groups.get(group);
  if (!plan) groups.set(group, (plan = new GroupPlan('', false, [])));
  plan.files.push(path);
  return group;
}

/**
 * The plan of a build that changes only `changed` since the snapshot this process last wrote
 * (`last`): that plan with the groups those paths are in planned again, every other group
 * reusing its store dir. Nothing is done per file of the fleet: a one-machine edit plans one
 * group per kind. Paths keep the order of a full plan (sorted, as the builds hand them over).
 */
async function replan(last: StorePlan, files: Answers, changed: ReadonlySet<string>): Promise<StorePlan> {
  const touched = new Map<string | undefined, string[]>();
  await forEachYielding(changed, (path) => {
    const group = groupOfAnswer(path);
    const list = touched.get(group);
    if (list) list.push(path);
    else touched.set(group, [path]);
  }, PATHS_PER_TURN);
  const merged = (before: readonly string[], paths: readonly string[]) => {
    const gone = new Set(paths);
    return [...before.filter((path) => !gone.has(path)), ...paths.filter((path) => files.has(path))].sort(byCodeUnits);
  };
  const groups = new Map<string, GroupPlan>();
  const turn = turns(PATHS_PER_TURN);
  for (const [group, plan] of last.groups) {
    const paths = touched.get(group);
    groups.set(group, paths ? new GroupPlan(storeName(group), false, merged(plan.files, paths)) : plan.as(plan.name, true));
    await turn(paths ? plan.count + paths.length : 1);
  }
  for (const [group, paths] of touched) {
    if (group !== undefined && !groups.has(group)) groups.set(group, new GroupPlan(storeName(group), false, merged([], paths)));
  }
  for (const [group, plan] of groups) if (plan.count === 0) groups.delete(group);
  return { groups, loose: merged(last.loose, touched.get(undefined) ?? []), replanned: true };
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The store dir the previous snapshot links `group` to, if it links it (and it is still there). */
async function previousStoreDir(snapshot: string, group: string): Promise<string | undefined> {
  const name = await storeDirOf(snapshot, group);
  return name !== undefined && (await exists(join(snapshot, group, '.'))) ? name : undefined;
}

/**
 * New store dirs: each staged and filled (linked from the previous snapshot where unchanged),
 * then all synced at once, then each renamed to its name. One sync for all: a first build has
 * ~1,500 shard dirs of ~200 files, and a syncTree per dir would fsync each of 250k files.
 * Resolves to the unchanged answers written from memory because their link failed: the same
 * bytes with a new mtime, so a server's pack must not carry their old records (deltas.ts).
 */
async function fillStoreDirs(store: string, dirs: readonly { group: string; name: string; files: readonly string[]; piece: () => Buffer }[], all: Contents, hashes: ReadonlyMap<string, string>, previous: Live | undefined, tick: () => void, early?: EarlyStore): Promise<string[]> {
  if (dirs.length === 0) return [];
  if (early && !early.matches(dirs)) throw new Error('bug: the store dirs written ahead are not this plan\'s');
  // An incremental build names what may have changed: the rest is the previous snapshot's
  // without comparing hashes. What it re-rendered the same (a profile's edit that changes one
  // kind of answer of the machines it reaches) is linked too.
  const changed = previous?.changed;
  const unchanged = (path: string) => {
    if (changed && !changed.has(path)) return true;
    const hash = hashes.get(path);
    return previous !== undefined && hash !== undefined && previous.hashOf(path) === hash;
  };
  const made = early?.take() ?? (await prepareStoreDirs(store, dirs, (path) => all.get(path)!, unchanged, previous?.dir));
  const { root, fills, parents } = made;
  try {
    const written: string[] = []; // besides the fills' writes: the pieces, and answers whose link failed
    const rewritten: string[] = []; // unchanged answers whose link failed, written from memory
    for (const [i, { piece }] of dirs.entries()) {
      writeFileSync(join(root, `${i}${PIECE_SUFFIX}`), piece()); // made or read now: not all of a 1% edit's at once
      written.push(`${i}${PIECE_SUFFIX}`);
    }
    // Unchanged answers are linked from the previous snapshot, the rest written from memory,
    // all at once (fill.ts: on two threads when many); an answer that cannot be linked is written.
    for (const [d, k] of await (early ? early.fill.finish(tick) : fillAll(fills, tick))) {
      // The previous snapshot lost it.
      const { paths, picks, linkName } = fills[d]!;
      writeFileSync(join(root, String(d), linkName(k)), all.get(paths[picks[k]!]!)!);
      written.push(`${d}/${linkName(k)}`);
      rewritten.push(paths[picks[k]!]!);
    }
    // The fills' writes are listed only if synced one by one: a first build writes 350k answers.
    const fresh = fills.reduce((sum, fill) => sum + fill.writes, 0);
    const list = (): string[] => [...fills.flatMap((fill, d) => Array.from({ length: fill.writes }, (_, k) => `${d}/${fill.writeName(k)}`)), ...written];
    await syncTree(root, { count: fresh + written.length, list }, [...parents].map((parent) => join(root, parent)));
    // The piece first: a store dir under its name always has its piece beside it.
    // Synchronous renames, yielding between some: a 1% edit at 100k renames ~1,800 dirs and
    // their pieces, and a round trip through libuv's pool for each left this thread idle ~0.2 s.
    await forEachYielding(dirs.keys(), (i) => {
      renameSync(join(root, `${i}${PIECE_SUFFIX}`), join(store, pieceName(dirs[i]!.name)));
      renameSync(join(root, String(i)), join(store, dirs[i]!.name));
    });
    await syncDirectory(store);
    // Empty now: one rmdir, not rm's recursive walk (loaded on its first use: ~20 ms of the
    // first edit after start-up at 100k machines), which stays for what should not be there.
    try {
      rmdirSync(root);
    } catch {
      await rm(root, { recursive: true, force: true });
    }
    return rewritten;
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

/** New store dirs being filled under one staging dir: dir i at `<root>/<i>`, before the renames. */
interface MadeStoreDirs {
  root: string;
  fills: (DirFill & { paths: readonly string[]; picks: readonly number[] })[];
  /** The directories made under root (root-relative). */
  parents: Set<string>;
}

/**
 * Makes the staging dir and each new store dir's directories in it, and says what goes in
 * each: `unchanged` answers linked from the previous snapshot's store dir (under `from`), the
 * rest written from `content`. Nothing is written yet.
 */
async function prepareStoreDirs(store: string, dirs: readonly { group: string; files: readonly string[] }[], content: (path: string) => Buffer, unchanged: (path: string) => boolean, from: string | undefined): Promise<MadeStoreDirs> {
  const root = join(store, `.staging-${stagingOwner()}-${randomBytes(6).toString('hex')}`);
  const made: MadeStoreDirs = { root, fills: [], parents: new Set() };
  const { fills, parents } = made;
  try {
    for (const [i, { group, files }] of dirs.entries()) {
      // A shape of one key (`ipxe/uuid/<xx>`, `ipxe/os`) holds its files directly: the name is
      // the answer path's last part (a selector value never holds a `/`: shapes.ts's VALUE).
      // Others (`ipxe/mac.os/<xx>/<mac>/<os>`) go by distFile.
      const flat = !group.slice(group.indexOf('/') + 1).split('/')[0]!.includes('.');
      const rest = flat ? (path: string) => path.slice(path.lastIndexOf('/') + 1) : (path: string) => distFile(path).slice(group.length + 1);
      const prefix = `${i}/`;
      const mine = flat ? [String(i)] : [...new Set([String(i), ...files.map((path) => dirname(prefix + rest(path)))])];
      for (const parent of mine) mkdirSync(join(root, parent), { recursive: true });
      for (const parent of mine) parents.add(parent);
      const picks: number[] = [];
      const fresh: number[] = [];
      await forEachYielding(files.keys(), (k) => {
        if (unchanged(files[k]!)) picks.push(k);
        else fresh.push(k);
      });
      fills.push({
        from: join(from ?? '', group),
        to: join(root, String(i)),
        links: picks.length,
        linkName: (k) => rest(files[picks[k]!]!),
        writes: fresh.length,
        writeName: (k) => rest(files[fresh[k]!]!),
        content: (k) => content(files[fresh[k]!]!),
        paths: files,
        picks,
      });
    }
    return made;
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

/** Below this many answers a full build's writes are not started ahead: the worker's start would not pay. */
export const EARLY_STORE_MIN = 20_000;

/**
 * A fresh dist's store dirs, written ahead. A full build into a dist with no live snapshot
 * writes every answer; started on the fill worker while this thread renders (build.ts tells it
 * how far the render has come: a store dir's answers lie in one kind and shape's run of the
 * sorted plan, so the first dirs are whole after a seventh of a seed fleet's render), the writes
 * go on beside this thread's render, hashing, pieces and manifest. Started once the render was
 * done, the fill began ~2.5 s after the second core fell idle at 100k machines, and the worker's
 * ~7 s of writes were most of what this thread waited for at the end. writeSnapshot takes it up
 * when the dist still has no live snapshot (fillStoreDirs joins the work from the other end),
 * and drops it otherwise; whoever started it calls `drop` once the write is over, taken up or not.
 */
export class EarlyStore {
  readonly fill: SharedFill;
  /** The dirs being written; undefined once fillStoreDirs took them or they were dropped. */
  private made: MadeStoreDirs | undefined;
  /** The dirs known whole so far (the first `whole` of the plan's groups). */
  private whole = 0;

  /** `wholeAt[d]`: how many of the build's answers must be rendered for dirs 0…d to be whole. */
  private constructor(readonly plan: StorePlan, made: MadeStoreDirs, private readonly wholeAt: readonly number[]) {
    this.made = made;
    this.fill = new SharedFill(made.fills, EARLY_AHEAD, true);
  }

  /**
   * Starts writing the answers at `paths` (a build's, in its order, `count` of them) into new
   * store dirs under `distPath` if it has no live snapshot and there are enough of them;
   * undefined otherwise. The plan is the one writeSnapshot makes for a dist without one: every
   * group a new store dir, named afresh. A dir is written once `rendered` says all its answers
   * are; `content` gives them then.
   */
  static async start(distPath: string, paths: Iterable<string>, count: number, content: (path: string) => Buffer): Promise<EarlyStore | undefined> {
    if (count < EARLY_STORE_MIN || liveId(distPath) !== undefined) return undefined;
    const store = join(distPath, STORE);
    const plan: StorePlan = { groups: new Map(), loose: [] };
    const last = new Map<string, number>();
    let at = 0;
    for (const path of paths) {
      const group = addToPlan(plan, path);
      if (group !== undefined) last.set(group, at);
      at++;
    }
    const wholeAt: number[] = [];
    for (const [group, dir] of plan.groups) {
      dir.name = storeName(group);
      wholeAt.push(Math.max(wholeAt.at(-1) ?? 0, last.get(group)! + 1));
    }
    try {
      await mkdir(store, { recursive: true });
      const made = await prepareStoreDirs(store, [...plan.groups].map(([group, dir]) => ({ group, files: dir.files })), content, () => false, undefined);
      return new EarlyStore(plan, made, wholeAt);
    } catch {
      return undefined; // not writable, no room: the write proper meets it and says so
    }
  }

  /** The build's first `count` answers are rendered: the dirs they make whole may be written. */
  rendered(count: number): void {
    while (this.whole < this.wholeAt.length && this.wholeAt[this.whole]! <= count) this.whole++;
    this.fill.ready(this.whole);
  }

  /** Whether `dirs` are the plan's new store dirs, in its order (the ones being written). */
  matches(dirs: readonly { group: string; name: string }[]): boolean {
    const planned = [...this.plan.groups];
    return this.made !== undefined && dirs.length === planned.length && dirs.every(({ group, name }, i) => planned[i]![0] === group && planned[i]![1].name === name);
  }

  /** The dirs being written, for fillStoreDirs to finish, rename and remove: taken once. */
  take(): MadeStoreDirs {
    const made = this.made!;
    this.made = undefined;
    return made;
  }

  /** Stops the writes and removes what they made, unless fillStoreDirs took them up. */
  async drop(): Promise<void> {
    if (!this.made) return;
    const { root } = this.made;
    this.made = undefined;
    await this.fill.stop();
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * Chunks sent to the fill worker ahead of its answers when the writes start early: this thread
 * renders and hashes ~350k answers at 100k machines with a turn of the event loop only every
 * few thousand, and makes the pieces and the manifest, and the worker would otherwise wait for
 * its next chunk. Few: what is still in flight when this thread joins the fill (finish) is
 * the worker's alone to write (8 left this thread idle ~0.6 s at the end at 100k machines).
 */
const EARLY_AHEAD = 3;

/** Hard-links the previous snapshot's copy when it has these contents, else writes; true when written. */
function linkOrWrite(path: string, to: string, all: Contents, hash: string | undefined, previous: Live | undefined): boolean {
  const reusable = previous && hash !== undefined && previous.hashOf(path) === hash;
  if (reusable && tryLink(join(previous.dir, distFile(path)), to)) return false;
  const parts = all.parts?.(path);
  if (parts === undefined) writeFileSync(to, all.get(path)!);
  else writeParts(to, parts);
  return true;
}

/** A new file of these parts, written in order without joining them first (writeFileSync on an fd writes all of each). */
function writeParts(to: string, parts: readonly Part[]): void {
  const fd = openSync(to, 'w');
  try {
    for (const part of parts) {
      if (Buffer.isBuffer(part)) writeFileSync(fd, part);
      else part.file.copyTo(fd, part.offset, part.length);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * After the switch: a store dir the live snapshot links to that a concurrent prune removed
 * (it could not yet see the link) is written again from memory under the same name.
 */
async function repairStore(dir: string, plan: StorePlan, reusedLinks: readonly { group: string; name: string }[] | undefined, all: Contents, hashes: ReadonlyMap<string, string>, origins: Origins, pieces: ReadonlyMap<string, Piece>): Promise<void> {
  const store = join(dirname(dirname(dir)), STORE);
  // The snapshot this build made links what its plan says; only the dirs it reused could be
  // gone. A snapshot reused whole links what `reusedLinks` says (the same tree, so the plan's groups).
  const links = reusedLinks ?? [...plan.groups].filter(([, group]) => group.reused).map(([group, { name }]) => ({ group, name }));
  // One listing of the store, not a stat per link: ~1,800 links at 100k machines, against a
  // store of a few snapshots' worth of dirs (2-4 ms for the listing, 6-11 ms for the stats).
  const present = new Set(readdirSync(store));
  const missing = new Map<string, string>();
  for (const { group, name } of links) if (!present.has(name)) missing.set(group, name);
  if (missing.size === 0) return;
  const paths = (group: string) => plan.groups.get(group)?.files ?? [];
  await fillStoreDirs(store, [...missing].map(([group, name]) => ({ group, name, files: paths(group), piece: pieceOf(pieces, group, paths(group), hashes, origins) })), all, hashes, undefined, () => {});
}

/**
 * A snapshot's links into the store: each group (`ipxe/os`, or a shard `ipxe/uuid/<xx>` one
 * level down in a sharded shape's real directory) and the store dir it names.
 */
async function storeLinks(snapshot: string): Promise<{ group: string; name: string }[]> {
  // Synchronous readdir and readlink, yielding between directories: ~1,800 links per snapshot
  // at 100k machines, read for every kept snapshot by every prune, while the next build runs.
  // A directory's listing is kept (`listings`) while its inode and ctime stay the same.
  const links: { group: string; name: string }[] = [];
  const pending = [{ dir: '', depth: 0 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const listing = listLinks(snapshot, next.dir, next.depth);
    links.push(...listing.links);
    pending.push(...listing.dirs.map((dir) => ({ dir, depth: next.depth + 1 })));
    if (next.depth > 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return links;
}

/** One directory of a snapshot: the store links in it, and the directories storeLinks goes into. */
interface Listing {
  links: { group: string; name: string }[];
  dirs: string[];
}

/**
 * Listings of snapshot directories already read, by path, with the directory's inode and
 * ctime when read: a prune after each edit read ~1,800 links of every kept snapshot again
 * (~9,000 readlinks an edit at 100k machines). A named snapshot does not change, and a
 * directory that does (an entry added, removed or renamed over, its times set) gets a new
 * ctime, which cannot be set back; one whose ctime was less than LISTING_SETTLED_MS old when
 * it was read is not kept, since a change within the same clock tick would not show in it.
 * (Listing a snapshot right after its write, from the links it made, cost one group's edit at
 * 100k groups ~25 ms served: not done.) Forgotten by pruneStore once the snapshot is gone.
 */
const listings = new Map<string, { ino: bigint; ctimeNs: bigint; listing: Listing }>();
export const LISTING_SETTLED_MS = 1000;

function listLinks(snapshot: string, dir: string, depth: number): Listing {
  const path = join(snapshot, dir);
  const info = statSync(path, { bigint: true, throwIfNoEntry: false });
  const kept = listings.get(path);
  if (info && kept && kept.ino === info.ino && kept.ctimeNs === info.ctimeNs) return kept.listing;
  let entries: Dirent[];
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch {
    listings.delete(path);
    return { links: [], dirs: [] };
  }
  const listing: Listing = { links: [], dirs: [] };
  for (const entry of entries) {
    const group = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (depth === 0) {
      if (entry.isDirectory()) listing.dirs.push(group);
      continue;
    }
    if (entry.isDirectory() && depth === 1 && shardKey(entry.name.split('.')) !== undefined) listing.dirs.push(group);
    if (!entry.isSymbolicLink()) continue;
    let name: string | undefined;
    try {
      name = storeNameOf(group, readlinkSync(join(snapshot, group)));
    } catch {
      name = undefined;
    }
    if (name !== undefined) listing.links.push({ group, name });
  }
  const settled = info !== undefined && info.ctimeNs < BigInt(Date.now() - LISTING_SETTLED_MS) * 1_000_000n;
  if (settled && !basename(snapshot).startsWith('.')) listings.set(path, { ino: info.ino, ctimeNs: info.ctimeNs, listing });
  else listings.delete(path);
  return listing;
}

/**
 * Removes store dirs no snapshot links to (staging snapshots included), and scratch dirs of
 * dead builds. The store is listed before the links are read: a store dir a concurrent build
 * makes after the listing is not a candidate, and one made before it is linked already.
 */
async function pruneStore(distPath: string): Promise<void> {
  const store = join(distPath, STORE);
  const names = await readdir(store).catch(() => [] as string[]);
  const revs = join(distPath, SNAPSHOTS);
  const used = new Set<string>();
  const snapshots = new Set<string>();
  // The snapshot this process wrote last links what its plan says (remember): no need to read
  // its ~1,800-2,800 links back (in CPU profiles of 10 edits at 100k machines, storeLinks
  // 218 -> 178 ms: the other kept snapshots' links are still read while under a second old).
  const written = lastWrites.get(dirname(revs)); // keyed as remember() keys it
  for (const snapshot of await readdir(revs)) {
    if (snapshot === ORDER || snapshot.startsWith('.trash-')) continue;
    snapshots.add(snapshot);
    const dir = join(revs, snapshot);
    const prelinked = prelinkedNames(dirname(revs), dir); // made ahead by this process: what it links, or will
    if (written?.dir === dir) for (const { name } of written.plan.groups.values()) used.add(name);
    else if (prelinked) for (const name of prelinked) used.add(name);
    else for (const { name } of await storeLinks(dir)) used.add(name);
  }
  for (const path of listings.keys()) {
    const [snapshot] = relative(revs, path).split(sep);
    if (!snapshot!.startsWith('..') && !snapshots.has(snapshot!)) listings.delete(path);
  }
  // A store dir, then its piece (a piece whose dir is gone goes too).
  const unused = (name: string) => !name.startsWith('.') && !used.has(name.endsWith(PIECE_SUFFIX) ? name.slice(0, -PIECE_SUFFIX.length) : name);
  for (const name of names.filter(unused).sort((a, b) => Number(a.endsWith(PIECE_SUFFIX)) - Number(b.endsWith(PIECE_SUFFIX)))) {
    const trash = join(store, `.trash-${randomBytes(6).toString('hex')}`);
    await rename(join(store, name), trash);
    await rm(trash, { recursive: true, force: true });
  }
  for (const name of names) {
    if (name.startsWith('.trash-') || (name.startsWith('.staging-') && (await deadStaging(store, name)))) await rm(join(store, name), { recursive: true, force: true });
  }
}

function writeError(distPath: string, error: unknown): BootcfgError {
  if (error instanceof BootcfgError) return error;
  return new SourceError(`could not write the build to ${distPath}: ${(error as Error).message}`, {
    hint: 'check that --dist-path is writable and the disk has space; the previous build is still live',
    cause: error,
  });
}

/**
 * Flushes the staging tree to disk: the files written (hard-linked ones are on disk already,
 * from a snapshot synced before it went live) and every directory (which hold the new names).
 * A few: an fsync each, so a one-file change costs a few fsyncs, not a flush of the whole file
 * system. Many: one syncfs(2) (`sync -f`) flushes them all at once, where an fsync per file
 * costs a journal commit each (at 10k machines, 25k files: ~10 s against ~0.3 s on this
 * project's ext4 VM). Without `sync` (a minimal container), fsync each. No files and no
 * directories named: the whole tree is flushed (bootcfg publish copies a tree and asks so).
 */
export async function syncTree(staging: string, files: readonly string[] | FileList, dirs: readonly string[]): Promise<void> {
  const count = 'count' in files ? files.count : files.length;
  const list = () => ('count' in files ? files.list() : files);
  if (count + dirs.length <= SYNC_EACH_MAX && count + dirs.length > 0) {
    await mapLimit(list(), 16, (path) => syncPath(join(staging, path)));
    await mapLimit([...dirs, staging], 16, syncDirectory);
    return;
  }
  const flushed = await new Promise<boolean>((resolve) => {
    execFile('sync', ['-f', staging], { timeout: 600_000 }, (error) => resolve(error === null));
  });
  if (flushed) return;
  await mapLimit(list(), 16, (path) => syncPath(join(staging, path)));
  await mapLimit([...dirs, staging], 16, syncPath);
}

/** Files to sync, listed only when they are synced one by one (a tree of 350k is flushed whole). */
export interface FileList {
  count: number;
  list(): readonly string[];
}

async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A rename is durable once its directory is synced. */
export async function syncDirectory(dir: string): Promise<void> {
  await syncPath(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EINVAL' && error.code !== 'EISDIR') throw error; // some file systems cannot sync a directory
  });
}

/** Atomically repoints dist/current: a new symlink renamed over the old one. */
async function pointCurrentAt(distPath: string, id: string): Promise<void> {
  const current = join(distPath, CURRENT);
  // Synchronous: four calls, and this is the moment the build goes live.
  const info = lstatSync(current, { throwIfNoEntry: false });
  if (info && !info.isSymbolicLink()) {
    throw new SourceError(`${current} exists and is not a symlink`, { hint: 'point --dist-path at a directory bootcfg owns, or remove it' });
  }
  const temp = join(distPath, `.current-${randomBytes(6).toString('hex')}`);
  symlinkSync(join(SNAPSHOTS, id), temp);
  renameSync(temp, current);
  await syncDirectory(distPath);
}

// ---- pruning, by build order --------------------------------------------------------------

/** Records that `id` is the newest build: `revs/.order/<n+1>.<id>`, n the highest recorded. */
function markBuilt(distPath: string, id: string): void {
  // Synchronous: three calls on the way from an edit to its answer, each of which, awaited,
  // waited its turn in libuv's pool (1-30 ms an edit at 100k machines as groups).
  const order = join(distPath, SNAPSHOTS, ORDER);
  mkdirSync(order, { recursive: true });
  const top = Math.max(0, ...marksOf(readdirSync(order)).map((mark) => mark.seq));
  // Two builds racing may take one number: ties are broken by id, either order is right.
  writeFileSync(join(order, `${String(top + 1).padStart(12, '0')}.${id}`), '');
}

interface Mark {
  name: string;
  seq: number;
  id: string;
}

/** The build order, newest first. */
async function readOrder(order: string): Promise<Mark[]> {
  return marksOf(await readdir(order).catch(() => []));
}

/** The build marks among `names` (a listing of `revs/.order`), newest first. */
function marksOf(names: readonly string[]): Mark[] {
  const marks = names.flatMap((name) => {
    const match = /^(\d{1,15})\.(.+)$/.exec(name);
    return match ? [{ name, seq: Number(match[1]), id: match[2]! }] : [];
  });
  return marks.sort((a, b) => b.seq - a.seq || (a.id < b.id ? 1 : -1));
}

/**
 * Removes all snapshots but the live one, the one live before this build, and the newest others
 * by build order (KEEP_PREVIOUS), plus scratch dirs of dead builds. Never by modification time:
 * a clock set back would make the snapshot just replaced look oldest while requests still read
 * it. A snapshot with no order mark (from an older bootcfg) ranks below every marked one.
 * A snapshot is renamed away before it is deleted, so an interrupted delete never leaves a
 * half-empty `revs/<id>` that a later build of the same contents would reuse.
 * Best effort: the new build is already live, and the next build prunes again.
 */
async function pruneSnapshots(distPath: string, builtId: string, previousId: string | undefined): Promise<void> {
  const root = join(distPath, SNAPSHOTS);
  const order = join(root, ORDER);
  const marks = await readOrder(order);
  const names = await readdir(root);
  const snapshots = names.filter((name) => !name.startsWith('.'));
  // Marks first, including a concurrent build's that has no directory yet: it is the newest.
  const ranked = [...new Set([...marks.map((mark) => mark.id), ...snapshots])];
  const live = liveId(distPath);
  const keep = new Set([builtId, ...(live ? [live] : []), ...(previousId ? [previousId] : []), ...ranked.slice(0, KEEP_PREVIOUS + 1)]);
  for (const name of snapshots.filter((name) => !keep.has(name))) {
    const trash = join(root, `.trash-${randomBytes(6).toString('hex')}`);
    await rename(join(root, name), trash);
    await rm(trash, { recursive: true, force: true });
  }
  // One mark per kept snapshot (its newest); marks of removed ones go.
  const newest = new Set<string>();
  for (const mark of marks) {
    if (keep.has(mark.id) && !newest.has(mark.id)) newest.add(mark.id);
    else await rm(join(order, mark.name), { force: true });
  }
  for (const name of names) {
    if (name.startsWith('.trash-') || (name.startsWith('.staging-') && (await deadStaging(root, name)))) await rm(join(root, name), { recursive: true, force: true });
  }
  await pruneStore(distPath);
}

// ---- staging dirs of dead builds -----------------------------------------------------------

/**
 * `<host>-<pid>`: who fills a staging dir, so that a later build can tell one left by a build
 * that died (kill -9, power cut) from one a concurrent build is still filling.
 */
function stagingOwner(): string {
  return `${hostToken()}-${process.pid}`;
}

let token: string | undefined;
/** Pids are comparable only within one pid namespace of one host (and boot, where /proc says). */
function hostToken(): string {
  const read = (get: () => string) => {
    try {
      return get();
    } catch {
      return '';
    }
  };
  token ??= sha256([hostname(), read(() => readlinkSync('/proc/self/ns/pid')), read(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim())].join('\n')).slice(0, 12);
  return token;
}

/** A staging dir whose builder is gone. One from another host or container is given an hour. */
async function deadStaging(root: string, name: string): Promise<boolean> {
  const match = /^\.staging-([0-9a-f]{12})-(\d+)-[0-9a-f]+$/.exec(name);
  const pid = Number(match?.[2]);
  if (match?.[1] === hostToken() && pid > 0) return !processAlive(pid);
  const mtime = await stat(join(root, name)).then((info) => info.mtimeMs, () => undefined);
  return mtime !== undefined && Date.now() - mtime > FOREIGN_STAGING_MS;
}

/** A pid taken by another process since counts as alive: its staging dir waits for it to go. */
function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** exists(), synchronous: one stat on the way from an edit to its answer. */
function existsNow(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
