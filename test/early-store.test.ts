// A full build into a dist with no snapshot writes every answer, and starts writing them on the
// fill worker while this thread still renders them (src/build/write.ts: EarlyStore: each store
// dir once its answers are rendered), then hashes them and makes the manifest. What lands must be what a build writes:
// every answer byte for byte where the snapshot serves it, no staging dir left, a render that
// fails leaves nothing and reports what a plain compile reports, and a dist that already has a
// snapshot (where most store dirs are reused) is not written ahead.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { build, compile } from '../src/build/build.js';
import { EARLY_STORE_MIN, EarlyStore } from '../src/build/write.js';
import { distFile } from '../src/compile/shapes.js';
import { ErrorList } from '../src/compile/errors.js';
import { bootConfig, fleetUuid, seedFleet, tempDir, writeFiles } from './helpers.js';
import type { OutputFiles } from '../src/compile/render.js';

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

/** EarlyStore.start over answers already rendered. */
function startOver(dist: string, files: OutputFiles): Promise<EarlyStore | undefined> {
  return EarlyStore.start(dist, files.keys(), files.size, (path) => files.get(path)!);
}

test('a render that fails while the writes go on ahead leaves nothing, and reports what a compile reports', async () => {
  // Groups whose cloud template reads their metadata: two lack the key it reads, one near each
  // end of the plan. The writes ahead must not be told of any answer past the first (it is
  // missing from the render), and the build must fail as the compile does.
  const groups = Math.ceil(EARLY_STORE_MIN / 4) + 100;
  const files: Record<string, string> = {
    'profiles/node.json': JSON.stringify({ id: 'node', boot: { kernel: '/images/k', initrd: ['/images/i'] }, cloud_id: 'node.yaml' }),
    'cloud/node.yaml': '#cloud-config\nhostname: {{hostname}}\n',
  };
  for (let i = 0; i < groups; i++) {
    const metadata = i === 7 || i === groups - 7 ? {} : { hostname: `node-${i}` };
    files[`groups/g${i}.json`] = JSON.stringify({ id: `g${i}`, profile: 'node', selector: { uuid: fleetUuid(i) }, metadata });
  }
  const data = await writeFiles(await tempDir(), files);
  const problems = (error: unknown) => (error instanceof ErrorList ? error.errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`).join('\n') : String(error));
  const expected = await compile(data).then(() => 'compiled', problems);
  assert.match(expected, /"hostname" not defined \(for group g7 [^\n]*\n.*for group g\d+ /);
  const dist = await tempDir();
  const failed = await build({ dataPath: data, distPath: dist }).then(() => 'built', problems);
  assert.equal(failed, expected);
  assert.deepEqual(staging(dist), []);
  assert.deepEqual(existsSync(join(dist, 'dirs')) ? readdirSync(join(dist, 'dirs')) : [], []);
  assert.equal(existsSync(join(dist, 'current')), false);
  // Mended, the same dist builds, written ahead.
  await writeFile(join(data, 'groups/g7.json'), JSON.stringify({ id: 'g7', profile: 'node', selector: { uuid: fleetUuid(7) }, metadata: { hostname: 'node-7' } }));
  await writeFile(join(data, `groups/g${groups - 7}.json`), JSON.stringify({ id: `g${groups - 7}`, profile: 'node', selector: { uuid: fleetUuid(groups - 7) }, metadata: { hostname: 'node-x' } }));
  const compiled = await compile(data);
  assert.ok(compiled.files.size >= EARLY_STORE_MIN, `${compiled.files.size} answers: too few to be written ahead`);
  await build({ dataPath: data, distPath: dist });
  let differ = 0;
  for (const [path, content] of compiled.files) if (!readFileSync(join(dist, 'current', distFile(path))).equals(content)) differ++;
  assert.equal(differ, 0, 'answers on disk differ from the compile');
  assert.deepEqual(staging(dist), []);
});

test('writes started ahead and dropped leave nothing behind; a dist with a snapshot starts none', async () => {
  const data = await shared;
  const compiled = await compile(data);
  const dist = await tempDir();
  const early = await startOver(dist, compiled.files);
  assert.ok(early, 'an empty dist and enough answers: the writes start');
  assert.equal(staging(dist).length, 1);
  await early.drop();
  assert.deepEqual(staging(dist), []);
  assert.deepEqual(readdirSync(join(dist, 'dirs')), []);
  // Too few answers, or a live snapshot: none.
  assert.equal(await startOver(dist, new Map([...compiled.files].slice(0, EARLY_STORE_MIN - 1))), undefined);
  await build({ dataPath: data, distPath: dist });
  assert.equal(await startOver(dist, compiled.files), undefined);
});
