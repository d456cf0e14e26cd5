// The kept build's hashes, 32 bytes each in one buffer (src/build/digests.ts), must read exactly
// as the Map of hex strings they replace: through random sets, deletes, re-sorts and growth.
// A store dir's piece (write.ts) is written from them without strings, and must read as JSON.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Digests } from '../src/build/digests.js';
import { pieceText } from '../src/build/write.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

test('Digests reads as a Map of hex hashes through sets, deletes, sorts and growth', () => {
  const paths = Array.from({ length: 50 }, (_, i) => `ipxe/uuid/${String(i).padStart(4, '0')}`);
  const model = new Map(paths.map((path) => [path, sha(path)]));
  let digests = Digests.of(paths, Buffer.from(paths.map((path) => sha(path)).join(''), 'hex'));
  let seed = 7;
  const next = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  for (let step = 0; step < 2000; step++) {
    const path = `ipxe/uuid/${String(next(400)).padStart(4, '0')}`;
    const roll = next(10);
    if (roll < 5) {
      const hash = sha(`${path} ${step}`);
      model.set(path, hash);
      assert.equal(digests.set(path, hash), digests);
    } else if (roll < 8) {
      assert.equal(digests.delete(path), model.delete(path));
    } else if (roll === 8) {
      digests = digests.sorted();
      const sorted = [...model].sort(([a], [b]) => (a < b ? -1 : 1));
      model.clear();
      for (const [key, value] of sorted) model.set(key, value);
    }
    assert.equal(digests.size, model.size);
    assert.equal(digests.has(path), model.has(path));
    assert.equal(digests.get(path), model.get(path));
  }
  assert.deepEqual([...digests], [...model], 'the same entries in the same order');
  assert.deepEqual([...digests.keys()], [...model.keys()]);
  assert.deepEqual([...digests.values()], [...model.values()]);
  const seen: [string, string][] = [];
  digests.forEach((hash, path) => seen.push([path, hash]));
  assert.deepEqual(seen, [...model]);
  assert.throws(() => digests.set('ipxe/default', 'not hex'), /not a sha256/);
});

test('a store dir piece is the JSON of its files and origins as JSON.stringify(…, null, 1) writes it, for any path', () => {
  const odd = ['ipxe/os/plain', 'ipxe/os/with "quote"', 'ipxe/os/back\\slash', 'ipxe/os/ünïcode', 'ipxe/os/tab\there', 'ipxe/os/emoji 🚀', 'cloud/os/x'];
  const bytes = randomBytes(odd.length * 32);
  const digests = Digests.of(odd, bytes);
  const hex = new Map(odd.map((path, i) => [path, bytes.toString('hex', i * 32, i * 32 + 32)]));
  const origins = new Map<string, string>([['ipxe/os/plain', 'groups/a.json'], ['ipxe/os/with "quote"', 'groups/"b".json'], ['cloud/os/x', 'groups/c.json']]);
  const expected = (files: string[]) => `${JSON.stringify({
    files: Object.fromEntries(files.map((path) => [path, hex.get(path)])),
    origins: Object.fromEntries(files.filter((path) => path.startsWith('ipxe/') && origins.has(path)).map((path) => [path, origins.get(path)])),
  }, null, 1)}\n`;
  for (const files of [odd, odd.slice(0, 1), odd.slice(3), ['cloud/os/x'], []]) {
    assert.equal(pieceText(files, digests, origins).toString('utf8'), expected(files), JSON.stringify(files));
    assert.equal(pieceText(files, hex, origins).toString('utf8'), expected(files), JSON.stringify(files));
  }
});

test('sorted() merges a few new paths into many sorted ones, as a full sort would order them', () => {
  const path = (i: number) => (i % 3 === 0 ? `ipxe/uuid/0b00c0f6-0000-4000-8000-${i.toString(16).padStart(12, '0')}` : i % 3 === 1 ? `pixiecore/mac/52-54-00-${(i >> 8).toString(16).padStart(2, '0')}-${(i & 255).toString(16).padStart(2, '0')}-0a` : `ipxe/os/${i}`);
  const all = Array.from({ length: 3000 }, (_, i) => path(i * 2)).sort();
  let digests = Digests.of(all, Buffer.from(all.map(sha).join(''), 'hex'));
  const model = new Map(all.map((p) => [p, sha(p)]));
  let seed = 3;
  const next = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  for (let round = 0; round < 20; round++) {
    for (let k = 0; k < 30; k++) {
      const p = path(next(8000));
      if (next(3) === 0) (digests.delete(p), model.delete(p));
      else (digests.set(p, sha(`${p} ${round}`)), model.set(p, sha(`${p} ${round}`)));
    }
    digests = digests.sorted();
    assert.deepEqual([...digests], [...model].sort(([a], [b]) => (a < b ? -1 : 1)), `round ${round}`);
  }
  // Not given in order: sorted() sorts them all.
  const shuffled = [...all].reverse();
  assert.deepEqual([...Digests.of(shuffled, Buffer.from(shuffled.map(sha).join(''), 'hex')).sorted().keys()], all);
});
