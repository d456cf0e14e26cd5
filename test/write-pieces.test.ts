// The store dir pieces a write makes are held in memory up to a bound and past it in a private
// temp file until each is written (PieceSpill, src/build/write.ts): a 1% edit at 100k machines
// makes ~35 MB of them. Held or spilled, or held for want of a temp dir, the write is the same
// snapshot byte for byte, and the temp file leaves nothing behind.

import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { compile } from '../src/build/build.js';
import { GroupList } from '../src/build/group-list.js';
import { writeSnapshot, type WriteOptions } from '../src/build/write.js';
import { bootConfig, filesUnder, tempDir, withTmpdir, writeFiles } from './helpers.js';

const uuid = (i: number) => `0b00c0f6-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

/** What a snapshot serves, through its store links, and its pieces' bytes (store dir names are random). */
async function written(dist: string): Promise<{ id: string; answers: [string, string][]; pieces: string[] }> {
  const live = join(dist, 'current/');
  const answers: [string, string][] = [];
  for (const path of await filesUnder(live)) answers.push([path, await readFile(join(live, path), 'utf8')]);
  const pieces: string[] = [];
  for (const name of await readdir(join(dist, 'dirs'))) if (name.endsWith('.manifest.json')) pieces.push(await readFile(join(dist, 'dirs', name), 'utf8'));
  return { id: await readlink(join(dist, 'current')), answers, pieces: pieces.sort() };
}

test('pieces held, spilled to a temp file, or held for want of one: the same snapshot, and nothing left in the temp dir', async () => {
  const root = await tempDir();
  const files: Record<string, string> = { 'boot/default': bootConfig('/images/default/vmlinuz') };
  for (let i = 0; i < 600; i++) files[`boot/uuid/${uuid(i)}`] = bootConfig(`/images/m${i}/vmlinuz`);
  const data = await writeFiles(join(root, 'data'), files);
  const compiled = await compile(data);
  const meta = { revision: compiled.revision, source: data, origins: compiled.origins };
  const temp = join(root, 'tmp');
  await mkdir(temp);
  const write = (name: string, options?: WriteOptions) => writeSnapshot(join(root, name), compiled.files, meta, options).then(() => written(join(root, name)));
  const [held, spilled] = await withTmpdir(temp, async () => [await write('held'), await write('spilled', { heldPieceBytes: 0 })]);
  assert.deepEqual(await readdir(temp), [], 'the temp file was unlinked as it was made');
  const kept = await withTmpdir(join(root, 'missing'), () => write('kept', { heldPieceBytes: 0 }));
  assert.ok(held.pieces.length > 100, `one piece per shard dir: ${held.pieces.length}`);
  assert.ok(held.answers.length >= 1200);
  for (const [name, other] of [['spilled', spilled], ['held for want of a temp dir', kept]] as const) assert.deepEqual(other, held, name);
});

test('the manifest\'s list of groups kept in a temp file, or in memory for want of one: the same manifest, written again from it', async () => {
  const root = await tempDir();
  const files = new Map<string, Buffer>([['ipxe/default', Buffer.from('#!ipxe\nboot\n')]]);
  const entries = Array.from({ length: 3000 }, (_, i) => ({ file: `groups/node-${i}.json`, id: `node-${i}`, name: `machine ${i}`, profile: 'worker' }));
  const groups = GroupList.of(entries); // as serve --watch keeps it: a full build's array is written from memory
  const temp = join(root, 'tmp');
  await mkdir(temp);
  const manifest = async (dist: string) => readFile(join(dist, 'current/manifest.json'), 'utf8');
  const write = async (name: string, revision: string, list: GroupList) => {
    await writeSnapshot(join(root, name), files, { revision, source: 'test', groups: list });
    return manifest(join(root, name));
  };
  // Two writes of one list: the second copies the list from where the first kept it.
  const [first, again] = await withTmpdir(temp, async () => [await write('spilled', 'r1', groups), await write('spilled', 'r2', groups)]);
  assert.deepEqual(await readdir(temp), [], 'the temp file was unlinked as it was made');
  const open = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  assert.ok(open.some((target) => target.startsWith(join(temp, 'bootcfg-manifest-'))), `the list is kept in a temp file: ${open.join(', ')}`);
  const [held, heldAgain] = await withTmpdir(join(root, 'missing'), async () => {
    const copy = GroupList.of(entries); // another list: its text is made again
    return [await write('held', 'r1', copy), await write('held', 'r2', copy)];
  });
  const parsed = JSON.parse(again) as { revision: string; groups: typeof entries };
  assert.equal(parsed.revision, 'r2');
  assert.deepEqual(parsed.groups, entries);
  assert.equal(first, held);
  assert.equal(again, heldAgain);
  assert.equal(again, first.replace('"revision": "r1"', '"revision": "r2"'));
});
