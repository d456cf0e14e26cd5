// Stage 4, write: output files → a new immutable snapshot under dist/revs/, then one atomic
// rename of the dist/current symlink. A server resolving a request inside one snapshot answers
// wholly from one build; a failed build leaves current and every snapshot as they were.
//
// Only what changed is written: a file whose hash matches the previous snapshot's manifest is
// hard-linked from it (no bytes copied). A snapshot with identical contents is reused as is.

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { BootcfgError, SourceError } from '../compile/errors.js';
import { MANIFEST_FILE, REVISION_FILE } from '../compile/outputs.js';
import { forEachYielding, mapLimit } from './pool.js';
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

/** What a snapshot's manifest says besides its files. */
export type SnapshotMeta = Omit<Manifest, 'files'>;

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
/** A staging dir whose builder cannot be checked (another host or container) is left this long. */
const FOREIGN_STAGING_MS = 3600_000;

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function writeSnapshot(distPath: string, files: ReadonlyMap<string, Buffer>, meta: SnapshotMeta, progress?: Progress): Promise<WriteResult> {
  progress?.('write', 0, files.size);
  const previousId = await liveId(distPath);
  const previous = await readLiveManifest(distPath);
  const hashes = new Map([...files].map(([path, content]) => [path, sha256(content)]));
  const manifest: Manifest = { revision: meta.revision, source: meta.source, files: Object.fromEntries(hashes), origins: meta.origins, groups: meta.groups };
  const all = new Map(files);
  all.set(REVISION_FILE, Buffer.from(`${meta.revision}\n`));
  all.set(MANIFEST_FILE, Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`));

  // `<revision>.<hash of the whole tree>`: the revision leads so nginx can name it in a header;
  // the hash tells apart two builds of one commit with different templates or bootcfg versions.
  if (!/^[0-9A-Za-z_-]+$/.test(meta.revision)) throw new Error(`bug: revision ${JSON.stringify(meta.revision)} is not a safe directory name`);
  const id = `${meta.revision}.${sha256(all.get(MANIFEST_FILE)!).slice(0, 16)}`;
  const dir = join(distPath, SNAPSHOTS, id);
  const counts = diffCounts(hashes, previous?.manifest.files);
  try {
    // Ordered before it exists: a concurrent build pruning meanwhile counts it among the newest.
    await markBuilt(distPath, id);
    if (await exists(dir)) counts.written = 0; // the same tree was built before: reuse it
    else await fillSnapshot(dir, all, hashes, previous, progress);
    await pointCurrentAt(distPath, id);
    // A concurrent prune may have taken the reused snapshot just before the switch: rebuild it.
    if (!(await exists(dir))) await fillSnapshot(dir, all, hashes, undefined, progress);
  } catch (error) {
    throw writeError(distPath, error);
  }
  await pruneSnapshots(distPath, id, previousId).catch(() => {}); // see pruneSnapshots: best effort
  return { dir, ...counts };
}

/**
 * The live snapshot's manifest and directory, if dist holds a build. A manifest that cannot be
 * read or parsed (a power cut, a hand edit) counts as none: the next build writes everything.
 */
export async function readLiveManifest(distPath: string): Promise<{ dir: string; manifest: Manifest } | undefined> {
  const id = await liveId(distPath);
  if (id === undefined) return undefined;
  const dir = join(distPath, SNAPSHOTS, id);
  const text = await readFile(join(dir, MANIFEST_FILE), 'utf8').catch(() => undefined);
  const manifest = text === undefined ? undefined : parseManifest(text);
  return manifest && { dir, manifest };
}

/** The live snapshot's name: `current` → `revs/<id>`; anything else (absolute, `..`) is not a snapshot. */
async function liveId(distPath: string): Promise<string | undefined> {
  const target = await readlink(join(distPath, CURRENT)).catch(() => undefined);
  return target === undefined ? undefined : /^revs\/([^/.][^/]*)$/.exec(target)?.[1];
}

function parseManifest(text: string): Manifest | undefined {
  try {
    const value = JSON.parse(text) as Partial<Manifest> | null;
    const files = value?.files;
    if (typeof value?.revision !== 'string' || typeof value.source !== 'string' || typeof files !== 'object' || files === null || Array.isArray(files)) return undefined;
    if (!Object.values(files).every((hash) => typeof hash === 'string')) return undefined;
    return value as Manifest;
  } catch {
    return undefined;
  }
}

function diffCounts(next: ReadonlyMap<string, string>, prev: Record<string, string> | undefined): { written: number; unchanged: number; removed: number } {
  let unchanged = 0;
  for (const [path, hash] of next) if (prev && Object.hasOwn(prev, path) && prev[path] === hash) unchanged++;
  const removed = prev ? Object.keys(prev).filter((path) => !next.has(path)).length : 0;
  return { written: next.size - unchanged, unchanged, removed };
}

/**
 * Writes the snapshot under a staging name, makes it durable, then renames it into place: after
 * a power cut, a snapshot under its final name (and so `current`) is complete, never empty files.
 */
async function fillSnapshot(dir: string, all: ReadonlyMap<string, Buffer>, hashes: ReadonlyMap<string, string>, previous: { dir: string; manifest: Manifest } | undefined, progress?: Progress): Promise<void> {
  const staging = join(dirname(dir), `.staging-${stagingOwner()}-${randomBytes(6).toString('hex')}`);
  try {
    const parents = [...new Set([...all.keys()].map((path) => dirname(join(staging, path))))];
    await mapLimit(parents, 16, (parent) => mkdir(parent, { recursive: true }));
    let done = 0;
    await forEachYielding(all, ([path, content]) => {
      if (++done % 1000 === 0) progress?.('write', done, all.size);
      const reusable = previous && hashes.has(path) && previous.manifest.files[path] === hashes.get(path);
      if (reusable && tryLink(join(previous.dir, path), join(staging, path))) return;
      writeFileSync(join(staging, path), content);
    });
    await syncTree(staging, [...all.keys()], parents);
    await rename(staging, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another build of the same contents finished first: its snapshot is this one.
      if (error.code !== 'EEXIST' && error.code !== 'ENOTEMPTY') throw error;
      await rm(staging, { recursive: true, force: true });
    });
    await syncDirectory(dirname(dir));
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

function writeError(distPath: string, error: unknown): BootcfgError {
  if (error instanceof BootcfgError) return error;
  return new SourceError(`could not write the build to ${distPath}: ${(error as Error).message}`, {
    hint: 'check that --dist-path is writable and the disk has space; the previous build is still live',
    cause: error,
  });
}

function tryLink(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch {
    return false; // the previous snapshot lost the file (pruned, edited by hand): write it
  }
}

/**
 * Flushes the staging tree to disk. One syncfs(2) (`sync -f`) flushes every file and directory
 * in it at once; an fsync per file costs a journal commit each (at 10k machines, 25k files: ~10 s
 * against ~0.3 s on this project's ext4 VM). Without `sync` (a minimal container), fsync each.
 */
export async function syncTree(staging: string, files: readonly string[], dirs: readonly string[]): Promise<void> {
  const flushed = await new Promise<boolean>((resolve) => {
    execFile('sync', ['-f', staging], { timeout: 600_000 }, (error) => resolve(error === null));
  });
  if (flushed) return;
  await mapLimit(files, 16, (path) => syncPath(join(staging, path)));
  await mapLimit([...dirs, staging], 16, syncPath);
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
  const info = await stat(current).catch(() => undefined);
  if (info && !(await readlink(current).then(() => true, () => false))) {
    throw new SourceError(`${current} exists and is not a symlink`, { hint: 'point --dist-path at a directory bootcfg owns, or remove it' });
  }
  const temp = join(distPath, `.current-${randomBytes(6).toString('hex')}`);
  await symlink(join(SNAPSHOTS, id), temp);
  await rename(temp, current);
  await syncDirectory(distPath);
}

// ---- pruning, by build order --------------------------------------------------------------

/** Records that `id` is the newest build: `revs/.order/<n+1>.<id>`, n the highest recorded. */
async function markBuilt(distPath: string, id: string): Promise<void> {
  const order = join(distPath, SNAPSHOTS, ORDER);
  await mkdir(order, { recursive: true });
  const top = Math.max(0, ...(await readOrder(order)).map((mark) => mark.seq));
  // Two builds racing may take one number: ties are broken by id, either order is right.
  await writeFile(join(order, `${String(top + 1).padStart(12, '0')}.${id}`), '');
}

interface Mark {
  name: string;
  seq: number;
  id: string;
}

/** The build order, newest first. */
async function readOrder(order: string): Promise<Mark[]> {
  const names = await readdir(order).catch(() => []);
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
  const live = await liveId(distPath);
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
