// A serve process collects its garbage once it is at rest after a burst (src/serve/collect.ts):
// one forced full collection per quiet period, whatever number of bursts came before it, and
// without handing `gc` to the rest of the process; or at once, where one burst follows another.

import assert from 'node:assert/strict';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { collectAtRest, collectNow, collectTakenIn, MANY_WRITTEN, QUIET_MS, reloadCollecting } from '../src/serve/collect.js';

/** The forced full collections seen while `run` runs. */
async function forcedCollections(run: () => Promise<void>): Promise<number> {
  let forced = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as (PerformanceEntry & { detail?: { kind: number; flags: number } })[]) {
      if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR && (entry.detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0) forced++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  try {
    await run();
    await sleep(100); // gc entries are delivered after the collection
  } finally {
    observer.disconnect();
  }
  return forced;
}

test('collectAtRest collects once, after the last of several bursts has been quiet', async () => {
  let kept: string[] = [];
  const forced = await forcedCollections(async () => {
    for (let burst = 0; burst < 3; burst++) {
      kept = Array.from({ length: 100_000 }, (_, i) => `answer ${burst} ${i}`); // the last burst's garbage
      collectAtRest(600);
      await sleep(100);
    }
    assert.equal(kept.length, 100_000);
    kept = [];
  });
  assert.equal(forced, 0, 'nothing is collected while bursts come closer together than the quiet time');
  assert.equal(await forcedCollections(() => sleep(700)), 1, 'one collection once quiet');
  assert.equal(await forcedCollections(() => sleep(700)), 0, 'and no more without another burst');
  assert.equal((globalThis as { gc?: unknown }).gc, undefined, 'gc is not left exposed to the process');
});

test('collectNow collects once, at once, and leaves a pending quiet collection as it was', async () => {
  assert.equal(await forcedCollections(async () => collectNow()), 1, 'one collection, before collectNow returns');
  const forced = await forcedCollections(async () => {
    collectAtRest(300);
    collectNow();
    await sleep(400);
  });
  assert.equal(forced, 2, 'the one asked for now, and the quiet one still due');
  assert.equal((globalThis as { gc?: unknown }).gc, undefined, 'gc is not left exposed to the process');
});

test('collectTakenIn collects at once, and once more when quiet', async () => {
  assert.equal(await forcedCollections(async () => collectTakenIn()), 1, 'one at once');
  assert.equal(await forcedCollections(() => sleep(QUIET_MS + 200)), 1, 'one once quiet');
});

test('reloadCollecting: a full build collected before its reload, a large edit after it, a small edit not at all', async () => {
  // Forced collections seen so far, read by each reload: whether the build's collection came before or after it.
  let forced = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as (PerformanceEntry & { detail?: { kind: number; flags: number } })[]) {
      if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR && (entry.detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0) forced++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const seen: number[] = []; // forced collections before each reload, counted from that build's start
  const build = async (kind: string, written: number) => {
    await sleep(100);
    const start = forced;
    await reloadCollecting({ kind, written }, async () => {
      await sleep(100); // gc entries are delivered after the collection
      seen.push(forced - start);
    });
    await sleep(100);
    return forced - start;
  };
  try {
    assert.equal(await build('full', 10), 1, 'a full build: one at once');
    await sleep(QUIET_MS + 200);
    assert.equal(await build('incremental', MANY_WRITTEN), 1, 'a large edit: one');
    assert.equal(await build('incremental', MANY_WRITTEN - 1), 0, 'a small edit: none');
    assert.deepEqual(seen, [1, 0, 0], 'the full build collected before its reload, the large edit after');
  } finally {
    observer.disconnect();
  }
});
