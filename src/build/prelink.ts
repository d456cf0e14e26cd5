// The next snapshot's links to the store, made while a change settles. A snapshot links every
// store dir (docs/dist-layout.md): ~1,800 symlinks at 100k machines, ~2,800 as groups, ~6 µs
// each on tmpfs, and an edit changes a handful of them. serve --watch waits 20 ms of quiet
// after a JSON edit (300 ms for the rest) before it builds, and serve --repo waits for git's
// fetch: in that time this makes a staging snapshot that links what the live snapshot, the one
// this process wrote last, links. The next write (write.ts: fillSnapshot) takes it up and
// changes only the links its plan changes; a write that finds none, or one made from another
// snapshot than the live one, makes its links itself, as before.
//
// The staging dir is named and placed as a write's own (`revs/.staging-<host>-<pid>-<rand>`):
// a concurrent prune counts the store dirs it links as used (this process's prune from
// `prelinkedNames`, another's by reading its links), and a build that finds it left by a
// process that died removes it.

import { mkdirSync, symlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { forEachYielding } from './pool.js';

/** A staging snapshot linking the store dirs of the snapshot at `base`. */
export interface Prelinked {
  dir: string;
  /** The snapshot it links like: only a write whose live snapshot this is may take it. */
  base: string;
  /** Each group (`ipxe/uuid/f6`, `ipxe/arch.os`) → the store dir its link names. */
  names: ReadonlyMap<string, string>;
  /** Whether every link was made; false once it failed (and was removed). */
  made: Promise<boolean>;
}

/** At most one per dist directory (keyed as write.ts keys its memory of the last write). */
const prelinked = new Map<string, Prelinked>();

/** The snapshot the staging snapshot made ahead for `key` links like, if there is one (whole or on its way). */
export function prelinkedBase(key: string): string | undefined {
  return prelinked.get(key)?.base;
}

/**
 * Starts making `dir` (a staging path under the dist's `revs/`) with a link at each group to
 * its store dir in `names`, as `linkOf(group, name)` spells it. One made ahead for `key` from
 * another base is removed first; the caller looks at prelinkedBase before it builds `names`
 * (a rack's edit is a thousand events: each should cost a look-up).
 */
export function startPrelink(key: string, dir: string, base: string, names: ReadonlyMap<string, string>, linkOf: (group: string, name: string) => string): void {
  const old = prelinked.get(key);
  if (old?.base === base) return;
  if (old) void discard(old);
  const made = (async () => {
    try {
      for (const parent of parentsOf(names.keys())) mkdirSync(parent === '' ? dir : `${dir}/${parent}`, { recursive: true });
      await forEachYielding(names, ([group, name]) => symlinkSync(linkOf(group, name), `${dir}/${group}`)); // serve answers between
      return true;
    } catch {
      if (prelinked.get(key)?.dir === dir) prelinked.delete(key);
      await rm(dir, { recursive: true, force: true }).catch(() => {});
      return false;
    }
  })();
  prelinked.set(key, { dir, base, names, made });
}

/**
 * The prelinked staging snapshot of `key` if it was made from `base` (the write's live
 * snapshot) and is whole; it is the caller's from then on. One made from another snapshot is
 * removed.
 */
export async function takePrelinked(key: string, base: string | undefined): Promise<Prelinked | undefined> {
  const found = prelinked.get(key);
  if (!found) return undefined;
  prelinked.delete(key);
  if (found.base !== base) {
    await discard(found);
    return undefined;
  }
  return (await found.made) ? found : undefined;
}

/** The store dirs a staging snapshot of `key` made ahead links (or will): its prune keeps them. */
export function prelinkedNames(key: string, dir: string): Iterable<string> | undefined {
  const found = prelinked.get(key);
  return found?.dir === dir ? found.names.values() : undefined;
}

/** Removes the staging snapshot made ahead for `key`, if any, once those being removed are gone (serve stopping). */
export async function dropPrelinked(key: string): Promise<void> {
  const found = prelinked.get(key);
  prelinked.delete(key);
  if (found) void discard(found);
  await Promise.all(discarding);
}

/** Removals under way: dropPrelinked waits for them. */
const discarding = new Set<Promise<void>>();

function discard(found: Prelinked): Promise<void> {
  const removed = (async () => {
    await found.made;
    await rm(found.dir, { recursive: true, force: true }).catch(() => {});
  })();
  discarding.add(removed);
  void removed.then(() => discarding.delete(removed));
  return removed;
}

/**
 * The directories holding `paths` (snapshot-relative, `/`-separated, no `.` or `..`), each once
 * ('' for the snapshot itself): a few dozen for thousands of links, found without path.join.
 */
export function parentsOf(paths: Iterable<string>): string[] {
  const parents = new Set<string>();
  for (const path of paths) {
    const slash = path.lastIndexOf('/');
    parents.add(slash < 0 ? '' : path.slice(0, slash));
  }
  return [...parents];
}
