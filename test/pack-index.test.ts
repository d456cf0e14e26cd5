// Issue 11: the answer pack's index keeps the bytes of its live records by group, so a new
// pack decides whether carrying the old pack file pays without a pass over every answer
// (src/serve/pack-index.ts). Held here to the sums over every live slot, large answers (whose
// bytes are not in the pack) and dropped slots included. And it keeps sizes and mtimes in 32
// bits: an answer outside them is served from the snapshot, never with a wrapped mtime.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { AnswerPack } from '../src/serve/pack.js';
import { hashOf } from '../src/build/path-index.js';
import { PackIndex, SMALL_ANSWER } from '../src/serve/pack-index.js';
import { tempDir, writeFiles } from './helpers.js';

/** Bytes of the live records under each group, slot by slot. */
function sums(index: PackIndex, groups: number): number[] {
  const out = new Array<number>(groups + 1).fill(0);
  for (let slot = 0; slot < index.size; slot++) if (index.isLive(slot)) out[index.groups[slot]!]! += index.keyLengths[slot]! + (index.sizes[slot]! > SMALL_ANSWER ? 0 : index.sizes[slot]!);
  return out;
}

test('bytes by group follow adds, a group set on demand, and a carry with groups renumbered, dropped and slots left out', () => {
  const old = new PackIndex();
  let offset = 0;
  for (let i = 0; i < 2000; i++) {
    const path = `ipxe/uuid/${(i % 7).toString(16).padStart(2, '0')}/${i}`;
    const size = i % 97 === 0 ? SMALL_ANSWER + 1 + i : 100 + (i % 13);
    const group = i % 50 === 0 ? 0 : (i % 7) + 1; // some read on demand, before the walk set their group
    old.add(hashOf(path), offset, path.length, size, 0, group);
    offset += path.length + size;
  }
  for (let slot = 0; slot < old.size; slot += 100) old.setGroup(slot, (slot % 7) + 1);
  const before = sums(old, 7);
  for (let group = 0; group <= 7; group++) assert.equal(old.bytesOf(group), before[group], `group ${group}`);
  assert.ok(before.some((bytes, group) => group > 0 && bytes > 0) && before[0]! > 0);

  // Group 1 goes, 2 and 3 swap numbers, the rest keep theirs; three slots dropped (one of them in a group that goes).
  const to = Uint16Array.from([0, 0, 3, 2, 4, 5, 6, 7]);
  const drop = new Set([7, 8, 9]);
  let expected = 0;
  for (let slot = 0; slot < old.size; slot++) if (old.isLive(slot) && to[old.groups[slot]!]! > 0 && !drop.has(slot)) expected += old.recordLength(slot);
  assert.equal(old.carriedBytes(to, drop), expected);

  const next = PackIndex.carry(old, to, drop);
  const after = sums(next, 7);
  for (let group = 0; group <= 7; group++) assert.equal(next.bytesOf(group), after[group], `group ${group} after the carry`);
  assert.equal(after.reduce((a, b) => a + b, 0), expected);
  assert.equal(after[0], 0, 'nothing live without a group');
  for (const slot of drop) assert.equal(next.isLive(slot), false);
});

test('an answer whose mtime or size does not fit the index is served from the snapshot, with its own mtime', async () => {
  const dir = await writeFiles(join(await tempDir(), 'revs', 'r1.0'), { 'ipxe/default': '#!ipxe\n', 'ipxe/uuid/00/old': '#!ipxe\nold\n', 'ipxe/uuid/00/new': '#!ipxe\nnew\n' });
  const times = { old: -100, new: 5_000_000_000 }; // before 1970, after 2106
  for (const [name, seconds] of Object.entries(times)) utimesSync(join(dir, `ipxe/uuid/00/${name}`), new Date(seconds * 1000), new Date(seconds * 1000));
  const pack = new AnswerPack(dir);
  await pack.fill();
  assert.equal(pack.stats().complete, false, 'the walk could not keep every file');
  assert.equal(pack.stats().answers, 1);
  for (let i = 0; i < 2; i++) {
    for (const [name, seconds] of Object.entries(times)) {
      const found = pack.find(`ipxe/uuid/00/${name}`);
      assert.ok(typeof found === 'object');
      assert.deepEqual({ size: found.file.size, mtime: found.file.mtime }, { size: 11, mtime: seconds });
      assert.equal(found.read(0, 11).toString(), `#!ipxe\n${name}\n`);
    }
  }
  const kept = pack.find('ipxe/default');
  assert.ok(typeof kept === 'object' && kept.file.size === 7);
  pack.close();
});

test('trim lets go of empty slots past an eighth, and every answer is found through trims, growth and a carry', () => {
  const index = new PackIndex();
  const pathOf = (i: number) => `cloud/uuid/${i}`;
  const add = (i: number) => index.add(hashOf(pathOf(i)), i * 10, pathOf(i).length, 100 + (i % 5), i, 1 + (i % 3));
  const findAll = (index: PackIndex, count: number, first = 0) => {
    for (let i = first; i < count; i++) {
      const slot = index.find(hashOf(pathOf(i)), (slot) => index.offsets[slot] === i * 10);
      assert.ok(slot >= 0 && index.sizes[slot] === 100 + (i % 5) && index.mtimes[slot] === i && index.groups[slot] === 1 + (i % 3), `answer ${i}`);
    }
  };
  for (let i = 0; i < 4000; i++) add(i);
  const grown = index.hashes.length;
  assert.ok(grown > 4000 * 1.25, `the slots grew past a quarter spare (${grown})`);
  index.trim();
  assert.equal(index.hashes.length, 4000 + (4000 >> 3));
  for (const array of [index.offsets, index.keyLengths, index.sizes, index.mtimes, index.groups]) assert.equal(array.length, index.hashes.length);
  findAll(index, 4000);
  index.trim(); // an eighth spare: nothing to let go
  assert.equal(index.hashes.length, 4000 + (4000 >> 3));
  for (let i = 4000; i < 9000; i++) add(i); // past the trimmed length: grown again
  findAll(index, 9000);
  const next = PackIndex.carry(index, Uint16Array.from([0, 1, 2, 3]), new Set([0]));
  next.trim();
  findAll(next, 9000, 1);
  assert.equal(next.find(hashOf(pathOf(0)), () => true), -1, 'the dropped answer is not found');
  assert.equal(next.live, 8999);
});
