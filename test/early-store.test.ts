// A full build into a dist with no snapshot writes every answer, and starts writing them on the
// fill worker as soon as they are rendered (src/build/write.ts: EarlyStore), while this thread
// hashes them and makes the manifest. What lands must be what a build writes: every answer
// byte for byte where the snapshot serves it, no staging dir left, and a dist that already has
// a snapshot (where most store dirs are reused) is not written ahead.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { build, compile } from '../src/build/build.js';
import { EARLY_STORE_MIN, EarlyStore } from '../src/build/write.js';
import { distFile } from '../src/compile/shapes.js';
import { bootConfig, seedFleet, tempDir } from './helpers.js';

/** Three answers a machine (iPXE, GRUB, cloud config): enough for the writes to start early. */
const MACHINES = Math.ceil(EARLY_STORE_MIN / 3) + 100;

const shared = seedFleet(MACHINES);

/** Names under dist that a build in progress leaves (and a finished one must not). */
function staging(dist: string): string[] {
  return ['dirs', 'revs'].flatMap((sub) => (existsSync(join(dist, sub)) ? readdirSync(join(dist, sub)) : []).filter((name) => name.startsWith('.staging-')).map((name) => `${sub}/${name}`));
}

test('a full build into an empty dist, written ahead, serves every answer as compiled', async () => {
  const data = await shared;
  const dist = await tempDir();
  const compiled = await compile(data);
  assert.ok(compiled.files.size >= EARLY_STORE_MIN, `${compiled.files.size} answers: too few to be written ahead`);
  const first = await build({ dataPath: data, distPath: dist });
  assert.equal(first.written, compiled.files.size);
  assert.equal(first.revision, compiled.revision);
  let differ = 0;
  for (const [path, content] of compiled.files) if (!readFileSync(join(dist, 'current', distFile(path))).equals(content)) differ++;
  assert.equal(differ, 0, 'answers on disk differ from the compile');
  assert.deepEqual(staging(dist), []);

  // With a live snapshot the build is not written ahead: its store dirs are the last build's.
  const before = (await readdir(join(dist, 'dirs'))).sort();
  await writeFile(join(data, 'boot/default'), bootConfig('/images/other'));
  const second = await build({ dataPath: data, distPath: dist });
  assert.ok(second.written < 10, `written ${second.written}: the unchanged answers were written again`);
  const after = new Set(await readdir(join(dist, 'dirs')));
  assert.ok(before.filter((name) => after.has(name)).length > before.length / 2, 'the store dirs were not reused');
  assert.equal(readFileSync(join(dist, 'current', 'ipxe/default'), 'utf8').includes('/images/other'), true);
  assert.deepEqual(staging(dist), []);
});

test('writes started ahead and dropped leave nothing behind; a dist with a snapshot starts none', async () => {
  const data = await shared;
  const compiled = await compile(data);
  const dist = await tempDir();
  const early = await EarlyStore.start(dist, compiled.files);
  assert.ok(early, 'an empty dist and enough answers: the writes start');
  assert.equal(staging(dist).length, 1);
  await early.drop();
  assert.deepEqual(staging(dist), []);
  assert.deepEqual(readdirSync(join(dist, 'dirs')), []);
  // Too few answers, or a live snapshot: none.
  assert.equal(await EarlyStore.start(dist, new Map([...compiled.files].slice(0, EARLY_STORE_MIN - 1))), undefined);
  await build({ dataPath: data, distPath: dist });
  assert.equal(await EarlyStore.start(dist, compiled.files), undefined);
});
