// New store dirs filled: unchanged answers hard-linked from the previous snapshot's store dirs,
// the others written from memory, on two threads when there are many.
//
// An edit of 1% of a 100k-machine fleet touches nearly every shard, so its build links ~250k
// unchanged answers into fresh store dirs; a full build writes all 350k answers. On one thread
// that was ~2 s of link(2), and ~9 s of open/write/close, most of each build. On tmpfs and ext4
// the kernel makes files in different directories side by side, so a worker thread takes about
// half of the dirs (measured here: 120k links in 300 dirs, 578 ms on one thread and 333 ms on
// two; 100k writes of 700 bytes in 400 dirs, ~1,000 ms on one and ~550 ms on two).
//
// A link that fails (the previous snapshot lost the file: pruned, edited by hand) is reported
// back, and the caller writes that answer from memory instead. A write that fails fails the
// fill, as it would on this thread. A worker that cannot start or dies leaves its part to this
// thread; a link it made before dying is whole (link(2) is atomic) and is kept, never written
// over: writing to it would write through to the old snapshot's file. A file it was writing is
// written again whole.

import { existsSync, linkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { forEachYielding } from './pool.js';

/** Below this much work (links, and writes counted twice) it is all done in this thread: a worker takes ~20-40 ms to start. */
export const FILL_THREAD_MIN = 20_000;

/**
 * The worker's young generation, in MB. It receives names and contents a chunk at a time and
 * keeps nothing, but left to V8's default its young generation grew as the main thread's does:
 * ~35 MB of serve's peak in a 1% edit at 100k machines (by hand, 321-325 MB with it, 284 MB
 * without the worker), and 285-287 MB with this bound; served as fast (docs/BENCHMARKS.md).
 */
const WORKER_YOUNG_MB = 4;

/** What a write costs against a link (open, write and close against one link(2); measured above). */
const WRITE_WEIGHT = 2;

/**
 * One new store dir as the caller holds it: `links` names to link from `from/<name>` to
 * `to/<name>`, and `writes` names to write at `to/<name>`. Names and contents are made one at
 * a time when needed, so a build does not hold 350k name strings or a second copy of its
 * answers at once (the worker's are made a chunk at a time). Every parent directory under
 * `to` exists already.
 */
export interface DirFill {
  from: string;
  to: string;
  links: number;
  linkName(i: number): string;
  writes: number;
  writeName(i: number): string;
  content(i: number): Uint8Array;
}

/** A chunk of one dir's work as the worker gets it: its writes' contents one after another in `data`. */
export interface FillBatch {
  from: string;
  to: string;
  links: string[];
  writes: string[];
  sizes: number[];
  data: ArrayBuffer;
}

/** The worker's answer to a chunk: links it could not make (by batch and index), or the write that failed. */
export type FillReply = { failed: LinkRef[] } | { error: { message: string; code?: string; path?: string } };

/** Work sent to the worker in one message (one dir is never split). */
const FILL_CHUNK = 8192;

/** A link by its dir and its name's index there. */
export type LinkRef = [dir: number, link: number];

const WORKER = fileURLToPath(new URL('./fill-worker.js', import.meta.url));

const weight = (dir: DirFill) => dir.links + WRITE_WEIGHT * dir.writes;

/** Makes every link and writes every file of `dirs`; resolves to the links that could not be made. */
export async function fillAll(dirs: readonly DirFill[], tick: () => void = () => {}): Promise<LinkRef[]> {
  const total = dirs.reduce((sum, dir) => sum + weight(dir), 0);
  if (total < FILL_THREAD_MIN) return fillHere(dirs, 0, tick);
  // Split by whole directories, about half the work each.
  let split = 0;
  for (let done = 0; split < dirs.length && done < total / 2; split++) done += weight(dirs[split]!);
  const theirs = fillApart(dirs.slice(split));
  let mine: LinkRef[];
  try {
    mine = await fillHere(dirs.slice(0, split), 0, tick);
  } catch (error) {
    await theirs.stop(); // the caller removes the dirs: nothing may write into them after
    throw error;
  }
  const result = await theirs.done;
  for (const dir of dirs.slice(split)) for (let i = 0; i < dir.links + dir.writes; i++) tick();
  if (result === 'died') return [...mine, ...(await fillHere(dirs.slice(split), split, () => {}, true))];
  return [...mine, ...result.map(([dir, link]): LinkRef => [dir + split, link])];
}

/** The work in this thread, yielding between some; with `resume`, a link already there counts as made. */
async function fillHere(dirs: readonly DirFill[], offset: number, tick: () => void, resume = false): Promise<LinkRef[]> {
  const failed: LinkRef[] = [];
  for (const [d, dir] of dirs.entries()) {
    await forEachYielding(upTo(dir.links), (i) => {
      tick();
      const name = dir.linkName(i);
      const target = join(dir.to, name);
      if (resume && existsSync(target)) return;
      if (!tryLink(join(dir.from, name), target)) failed.push([d + offset, i]);
    });
    await forEachYielding(upTo(dir.writes), (i) => {
      tick();
      writeFileSync(join(dir.to, dir.writeName(i)), dir.content(i));
    });
  }
  return failed;
}

function* upTo(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}

/** A dir's work packed for the worker: names made now, contents copied into one transferable buffer. */
function batchOf({ from, to, links, linkName, writes, writeName, content }: DirFill): FillBatch {
  const bodies = Array.from({ length: writes }, (_, i) => content(i));
  const data = new Uint8Array(bodies.reduce((sum, body) => sum + body.byteLength, 0));
  let at = 0;
  for (const body of bodies) {
    data.set(body, at);
    at += body.byteLength;
  }
  return {
    from,
    to,
    links: Array.from({ length: links }, (_, i) => linkName(i)),
    writes: Array.from({ length: writes }, (_, i) => writeName(i)),
    sizes: bodies.map((body) => body.byteLength),
    data: data.buffer,
  };
}

/**
 * The work on a worker thread: the links that failed, or 'died' when it did not answer; a write
 * that failed rejects. Sent a chunk at a time, the next when the last is done, so that neither
 * thread holds the names or contents of more than two chunks. `stop` ends it (the caller failed).
 */
function fillApart(dirs: readonly DirFill[]): { done: Promise<LinkRef[] | 'died'>; stop(): Promise<void> } {
  const chunks: number[][] = []; // dir indexes, whole dirs, ~FILL_CHUNK of work each
  for (const [d, dir] of dirs.entries()) {
    const last = chunks.at(-1);
    if (last && last.reduce((sum, i) => sum + weight(dirs[i]!), 0) + weight(dir) <= FILL_CHUNK) last.push(d);
    else chunks.push([d]);
  }
  let worker: Worker;
  try {
    worker = new Worker(WORKER, { resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB } });
  } catch {
    return { done: Promise.resolve('died'), stop: async () => {} };
  }
  let stopped: Promise<unknown> | undefined;
  const stop = () => (stopped ??= worker.terminate());
  const done = new Promise<LinkRef[] | 'died'>((resolve, reject) => {
    const failed: LinkRef[] = [];
    let next = 0;
    let settled = false;
    const settle = (result: LinkRef[] | 'died' | Error) => {
      if (settled) return;
      settled = true;
      void stop().then(() => (result instanceof Error ? reject(result) : resolve(result)));
    };
    const send = () => {
      if (next === chunks.length) return settle(failed);
      const chunk = chunks[next++]!;
      const batches = chunk.map((d) => batchOf(dirs[d]!));
      worker.once('message', (reply: FillReply) => {
        if ('error' in reply) return settle(Object.assign(new Error(reply.error.message), reply.error));
        for (const [batch, link] of reply.failed) failed.push([chunk[batch]!, link]);
        send();
      });
      worker.postMessage(batches, batches.map((batch) => batch.data));
    };
    worker.once('error', () => settle('died'));
    worker.once('exit', () => settle('died'));
    send();
  });
  void done.catch(() => {}); // a caller that stopped it does not wait for it
  return { done, stop: async () => void (await stop()) };
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

/** The worker's side: every link and write asked for; the links that failed, or the first write that failed. */
export function fillRequested(batches: readonly FillBatch[]): FillReply {
  const failed: LinkRef[] = [];
  for (const [b, { from, to, links, writes, sizes, data }] of batches.entries()) {
    for (const [i, name] of links.entries()) if (!tryLink(join(from, name), join(to, name))) failed.push([b, i]);
    let at = 0;
    for (const [i, name] of writes.entries()) {
      try {
        writeFileSync(join(to, name), new Uint8Array(data, at, sizes[i]));
      } catch (error) {
        const { message, code, path } = error as NodeJS.ErrnoException;
        return { error: { message, code, path } };
      }
      at += sizes[i]!;
    }
  }
  return { failed };
}
