// A serve process collects its garbage once it is at rest after a burst (src/serve/collect.ts):
// one forced full collection per quiet period, whatever number of bursts came before it, and
// without handing `gc` to the rest of the process; or at once, where one burst follows another.
// And serve keeps its young generation at V8's initial size unless node was given a bound.

import assert from 'node:assert/strict';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { collectAtRest, collectNow, collectTakenIn, MANY_WRITTEN, QUIET_MS, reloadCollecting } from '../src/serve/collect.js';
import { childExecArgv, youngGenerationGiven } from '../src/build/ask-child.js';
import { eventually, runCli, sampleData, startServe, tempDir, writeFiles } from './helpers.js';

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

/**
 * Loaded into serve with NODE_OPTIONS: on SIGUSR2 it makes what grows a young generation (many
 * objects that live through a few scavenges, as a pack's fill does) and then says how large
 * V8's new space is.
 */
const YOUNG_PROBE = `import { getHeapSpaceStatistics } from 'node:v8';
process.on('SIGUSR2', () => {
  const kept = [];
  for (let i = 0; i < 2e6; i++) { kept.push({ i, name: 'answer ' + i }); if (kept.length > 5e5) kept.splice(0, 2.5e5); }
  const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  process.stderr.write('young generation ' + space.space_size + ' bytes, ' + kept.length + ' kept\\n');
});
`;

test('serve keeps its young generation at V8\'s initial size, unless node was given a bound', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  const dist = join(root, 'dist');
  assert.equal((await runCli(['build', '--data-path', data, '--dist-path', dist])).code, 0);
  const probe = join(root, 'young-probe.mjs');
  await writeFile(probe, YOUNG_PROBE);
  const youngAfterGrowth = async (nodeOptions: string) => {
    const serve = await startServe(['--dist-path', dist], { NODE_OPTIONS: `--import=${pathToFileURL(probe).href} ${nodeOptions}` });
    try {
      serve.child.kill('SIGUSR2');
      await eventually(async () => /young generation \d+ bytes/.test(serve.stderr()), 'the probe\'s answer');
      return Number(/young generation (\d+) bytes/.exec(serve.stderr())![1]);
    } finally {
      await serve.stop();
    }
  };
  const MB = 1024 * 1024;
  const kept = await youngAfterGrowth('');
  assert.ok(kept <= 4 * MB, `serve's young generation grew to ${kept / MB} MB`);
  const given = await youngAfterGrowth('--max-semi-space-size=16');
  assert.ok(given > 8 * MB, `with node's own bound the same allocation grows it (${given / MB} MB): serve left it alone`);
});

test('node\'s own young-generation flags count as given, wherever they are', () => {
  assert.equal(youngGenerationGiven(['--max-semi-space-size=8'], ''), true);
  assert.equal(youngGenerationGiven([], '--trace-warnings --semi_space_growth_factor=4'), true);
  assert.equal(youngGenerationGiven(['--min-semi-space-size=1'], ''), true);
  assert.equal(youngGenerationGiven(['--import', 'hook.js', '--max-old-space-size=512'], '--trace-warnings'), false);
});

test('a child bootcfg starts gets its young generation\'s bound, unless node was given one', () => {
  assert.deepEqual(childExecArgv(16, ['--import', 'hook.js'], '--trace-warnings'), ['--max-semi-space-size=16', '--import', 'hook.js']);
  assert.deepEqual(childExecArgv(16, ['--max-semi-space-size=64'], ''), ['--max-semi-space-size=64']);
  assert.deepEqual(childExecArgv(16, [], '--semi-space-growth-factor=2'), []);
  assert.deepEqual(childExecArgv(undefined, ['--import', 'hook.js'], ''), ['--import', 'hook.js']);
});
