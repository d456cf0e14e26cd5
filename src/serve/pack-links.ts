// Stage: serve. A snapshot's links into the shared store (write.ts: `ipxe/uuid/<xx>` ->
// `../../../../dirs/<name>`, `ipxe/os` -> `../../../dirs/<name>`), as the answer pack (pack.ts)
// needs them to carry answers from one snapshot's pack to the next: a store dir never changes
// once named, so a link two snapshots share (same path, same target) leads to the same files.
//
// Read defensively: snapshot directories are listed (never a link followed) to LINK_DEPTH
// levels and MAX_LISTED entries, each link read with readlink only, and only a target of
// exactly the form write.ts makes (the right number of `../`, then `dirs/<name>`) counts.
// Anything else is not a group: its files are read as any other.
//
// A store dir removed and written again under its name (write.ts repairStore, after a
// concurrent prune) holds the same bytes with other mtimes. So the pack keeps each store dir's
// identity (device, inode, change time: one stat of dist/dirs/<name>, never through the link:
// storeDirIdentity) as it was when its answers were read, and checks it again once a new pack
// that carried them is live (pack.ts): one that changed is read afresh. Not when the links are
// listed: ~2,800 stats at 100k machines as groups, ~15 ms of every edit's way to its answer.

import { opendirSync, readlinkSync, statSync, type Dir } from 'node:fs';
import { dirname, join } from 'node:path';
import { STORE, storeLink, storeNameOf } from '../build/write.js';

/** Links sit at `kind/shape` or `kind/shape/<shard>`. */
const LINK_DEPTH = 3;
/** Directory entries listed at most (a snapshot has a few thousand: shapes, shards, loose files). */
const MAX_LISTED = 200_000;
/** Groups kept at most (the pack index keeps group ids in 16 bits; 0 is "none"). */
export const MAX_GROUPS = 0xffff;

/** A snapshot's store links: group id (1…count) by link path, and the store dir each leads to. */
export class StoreLinks {
  /** Link path (snapshot-relative, '/') by group id; [0] is unused. */
  readonly paths: string[] = [''];
  /** The link's target by group id: equal means the same store dir, so the same files. */
  readonly targets: string[] = [''];
  /** The store dir's name (under `store`) by group id. */
  readonly names: string[] = [''];
  private readonly ids = new Map<string, number>();

  /** `store` is the snapshot's dist/dirs. */
  constructor(readonly store: string) {}

  get count(): number {
    return this.paths.length - 1;
  }

  /** The group of the link at `path`, or undefined when it is none. */
  idOf(path: string): number | undefined {
    return this.ids.get(path);
  }

  add(path: string, target: string, name: string): void {
    this.ids.set(path, this.paths.length);
    this.paths.push(path);
    this.targets.push(target);
    this.names.push(name);
  }

  /** The store dir of a group (absolute). */
  dirOf(group: number): string {
    return join(this.store, this.names[group]!);
  }
}

/** The store links of the snapshot at `dir` (dist/revs/<id>, its store dist/dirs). */
export function readStoreLinks(dir: string): StoreLinks {
  const links = new StoreLinks(storeOf(dir));
  const pending: Array<{ rel: string; depth: number }> = [{ rel: '', depth: 0 }];
  let listed = 0;
  while (pending.length > 0) {
    const { rel, depth } = pending.pop()!;
    const opened = openDir(rel === '' ? dir : join(dir, rel));
    if (!opened) continue;
    try {
      for (let entry = next(opened); entry !== null && ++listed <= MAX_LISTED; entry = next(opened)) {
        const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
        if (entry.isDirectory() && depth + 1 < LINK_DEPTH) pending.push({ rel: path, depth: depth + 1 });
        if (!entry.isSymbolicLink() || depth === 0 || links.count >= MAX_GROUPS) continue;
        const target = targetOf(dir, path);
        const name = target === undefined ? undefined : storeNameOf(path, target);
        if (name !== undefined) links.add(path, target!, name);
      }
    } finally {
      opened.closeSync();
    }
  }
  return links;
}

/**
 * The store links of the snapshot at `dir` as the write in this process made them (`[group,
 * store dir name]`, src/build/deltas.ts), without reading them back: ~2,800 readlinks at 100k
 * machines as groups. The same StoreLinks readStoreLinks would give, but in the write's order,
 * which the pack does not depend on.
 */
export function writtenStoreLinks(dir: string, names: Iterable<readonly [string, string]>): StoreLinks {
  const links = new StoreLinks(storeOf(dir));
  for (const [group, name] of names) {
    if (links.count >= MAX_GROUPS) break;
    links.add(group, storeLink(group, name), name);
  }
  return links;
}

function storeOf(snapshot: string): string {
  return join(dirname(dirname(snapshot)), STORE);
}

/** The target of the link at `path` under `dir`, if it is one. */
function targetOf(dir: string, path: string): string | undefined {
  try {
    return readlinkSync(join(dir, path));
  } catch {
    return undefined;
  }
}

/** A store dir's identity (device, inode, change time; one stat, not through any link), or undefined when no directory is there. */
export function storeDirIdentity(path: string): string | undefined {
  try {
    const stats = statSync(path, { bigint: true, throwIfNoEntry: false });
    return stats?.isDirectory() ? `${stats.dev}:${stats.ino}:${stats.ctimeNs}` : undefined;
  } catch {
    return undefined;
  }
}

function openDir(path: string): Dir | undefined {
  try {
    return opendirSync(path, { bufferSize: 256 });
  } catch {
    return undefined;
  }
}

function next(dir: Dir): ReturnType<Dir['readSync']> {
  try {
    return dir.readSync();
  } catch {
    return null;
  }
}
