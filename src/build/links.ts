// Hard links from the previous snapshot's store dirs into new ones, on two threads when there
// are many. An edit of 1% of a 100k-machine fleet touches nearly every shard, so its build
// links ~250k unchanged answers into fresh store dirs: ~2 s of link(2) on one thread, which is
// most of that build. On tmpfs and ext4 the kernel makes links in different directories side
// by side, so a worker thread takes half of them (measured here: 120k links in 300 dirs, 578 ms
// on one thread, 333 ms on two).
//
// A link that fails (the previous snapshot lost the file: pruned, edited by hand) is reported
// back, and the caller writes that answer from memory instead. A worker that cannot start or
// dies leaves its half to this thread; a link it made before dying is whole (link(2) is atomic)
// and is kept, never written over: writing to it would write through to the old snapshot's file.

import { existsSync, linkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { forEachYielding } from './pool.js';

/** Below this many links they are all made in this thread: a worker takes ~20-40 ms to start. */
export const LINK_THREAD_MIN = 20_000;

/** Links to make from one directory into another: each of `names`, from `from/<name>` to `to/<name>`. */
export interface LinkBatch {
  from: string;
  to: string;
  names: string[];
}

/**
 * A batch as the caller holds it: its names made one at a time when needed, so a build with
 * 250k links does not hold 250k name strings at once (the worker's are made a chunk at a time).
 */
export interface LinkSource {
  from: string;
  to: string;
  count: number;
  name(i: number): string;
}

/** Links sent to the worker in one message. */
const LINK_CHUNK = 8192;

/** A link by its batch and its name's index there. */
export type LinkRef = [batch: number, name: number];

const WORKER = fileURLToPath(new URL('./link-worker.js', import.meta.url));

/** Makes every link of `sources`; resolves to those that could not be made. */
export async function linkAll(sources: readonly LinkSource[], tick: () => void = () => {}): Promise<LinkRef[]> {
  const total = sources.reduce((sum, source) => sum + source.count, 0);
  if (total < LINK_THREAD_MIN) return linkHere(sources, 0, tick);
  // Split by batches (whole directories), about half the links each.
  let split = 0;
  for (let count = 0; split < sources.length && count < total / 2; split++) count += sources[split]!.count;
  const theirs = linkApart(sources.slice(split));
  const mine = await linkHere(sources.slice(0, split), 0, tick);
  const failed = await theirs;
  for (const source of sources.slice(split)) for (let i = 0; i < source.count; i++) tick();
  if (failed === 'died') return [...mine, ...(await linkHere(sources.slice(split), split, () => {}, true))];
  return [...mine, ...failed.map(([batch, name]): LinkRef => [batch + split, name])];
}

/** Makes the links in this thread, yielding between some; with `resume`, one already there counts as made. */
async function linkHere(sources: readonly LinkSource[], offset: number, tick: () => void, resume = false): Promise<LinkRef[]> {
  const failed: LinkRef[] = [];
  for (const [b, { from, to, count, name }] of sources.entries()) {
    await forEachYielding(upTo(count), (i) => {
      tick();
      const file = name(i);
      const target = join(to, file);
      if (resume && existsSync(target)) return;
      if (!tryLink(join(from, file), target)) failed.push([b + offset, i]);
    });
  }
  return failed;
}

function* upTo(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}

/**
 * The links on a worker thread: those that failed, or 'died' when it did not answer. Sent a
 * chunk at a time, the next when the last is done, so that neither thread holds the names of
 * more than two chunks (the worker's half of a 1% edit at 100k is ~125k links).
 */
function linkApart(sources: readonly LinkSource[]): Promise<LinkRef[] | 'died'> {
  const chunks: number[][] = []; // source indexes, whole dirs, ~LINK_CHUNK links each
  for (const [b, { count }] of sources.entries()) {
    const last = chunks.at(-1);
    if (last && last.reduce((sum, i) => sum + sources[i]!.count, 0) + count <= LINK_CHUNK) last.push(b);
    else chunks.push([b]);
  }
  let worker: Worker;
  try {
    worker = new Worker(WORKER);
  } catch {
    return Promise.resolve('died');
  }
  return new Promise((resolve) => {
    const failed: LinkRef[] = [];
    let next = 0;
    let settled = false;
    const settle = (result: LinkRef[] | 'died') => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      resolve(result);
    };
    const send = () => {
      if (next === chunks.length) return settle(failed);
      const chunk = chunks[next++]!;
      const batches = chunk.map((b): LinkBatch => {
        const { from, to, count, name } = sources[b]!;
        return { from, to, names: Array.from({ length: count }, (_, i) => name(i)) };
      });
      worker.once('message', (refs: LinkRef[]) => {
        for (const [batch, name] of refs) failed.push([chunk[batch]!, name]);
        send();
      });
      worker.postMessage(batches);
    };
    worker.once('error', () => settle('died'));
    worker.once('exit', () => settle('died'));
    send();
  });
}

/** One link; false when it cannot be made (the caller writes the file instead). */
export function tryLink(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch {
    return false;
  }
}

/** The worker's side: makes every link asked for, answers with those that failed. */
export function linkRequested(batches: readonly LinkBatch[]): LinkRef[] {
  const failed: LinkRef[] = [];
  for (const [b, { from, to, names }] of batches.entries()) {
    for (const [i, name] of names.entries()) if (!tryLink(join(from, name), join(to, name))) failed.push([b, i]);
  }
  return failed;
}
