// The kept build's data files (src/build/data-files.ts): sizes and owned answers held by number
// in typed arrays must read exactly as the maps they replace (file → size, file → its answers,
// answer → its owner), through random edits the way an incremental build makes them: a changed
// file's answers let go, answers deleted and added in the hashes (whose freed slots are given
// again), the file's new answers and size set, the hashes re-sorted and the arrays trimmed now
// and then.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { DataFiles } from '../src/build/data-files.js';
import { Digests } from '../src/build/digests.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

test('DataFiles reads as maps of sizes, owned answers and owners through edits, slot reuse and re-sorts', () => {
  let seed = 11;
  const next = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const sizes = new Map<string, number>();
  const owned = new Map<string, string[]>();
  let hashes = Digests.of([], Buffer.alloc(0));
  const files = new DataFiles(hashes);
  const fileName = (i: number) => `boot/${String(i).padStart(3, '0')}.json`;
  const answersOf = (file: string, version: number) =>
    Array.from({ length: version % 4 }, (_, k) => `${['ipxe', 'grub', 'cloud'][k % 3]}/uuid/${file.slice(5, 8)}-${(version + k) % 5}`);

  for (let step = 0; step < 3000; step++) {
    const changed = Array.from({ length: 1 + next(3) }, () => fileName(next(120)));
    const edits = new Map(changed.map((file) => [file, next(6) === 0 ? null : { size: next(5000), paths: answersOf(file, next(9)) }]));
    // What apply() does, in its order.
    for (const file of edits.keys()) files.setOwned(file, []);
    for (const file of edits.keys()) for (const path of owned.get(file) ?? []) hashes.delete(path);
    for (const file of edits.keys()) owned.delete(file);
    for (const [file, edit] of edits) {
      if (edit === null) {
        sizes.delete(file);
        files.setSize(file, undefined);
        continue;
      }
      const taken = new Set([...owned.values()].flat());
      const paths = edit.paths.filter((path) => !taken.has(path)); // one owner an answer, as the builder's collision check makes it
      for (const path of paths) hashes.set(path, sha(`${path} ${step}`));
      sizes.set(file, edit.size);
      files.setSize(file, edit.size);
      if (paths.length > 0) owned.set(file, paths);
      files.setOwned(file, paths);
    }
    if (next(10) === 0) {
      hashes = hashes.sorted();
      files.follow(hashes);
    }
    if (next(40) === 0) files.trim(); // the room past the last owned answer let go, then grown again
    for (const file of new Set([...changed, fileName(next(120))])) {
      assert.equal(files.size(file), sizes.get(file), `${file}'s size at step ${step}`);
      assert.deepEqual(files.owned(file), owned.get(file) ?? [], `${file}'s answers at step ${step}`);
      assert.equal(files.owns(file), owned.has(file));
    }
    assert.equal(files.count, sizes.size);
    assert.equal(files.total, [...sizes.values()].reduce((a, b) => a + b, 0));
  }
  const owners = new Map([...owned].flatMap(([file, paths]) => paths.map((path) => [path, file] as const)));
  assert.equal(owners.size, hashes.size, 'every kept answer has its owner');
  for (const path of hashes.keys()) assert.equal(files.ownerOf(path), owners.get(path), path);
  assert.equal(files.ownerOf('ipxe/uuid/none'), undefined);
});

test('a file without a size may own answers (a source the build names but did not read), and is forgotten with them', () => {
  const hashes = Digests.of(['ipxe/os/a', 'ipxe/os/b', 'ipxe/os/c'], Buffer.alloc(96));
  const files = new DataFiles(hashes);
  files.setOwned('profiles/x.json', ['ipxe/os/a', 'ipxe/os/b', 'ipxe/os/c']);
  assert.equal(files.count, 0);
  assert.equal(files.size('profiles/x.json'), undefined);
  assert.deepEqual(files.owned('profiles/x.json'), ['ipxe/os/a', 'ipxe/os/b', 'ipxe/os/c']);
  files.setOwned('groups/y.json', ['ipxe/os/b']);
  assert.deepEqual(files.owned('profiles/x.json'), ['ipxe/os/a', 'ipxe/os/c'], 'an answer another file takes leaves its first owner');
  files.setOwned('groups/z.json', ['ipxe/os/a']);
  assert.deepEqual(files.owned('profiles/x.json'), ['ipxe/os/c'], 'the first of its answers, too');
  assert.equal(files.ownerOf('ipxe/os/b'), 'groups/y.json');
  files.setOwned('groups/z.json', ['ipxe/os/a', 'ipxe/os/c']);
  assert.equal(files.owns('profiles/x.json'), false, 'a file without a size is forgotten with its last answer');
  assert.deepEqual(files.owned('groups/z.json'), ['ipxe/os/a', 'ipxe/os/c']);
  files.setOwned('groups/z.json', []);
  assert.equal(files.ownerOf('ipxe/os/a'), undefined);
  assert.throws(() => files.setOwned('groups/y.json', ['ipxe/os/none']), /not a kept answer/);
  assert.throws(() => files.setOwned('groups/y.json', ['ipxe/os/a', 'ipxe/os/a']), /named twice/);
  assert.throws(() => files.setSize('groups/y.json', -1), /not a file size/);
});
