// What this process knows of how a snapshot it wrote differs from the one before it: the dist
// files whose contents differ (added and removed ones included), and those written again with
// the same contents (a link that failed: a new mtime), every other file the same. An incremental write (write.ts)
// records it before the new snapshot goes live; the answer pack of a server in the same process
// (serve --watch, serve --repo: src/serve/pack.ts) reads it to carry the unchanged answers of a
// changed store dir over from the old pack instead of reading them all again. At 100k machines
// a 1% edit touches nearly every store dir, and reading their ~350k answers again took ~8 s of
// the serving thread after each such edit.
//
// Keyed by snapshot ids (`<revision>.<hash of the manifest>`): an id names one tree's contents,
// whichever dist directory holds it, so a delta never describes a pair it was not made for. A
// server that skipped snapshots joins the deltas between. serve --workers' primary passes each
// delta on to its workers as it is recorded, before the snapshot goes live. Bounded: a few
// deltas, each of at most MAX_FILES files (a larger change is read as before: it is a full
// build's worth anyway).

/** Deltas kept (the newest): a server is at most a snapshot or two behind its builder. */
const MAX_KEPT = 4;
/** Files one delta names at most. */
const MAX_FILES = 200_000;

const deltas = new Map<string, { from: string; files: ReadonlySet<string>; links?: WrittenLinks }>();

/**
 * The store links (`[group, store dir name]`, write.ts) of the snapshot at `dir` (absolute), as
 * the write made them: the pack takes them instead of reading ~2,800 links back from disk at 100k
 * machines (src/serve/pack-links.ts). Only for a snapshot the write itself put in place.
 */
export interface WrittenLinks {
  dir: string;
  names: [string, string][];
}

/** A delta as it is passed on: serve --workers' primary sends each to its workers (src/serve/workers.ts). */
export interface Delta {
  from: string;
  to: string;
  files: string[];
  links?: WrittenLinks;
}

const listeners = new Set<(delta: Delta) => void>();

/** Records that snapshot `to` differs from snapshot `from` only in `files` (dist-relative), and its store links when known. */
export function recordDelta(from: string, to: string, files: Iterable<string>, links?: WrittenLinks): void {
  deltas.delete(to);
  const set = new Set<string>();
  for (const file of files) {
    set.add(file);
    if (set.size > MAX_FILES) return;
  }
  if (deltas.size >= MAX_KEPT) deltas.delete(deltas.keys().next().value!);
  // Links only for the newest snapshot: a server opens the newest (~2,800 pairs at 100k groups each).
  for (const kept of deltas.values()) kept.links = undefined;
  deltas.set(to, { from, files: set, links });
  for (const listener of listeners) listener({ from, to, files: [...set], ...(links && { links }) });
}

/** The store links this process wrote for snapshot `to` at `dir` (absolute), if it recorded them and wrote none since. */
export function linksWritten(to: string, dir: string): WrittenLinks['names'] | undefined {
  const links = deltas.get(to)?.links;
  return links?.dir === dir ? links.names : undefined;
}

/** Calls `listener` with every delta recorded from now on, until the returned function is called. */
export function onDelta(listener: (delta: Delta) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * The dist files whose contents differ between snapshots `from` and `to` (ids), if this
 * process wrote `to` from `from`, directly or through the snapshots between; else undefined.
 */
export function deltaBetween(from: string, to: string): ReadonlySet<string> | undefined {
  const steps: ReadonlySet<string>[] = [];
  for (let at = to; at !== from; ) {
    const step = deltas.get(at);
    if (!step || steps.length >= MAX_KEPT) return undefined;
    steps.push(step.files);
    at = step.from;
  }
  if (steps.length <= 1) return steps[0] ?? new Set();
  const joined = new Set<string>();
  for (const files of steps) for (const file of files) joined.add(file);
  return joined.size > MAX_FILES ? undefined : joined;
}
