// The settle's look at a changed file (src/build/watch.ts, Settler): a JSON data file is
// compared as of its last event, so a one-file edit whose first event was the truncation of a
// write (its bytes a few ms later, as fs.writeFile does) is built after one quiet period, not
// two (issue 11: half of all one-machine edits waited a second period). Any other file keeps the
// look from its first event, so a writer that pauses longer than a period is waited for once
// more. The clock is node:test's mock; sizes and mtimes come from a stand-in for stat.

import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { FAST_SETTLE_MS, Settler } from '../src/build/watch.js';

const SETTLE_MS = 3000;

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

/** A settler over stand-in files (path → "size:mtime"), and the changes it reported. */
function settler(json: boolean) {
  const files = new Map<string, string>();
  const reported: (string[] | undefined)[] = [];
  const settle = new Settler((paths) => reported.push(paths && [...paths]), { settleMs: SETTLE_MS }, () => json, async (path) => files.get(path) ?? 'gone');
  return { files, reported, settle };
}

/** Lets the looks and the quiet period's comparison (promises, no timers) finish. */
async function looksDone(): Promise<void> {
  for (let i = 0; i < 5; i++) await tick();
}

/** A write as fs.writeFile makes it: open(…, "w") truncates (the first event), the bytes come 5 ms later (the second). */
async function truncatedThenWritten(files: Map<string, string>, settle: Settler, path: string, written: string): Promise<void> {
  files.set(path, '0:1000.1');
  settle.poke(path);
  await looksDone();
  mock.timers.tick(5);
  files.set(path, written);
  settle.poke(path);
  await looksDone();
}

test('a JSON file truncated, then written, is reported one quiet period after its last event', async () => {
  const { files, reported, settle } = settler(true);
  await truncatedThenWritten(files, settle, 'boot/uuid/a.json', '428:1005.3');
  mock.timers.tick(FAST_SETTLE_MS);
  await looksDone();
  assert.deepEqual(reported, [['boot/uuid/a.json']], 'reported after one quiet period');
  settle.close();
});

test('a JSON file changing without an event still waits another period', async () => {
  const { files, reported, settle } = settler(true);
  files.set('boot/uuid/a.json', '428:1000.1');
  settle.poke('boot/uuid/a.json');
  await looksDone();
  files.set('boot/uuid/a.json', '500:1010.2'); // written again, its event lost
  mock.timers.tick(FAST_SETTLE_MS);
  await looksDone();
  assert.deepEqual(reported, [], 'not while it differs from its look');
  mock.timers.tick(FAST_SETTLE_MS);
  await looksDone();
  assert.deepEqual(reported, [['boot/uuid/a.json']], 'once it has stayed the same for a period');
  settle.close();
});

test('any other file is compared with its first look: a writer that paused is waited for once more', async () => {
  const { files, reported, settle } = settler(false);
  await truncatedThenWritten(files, settle, 'cloud/default', '15:1005.3');
  mock.timers.tick(SETTLE_MS);
  await looksDone();
  assert.deepEqual(reported, [], 'not after one period: it changed since its first look');
  mock.timers.tick(SETTLE_MS);
  await looksDone();
  assert.deepEqual(reported, [['cloud/default']]);
  settle.close();
});
