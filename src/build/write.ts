// Stage 4, write: output files → a new immutable snapshot under dist/revs/, then one atomic
// rename of the dist/current symlink. A server resolving a request inside one snapshot answers
// wholly from one build; a failed build leaves current and every snapshot as they were.
//
// Only what changed is written: a file whose hash matches the previous snapshot's manifest is
// hard-linked from it (no bytes copied). A snapshot with identical contents is reused as is.

import { createHash, randomBytes } from 'node:crypto';
import { linkSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SourceError } from '../compile/errors.js';
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
/** Snapshots kept besides the live one, so requests still reading an older one finish. */
const KEEP_PREVIOUS = 2;

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function writeSnapshot(distPath: string, files: ReadonlyMap<string, Buffer>, meta: SnapshotMeta, progress?: Progress): Promise<WriteResult> {
  progress?.('write', 0, files.size);
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
  if (!(await exists(dir))) {
    await fillSnapshot(dir, all, hashes, previous, progress);
  } else {
    counts.written = 0; // the same tree was built before: reuse it, newest again for pruning
    const now = new Date();
    await utimes(dir, now, now);
  }
  await pointCurrentAt(distPath, id);
  await pruneSnapshots(distPath, id).catch(() => {}); // see pruneSnapshots: best effort
  return { dir, ...counts };
}

/** The live snapshot's manifest and directory, if dist holds a build. */
export async function readLiveManifest(distPath: string): Promise<{ dir: string; manifest: Manifest } | undefined> {
  const target = await readlink(join(distPath, CURRENT)).catch(() => undefined);
  if (target === undefined) return undefined;
  const dir = join(distPath, target);
  const text = await readFile(join(dir, MANIFEST_FILE), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : { dir, manifest: JSON.parse(text) as Manifest };
}

function diffCounts(next: ReadonlyMap<string, string>, prev: Record<string, string> | undefined): { written: number; unchanged: number; removed: number } {
  let unchanged = 0;
  for (const [path, hash] of next) if (prev?.[path] === hash) unchanged++;
  const removed = prev ? Object.keys(prev).filter((path) => !next.has(path)).length : 0;
  return { written: next.size - unchanged, unchanged, removed };
}

async function fillSnapshot(dir: string, all: ReadonlyMap<string, Buffer>, hashes: ReadonlyMap<string, string>, previous: { dir: string; manifest: Manifest } | undefined, progress?: Progress): Promise<void> {
  const staging = join(dirname(dir), `.staging-${randomBytes(6).toString('hex')}`);
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
    await rename(staging, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another build of the same contents finished first: its snapshot is this one.
      if (error.code !== 'EEXIST' && error.code !== 'ENOTEMPTY') throw error;
      await rm(staging, { recursive: true, force: true });
    });
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw new SourceError(`could not write the build to ${dirname(dirname(dir))}: ${(error as Error).message}`, {
      hint: 'check that --dist-path is writable and the disk has space; the previous build is still live',
      cause: error,
    });
  }
}

function tryLink(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch {
    return false; // the previous snapshot lost the file (pruned, edited by hand): write it
  }
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
}

/**
 * Removes all but the live snapshot and the KEEP_PREVIOUS newest others, plus stale staging
 * and trash dirs. A snapshot is renamed away before it is deleted, so an interrupted delete
 * never leaves a half-empty `revs/<id>` that a later build of the same contents would reuse.
 * Best effort: the new build is already live, and the next build prunes again.
 */
async function pruneSnapshots(distPath: string, liveId: string): Promise<void> {
  const root = join(distPath, SNAPSHOTS);
  const names = await readdir(root);
  const dated = await Promise.all(names.map(async (name) => ({ name, mtime: await stat(join(root, name)).then((s) => s.mtimeMs, () => 0) })));
  const scratch = (name: string) => name.startsWith('.staging-') || name.startsWith('.trash-');
  const others = dated.filter((s) => s.name !== liveId && !scratch(s.name)).sort((a, b) => b.mtime - a.mtime);
  const stale = dated.filter((s) => scratch(s.name) && (s.name.startsWith('.trash-') || Date.now() - s.mtime > 3600_000));
  for (const old of others.slice(KEEP_PREVIOUS)) {
    const trash = join(root, `.trash-${randomBytes(6).toString('hex')}`);
    await rename(join(root, old.name), trash);
    await rm(trash, { recursive: true, force: true });
  }
  for (const old of stale) await rm(join(root, old.name), { recursive: true, force: true });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
