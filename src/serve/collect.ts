// Memory given back at rest. A long-running serve makes most of its garbage in bursts: a full
// build's state read back from its child (~34 MB at 100k machines, then the maps made
// from it), an answer pack filled by reading every answer once. V8 collects the young part of it
// at once, but what lived long enough to be promoted waits for the next full collection, and a
// process at rest (no more allocation) never starts one: measured at 100k machines, `serve
// --watch` sat at ~350 MB resident with ~45 MB of dead heap and ~55 MB of dead buffers, and one
// full collection (~50-90 ms) took it to ~270 MB.
//
// So after such a burst (a pack fill that read many answers), once things have been quiet for
// QUIET_MS, this process collects once. A full build taken in is collected at once as well
// (collectTakenIn, before the server reloads): the pack's fill comes right after it, and
// waiting stacked the two bursts' garbage (at 100k machines, 267 -> 302 MB before the
// collection under `serve --watch`, 268 -> 353 MB under `serve --repo`, which did not collect
// after it at all). Its quiet collection stays: at 100k machines it comes in the middle of the
// fill, and without it the old generation was left more fragmented at rest (by hand, `serve
// --watch` at rest 232-235 MB with the quiet collection alone, 232-235 MB with the one at once
// alone, 215-221 MB with both; peak 302, 279 and 262-273 MB). And an incremental build that
// wrote many answers (MANY_WRITTEN) is collected at once when it is live: edits of that size
// made one after another never leave serve quiet, and built on each other's garbage.
// Each pause is one full collection (~90 ms at 100k machines), after a build, not on the way to
// any answer; a one-machine edit is no such burst and costs none.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { youngGenerationGiven } from '../build/ask-child.js';

/**
 * Keeps this process's young generation at the size V8 starts it with (1 MB a semi-space), unless
 * node was given a bound (youngGenerationGiven); true when it did. A serve process takes in a
 * full build and fills its answer pack at start-up, and each lets V8 grow the young generation
 * to its largest (16 MB a semi-space on Node 20, 64 MB on Node 24), which then stays resident
 * while serve is at rest: 32 MB of `serve --watch`'s ~200 MB at 100k machines. A process cannot
 * lower its own --max-semi-space-size once started (V8 sizes the heap then), but V8 reads the
 * growth factor each time it grows the young generation; it only refuses a factor under 2 on
 * node's command line, so this sets it here, before serve allocates anything large. Measured at
 * 100k machines under `serve --watch`, alternating with V8's default (docs/BENCHMARKS.md): at
 * rest 166-169 against 200 MB, peak 220-234 against 244-245 MB, a 1% edit as fast, one
 * machine's edit ~5-10 ms slower (more scavenges: medians 83-90 against 74 ms); on Node 24 at
 * rest 213 against 318 MB. Node 20, 22 and 24 keep the young generation at 2 MB in all with it
 * (test/collect.test.ts checks the one it runs on).
 */
export function keepYoungGenerationSmall(): boolean {
  if (youngGenerationGiven()) return false;
  setFlagsFromString('--semi-space-growth-factor=1');
  return true;
}

/**
 * Quiet time after the last burst before collecting (another burst restarts it). Short on
 * purpose: V8 gives back its young generation too (32 MB committed, ~40 MB of RSS) when it
 * collects after ~5 s without allocation, and then the next edit pays 20-70 ms (scavenges of a
 * young generation grown back from 1 MB, and bytecode the extra collection aged; measured at
 * 100k machines on 2026-12-06, docs/BENCHMARKS.md).
 */
export const QUIET_MS = 2000;

let timer: NodeJS.Timeout | undefined;
let collect: (() => void) | undefined;

/** Says a burst of allocation just ended: collect once it has been quiet for `quietMs`. */
export function collectAtRest(quietMs = QUIET_MS): void {
  if (timer) clearTimeout(timer);
  timer = setTimeout(() => {
    timer = undefined;
    collectNow();
  }, quietMs);
  timer.unref(); // never what keeps a process from exiting
}

/**
 * After a full build taken in: collects at once, since the pack's fill that comes next would
 * add its garbage to the take-in's, and once more when quiet (collectAtRest).
 */
export function collectTakenIn(): void {
  collectNow();
  collectAtRest();
}

/**
 * Answers an incremental build writes past which serve collects once it is live. Such an edit
 * touches many of each kind's 256 shards (a 1% edit at 100k machines writes ~2,500 answers,
 * relinks ~250k and makes ~1,800 store dirs' pieces), and edits of that size one after another
 * built on each other's garbage (serve --watch, four 1% edits ~0.3 s apart: peak 290-305 MB,
 * 270-280 MB with a collection after each). An edit of a few machines makes none.
 */
export const MANY_WRITTEN = 256;

/**
 * Puts a build just written live with `reload` (the server's), collecting around it what pays:
 * a full build taken in before the reload (collectTakenIn), an incremental one that wrote
 * MANY_WRITTEN answers or more once it is live; an edit of a few machines not at all. serve
 * --watch and serve --repo both go through here.
 */
export async function reloadCollecting(build: { kind?: string; written: number }, reload: () => Promise<unknown> | undefined): Promise<void> {
  if (build.kind !== 'incremental') collectTakenIn(); // what taking a full build in left behind, before the pack reads every answer
  await reload();
  if (build.kind === 'incremental' && build.written >= MANY_WRITTEN) collectNow(); // what a large edit left behind, before the next adds to it
}

/**
 * Collects at once. Never throws: a runtime that will not hand out `gc` leaves memory to V8's
 * own schedule, and the build it follows still goes live.
 */
export function collectNow(): void {
  try {
    (collect ??= fullCollection())();
  } catch {
    collect = () => {};
  }
}

/**
 * V8's own full collection. Node offers it only to a process started with --expose-gc: the flag
 * is set for one new context, which hands its `gc` back, and set off again (as Jest does).
 */
function fullCollection(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext('gc') as () => void;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}
