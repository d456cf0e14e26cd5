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
  return new SharedFill(dirs).finish(tick);
}

/**
 * A fill shared by this thread and a worker thread. The dirs go in chunks of whole dirs, ~FILL_CHUNK
 * of work each: the worker takes them from the end, this thread from the start (once `finish` is
 * called), until they meet, so that neither waits while the other still has work. The worker is
 * sent up to `ahead` chunks before it answers the first: a fill started ahead of this thread's
 * part (write.ts: EarlyStore, a full build's writes begun while this thread still renders,
 * hashes and plans) goes on while this thread does not turn the event loop; otherwise one at a
 * time, so that neither thread holds the names or contents of more than two chunks.
 *
 * A fill started before its dirs' answers are all rendered is `gated`: the worker takes the
 * chunks from the start instead, in the order the build renders them, each once `ready` says
 * its dirs are whole; this thread takes them from the end, and `finish` opens the gate.
 */
export class SharedFill {
  /** Each chunk's dirs: [first, end). */
  private readonly chunks: [number, number][] = [];
  /** Chunks before `front` and from `back` on are taken, the worker's at one end and this thread's at the other. */
  private front = 0;
  private back: number;
  /** Dirs before this one are whole (a gated fill: the worker may take a chunk only of those). */
  private readyUntil: number;
  /** Chunks sent to the worker, oldest first: it answers them in order. */
  private readonly inFlight: number[] = [];
  private readonly failed: LinkRef[] = [];
  private worker: Worker | undefined;
  private stopped: Promise<unknown> | undefined;
  private error: Error | undefined;
  /** Items the worker did before `finish` gave a tick to count them with. */
  private untold = 0;
  private tick: (() => void) | undefined;
  /** Resolves when the worker has nothing more to do, or has died (then its chunks in flight are this thread's). */
  private readonly settled: Promise<void>;
  private settle: () => void = () => {};

  constructor(private readonly dirs: readonly DirFill[], private readonly ahead = 1, private readonly gated = false) {
    this.readyUntil = gated ? 0 : dirs.length;
    let load = 0; // the last chunk's work so far
    for (const [d, dir] of dirs.entries()) {
      const last = this.chunks.at(-1);
      if (last && load + weight(dir) <= FILL_CHUNK) {
        last[1] = d + 1;
        load += weight(dir);
      } else {
        this.chunks.push([d, d + 1]);
        load = weight(dir);
      }
    }
    this.back = this.chunks.length;
    this.settled = new Promise<void>((resolve) => (this.settle = resolve));
    try {
      this.worker = new Worker(WORKER, { resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB } });
    } catch {
      this.settle(); // no worker: this thread does it all
      return;
    }
    const died = () => {
      this.worker = undefined;
      this.settle();
    };
    this.worker.once('error', died);
    this.worker.once('exit', died);
    this.worker.on('message', (reply: FillReply) => this.answered(reply));
    this.send();
  }

  /**
   * Does this thread's part, then waits for the worker's; resolves to the links that could not be
   * made, rejects with the first write that failed on either thread (the worker stopped first).
   */
  async finish(tick: () => void = () => {}): Promise<LinkRef[]> {
    this.tick = tick;
    for (; this.untold > 0; this.untold--) tick();
    this.ready(this.dirs.length);
    try {
      while (this.front < this.back && this.error === undefined) {
        const [first, end] = this.chunks[this.gated ? --this.back : this.front++]!;
        this.failed.push(...(await fillHere(this.dirs.slice(first, end), first, tick)));
      }
      await this.settled;
      if (this.error) throw this.error;
      // A worker that died: what it was sent and did not answer is done here, a link it made kept.
      for (const c of this.inFlight.splice(0)) {
        const [first, end] = this.chunks[c]!;
        this.failed.push(...(await fillHere(this.dirs.slice(first, end), first, tick, true)));
      }
      return this.failed;
    } finally {
      await this.stop(); // the caller removes the dirs on a failure: nothing may write into them after
    }
  }

  /** Ends the worker (a build that failed or no longer needs this fill). */
  stop(): Promise<unknown> {
    this.stopped ??= this.worker ? this.worker.terminate() : Promise.resolve();
    this.worker = undefined;
    this.settle();
    return this.stopped;
  }

  /** Says the dirs before `dir` are whole (a gated fill): the worker may take their chunks. */
  ready(dir: number): void {
    if (dir <= this.readyUntil) return;
    this.readyUntil = dir;
    this.send();
  }

  /** Sends the worker chunks from its end, up to `ahead` unanswered, of whole dirs only. */
  private send(): void {
    while (this.worker && this.inFlight.length < this.ahead && this.back > this.front && (!this.gated || this.chunks[this.front]![1] <= this.readyUntil)) {
      const c = this.gated ? this.front++ : --this.back;
      const [first, end] = this.chunks[c]!;
      const batches = this.dirs.slice(first, end).map(batchOf);
      this.inFlight.push(c);
      this.worker.postMessage(batches, batches.map((batch) => batch.data));
    }
    // Nothing in flight, and no chunk left the worker could take later (one not yet whole).
    if (this.inFlight.length === 0 && (!this.worker || this.back <= this.front)) this.settle();
  }

  private answered(reply: FillReply): void {
    const c = this.inFlight.shift()!;
    if ('error' in reply) {
      this.error = Object.assign(new Error(reply.error.message), reply.error);
      void this.stop();
      return;
    }
    const [first, end] = this.chunks[c]!;
    for (const [batch, link] of reply.failed) this.failed.push([first + batch, link]);
    let items = 0;
    for (let d = first; d < end; d++) items += this.dirs[d]!.links + this.dirs[d]!.writes;
    if (this.tick) for (let i = 0; i < items; i++) this.tick();
    else this.untold += items;
    this.send();
  }
}

/** The work in this thread, yielding between some; with `resume`, a link already there counts as made. */
async function fillHere(dirs: readonly DirFill[], offset: number, tick: () => void, resume = false): Promise<LinkRef[]> {
  const failed: LinkRef[] = [];
  for (const [d, dir] of dirs.entries()) {
    await forEachYielding(upTo(dir.links), (i) => {
      tick();
      const name = dir.linkName(i);
      const target = under(dir.to, name);
      if (resume && existsSync(target)) return;
      if (!tryLink(under(dir.from, name), target)) failed.push([d + offset, i]);
    });
    await forEachYielding(upTo(dir.writes), (i) => {
      tick();
      writeFileSync(under(dir.to, dir.writeName(i)), dir.content(i));
    });
  }
  return failed;
}

/**
 * `name` under `dir`: a store dir's path (made by path.join) and an answer's name in it (plain
 * segments from the plan). path.join would normalize the two again, ~0.5 µs and a dozen
 * short-lived strings a call: at 100k machines a 1% edit links ~350k answers, two paths each.
 */
function under(dir: string, name: string): string {
  return `${dir}/${name}`;
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
    for (const [i, name] of links.entries()) if (!tryLink(under(from, name), under(to, name))) failed.push([b, i]);
    let at = 0;
    for (const [i, name] of writes.entries()) {
      try {
        writeFileSync(under(to, name), new Uint8Array(data, at, sizes[i]));
      } catch (error) {
        const { message, code, path } = error as NodeJS.ErrnoException;
        return { error: { message, code, path } };
      }
      at += sizes[i]!;
    }
  }
  return { failed };
}
