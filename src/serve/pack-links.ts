// Stage: serve. A snapshot's links into the shared store (write.ts: `ipxe/uuid/<xx>` ->
// `../../../../dirs/<name>`, `ipxe/os` -> `../../../dirs/<name>`), as the answer pack (pack.ts)
// needs them to carry answers from one snapshot's pack to the next: a store dir never changes
// once named, so a link two snapshots share (same path, same target) leads to the same files.
//
// Read defensively: snapshot directories are listed (never a link followed) to LINK_DEPTH
// levels and MAX_LISTED entries, each link read with readlink only, and only a target of
// exactly the form write.ts makes (the right number of `../`, then `dirs/<name>`) counts.
// Anything else is not a group: its files are read as any other. The store dir's own identity
// (device, inode, change time: one stat of dist/dirs/<name>, never through the link) is kept
// with the name, so a store dir removed and written again under its name (write.ts repairStore)
// is not taken for the one whose answers a pack holds.

import { opendirSync, readlinkSync, statSync, type Dir } from 'node:fs';
import { dirname, join } from 'node:path';
import { STORE, storeLink, storeNameOf } from '../build/write.js';

/** Links sit at `kind/shape` or `kind/shape/<shard>`. */
const LINK_DEPTH = 3;
/** Directory entries listed at most (a snapshot has a few thousand: shapes, shards, loose files). */
const MAX_LISTED = 200_000;
/** Groups kept at most (the pack index keeps group ids in 16 bits; 0 is "none"). */
export const MAX_GROUPS = 0xffff;

/** A snapshot's store links: group id (1…count) by link path, and what each leads to. */
export class StoreLinks {
  /** Link path (snapshot-relative, '/') by group id; [0] is unused. */
  readonly paths: string[] = [''];
  /** The link's target and the store dir's identity, by group id: equal means the same files. */
  readonly signatures: string[] = [''];
  private readonly ids = new Map<string, number>();

  get count(): number {
    return this.paths.length - 1;
  }

  /** The group of the link at `path`, or undefined when it is none. */
  idOf(path: string): number | undefined {
    return this.ids.get(path);
  }

  add(path: string, signature: string): void {
    this.ids.set(path, this.paths.length);
    this.paths.push(path);
    this.signatures.push(signature);
  }
}

/** The store links of the snapshot at `dir` (dist/revs/<id>, its store dist/dirs). */
export function readStoreLinks(dir: string): StoreLinks {
  const links = new StoreLinks();
  const store = join(dirname(dirname(dir)), STORE);
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
        const signature = signatureOf(dir, store, path);
        if (signature !== undefined) links.add(path, signature);
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
 * machines as groups. Each store dir is still stat'ed for its identity, as readStoreLinks does:
 * one removed and written again under its name (repairStore, after a concurrent prune) has
 * other mtimes, and must not be carried. The same StoreLinks readStoreLinks would give, but in
 * the write's order, which the pack does not depend on.
 */
export function writtenStoreLinks(dir: string, names: Iterable<readonly [string, string]>): StoreLinks {
  const links = new StoreLinks();
  const store = join(dirname(dirname(dir)), STORE);
  for (const [group, name] of names) {
    if (links.count >= MAX_GROUPS) break;
    const signature = identified(store, name, storeLink(group, name));
    if (signature !== undefined) links.add(group, signature);
  }
  return links;
}

/** The link at `path` as target and store identity, if it is a store link write.ts made. */
function signatureOf(dir: string, store: string, path: string): string | undefined {
  let target: string;
  try {
    target = readlinkSync(join(dir, path));
  } catch {
    return undefined;
  }
  const name = storeNameOf(path, target);
  return name === undefined ? undefined : identified(store, name, target);
}

/** A link's signature: its target and its store dir's identity (one stat, never through the link); undefined when that is no directory. */
function identified(store: string, name: string, target: string): string | undefined {
  try {
    const stats = statSync(join(store, name), { bigint: true, throwIfNoEntry: false });
    return stats?.isDirectory() ? `${target}\n${stats.dev}:${stats.ino}:${stats.ctimeNs}` : undefined;
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
