// The benchmark's inputs are right, so its figures measure what they claim: the generated fleet
// compiles to the expected files, and every URL of the load mix is answered 200 by the real
// server with the kind of answer it is meant to exercise. No timings are asserted here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from '../src/build/build.js';
import { startServer } from '../src/serve/server.js';
import { bootConfig, dataFile, machine, writeFleet } from '../bench/fleet.js';
import { startServe } from '../bench/proc.js';
import { timeUntilServed } from '../bench/run.js';
import { URL_KINDS, urlFor, urlMix } from '../bench/load.js';
import { median } from '../bench/stats.js';
import { stormPath } from '../bench/storm.js';
import { tempDir } from './helpers.js';

test('a fleet of N compiles to 3.5N + 7 files and the URL mix answers 200 for every kind', async () => {
  const root = await tempDir();
  const n = 40;
  await writeFleet(join(root, 'data'), n);
  const built = await build({ dataPath: join(root, 'data'), distPath: join(root, 'dist') });
  assert.equal(built.inputs, 2 * n + 2);
  assert.equal(built.written, 3.5 * n + 7); // per machine: iPXE, GRUB, cloud, half a Pixiecore; boot.ipxe, four defaults, shapes.json and its marker
  const records: string[] = [];
  const server = await startServer({ distPath: join(root, 'dist'), imagesPath: join(root, 'images'), address: '127.0.0.1:0', log: (e) => records.push(e.answer) });
  try {
    for (const path of urlMix(n, 50)) {
      const response = await fetch(server.url + path);
      assert.equal(response.status, 200, path);
      await response.arrayBuffer();
    }
    const answers = new Map<string, string>();
    for (const kind of URL_KINDS) {
      const before = records.length;
      const response = await fetch(server.url + urlFor(kind, n, () => 0.5));
      await response.arrayBuffer();
      for (let i = 0; i < 400 && records.length === before; i++) await sleep(5); // the log entry follows the answer
      answers.set(kind, records.at(-1)!);
    }
    assert.deepEqual(Object.fromEntries(answers), { 'uuid hit': 'uuid', 'mac hit': 'mac', default: 'default', pixiecore: 'mac', cloud: 'uuid' });
  } finally {
    await server.close();
  }
});

test('the boot storm visits every machine of the fleet once per 5N requests, and each of its URLs answers 200', async () => {
  const root = await tempDir();
  const n = 40;
  await writeFleet(join(root, 'data'), n);
  await build({ dataPath: join(root, 'data'), distPath: join(root, 'dist') });
  const server = await startServer({ distPath: join(root, 'dist'), imagesPath: join(root, 'images'), address: '127.0.0.1:0' });
  try {
    const machines = new Set<string>();
    for (let r = 0; r < 5 * n; r++) {
      const path = stormPath(r, n);
      const response = await fetch(server.url + path);
      assert.equal(response.status, 200, path);
      await response.arrayBuffer();
      if (r % 5 === 4) machines.add(/uuid=([^&]+)/.exec(path)![1]!); // the cloud config: any machine, as drawn
    }
    assert.equal(machines.size, n, 'every machine once');
  } finally {
    await server.close();
  }
});

test('median of an odd and an even number of runs', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('an edit that fails to build fails the bench at once with serve\'s words, not after 10 minutes of polling', async () => {
  const root = await tempDir();
  const data = join(root, 'data');
  await writeFleet(data, 4);
  const serve = await startServe(['--data-path', data, '--dist-path', join(root, 'dist'), '--address', '127.0.0.1:0', '--watch']);
  try {
    const m = machine(1);
    const url = `/ipxe?uuid=${m.uuid}&mac=${m.mac}`;
    const good = await timeUntilServed(serve, url, 'tag-good', () => writeFile(join(data, dataFile('boot', m)), bootConfig(m, 'tag-good')));
    assert.ok(good.ms > 0 && Number.isFinite(good.buildMs), `served after ${good.ms} ms, rebuilt in ${good.buildMs} ms`);
    // Whole JSON, but a kernel that is not a string: a settled build failure, said in serve's log.
    await assert.rejects(
      timeUntilServed(serve, url, 'tag-bad', () => writeFile(join(data, dataFile('boot', m)), JSON.stringify({ kernel: 5, cmdline: { tag: 'tag-bad' } }))),
      /never showed tag-bad: serve said\nbuild failed/,
    );
  } finally {
    await serve.stop();
  }
});
