// The groups' list as serve --watch keeps it (src/build/group-list.ts): one buffer of text and
// typed arrays must read exactly as the array of entries a full build gives, written into the
// manifest as the same JSON, through a random series of groups added, changed and taken out,
// names in any script (a lone surrogate from a JSON escape included) and files not named for
// their id.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupList, type GroupEntry } from '../src/build/group-list.js';

const byFile = (a: GroupEntry, b: GroupEntry) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);

function entry(i: number, version: number): GroupEntry {
  const id = `node-${i}`;
  const names = [id, '', `machine ${i}`, `café ${i}`, `ноут ${i}`, `rack 🚀 ${i}`, `half \ud800 ${i}`];
  return {
    file: i % 11 === 0 ? `groups/${id}-${version}.json` : `groups/${id}.json`,
    id,
    name: names[(i + version) % names.length]!,
    profile: ['worker', 'storage', 'gpu-ü', 'edge'][(i * 7 + version) % 4]!,
  };
}

test('a list reads back as its entries, and the manifest gets the same JSON', async () => {
  const entries = Array.from({ length: 500 }, (_, i) => entry(i, 0)).sort(byFile);
  const list = GroupList.of(entries);
  assert.equal(list.length, entries.length);
  assert.deepEqual([...list], entries);
  assert.equal(JSON.stringify(list, null, 1), JSON.stringify(entries, null, 1));
  assert.deepEqual([...(await GroupList.yielding(entries, 64))], entries);
  assert.equal(JSON.stringify(GroupList.of([])), '[]');
  for (const [i, group] of entries.entries()) {
    assert.equal(list.indexOf(group.file), i);
    assert.deepEqual(list.get(group.file), group);
    assert.equal(list.fileAt(i), group.file);
    assert.equal(list.profileAt(i), group.profile);
  }
  assert.equal(list.get('groups/none.json'), undefined);
});

test('with() follows an array through groups added, changed and taken out', () => {
  let seed = 7;
  const next = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  let model = Array.from({ length: 300 }, (_, i) => entry(i * 2, 0)).sort(byFile);
  let list = GroupList.of(model);
  for (let step = 1; step <= 300; step++) {
    const changed = new Map<string, GroupEntry | undefined>();
    for (let k = 1 + next(4); k > 0; k--) {
      const pick = next(3);
      if (pick === 0 && model.length > 0) changed.set(model[next(model.length)]!.file, undefined); // taken out
      else if (pick === 1 && model.length > 0) {
        const old = model[next(model.length)]!;
        changed.set(old.file, { ...entry(Number(old.id.slice(5)), step), file: old.file }); // its name or profile changed
      } else {
        const added = entry(600 + next(400), step);
        changed.set(added.file, added);
      }
    }
    const kept = new Map(model.map((group) => [group.file, group]));
    for (const [file, group] of changed) {
      if (group) kept.set(file, group);
      else kept.delete(file);
    }
    model = [...kept.values()].sort(byFile);
    list = list.with(changed);
    assert.deepEqual([...list], model, `step ${step}`);
    const profiles = new Set(['worker', 'gpu-ü']);
    assert.deepEqual(list.filesWith(profiles), model.filter((group) => profiles.has(group.profile)).map((group) => group.file));
    const counts = new Map<string, number>();
    for (const { profile } of model) counts.set(profile, (counts.get(profile) ?? 0) + 1);
    assert.deepEqual(new Map([...list.profileCounts()].sort()), new Map([...counts].sort()));
  }
  assert.equal(JSON.stringify(list, null, 1), JSON.stringify(model, null, 1));
});
