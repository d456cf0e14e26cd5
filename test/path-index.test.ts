// The kept build's string → number index (src/build/path-index.ts) must answer as a Map would,
// through growth and through deletions in the middle of probe chains (it shifts entries back).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PathIndex, hashOf } from '../src/build/path-index.js';
import { PathStore } from '../src/build/path-store.js';

test('PathIndex answers as a Map through adds, deletes and growth', () => {
  const names = new PathStore();
  let numbered = 0;
  const free: number[] = [];
  const index = new PathIndex(names);
  const model = new Map<string, number>();
  let seed = 11;
  const next = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  for (let step = 0; step < 60_000; step++) {
    // Grows to ~3k keys (past the smallest table, 1,024), then shrinks and grows again.
    const key = `ipxe/uuid/${next(step < 30_000 ? 4000 : 1500).toString(16)}`;
    if (next(3) > 0 || step > 50_000) {
      if (model.has(key)) continue;
      const id = free.pop() ?? numbered++;
      names.set(id, key);
      index.add(id, step % 2 ? key : undefined);
      model.set(key, id);
    } else {
      assert.equal(index.delete(key), model.get(key));
      if (!model.has(key)) continue;
      names.delete(model.get(key)!);
      free.push(model.get(key)!);
      model.delete(key);
    }
    if (step % 97 === 0) for (const [name, id] of model) assert.equal(index.get(name), id, name);
  }
  assert.equal(index.size, model.size);
  for (const [name, id] of model) assert.equal(index.get(name), id);
  for (let i = 0; i < 5000; i++) assert.equal(index.has(`ipxe/uuid/${i.toString(16)}`), model.has(`ipxe/uuid/${i.toString(16)}`));
  assert.equal(index.delete('never added'), undefined);
});

test('the hash spreads paths that differ only in their last characters', () => {
  const buckets = new Uint32Array(1024);
  const hex = (byte: number) => byte.toString(16).padStart(2, '0');
  for (let i = 0; i < 100_000; i++) {
    const at = hashOf(`ipxe/mac/52-54-00-${hex(i >> 16)}-${hex((i >> 8) & 255)}-${hex(i & 255)}`) & 1023;
    buckets[at] = buckets[at]! + 1;
  }
  // ~98 a bucket on average: none may be far off (a sum of the characters would leave most empty).
  assert.ok(Math.max(...buckets) < 160 && Math.min(...buckets) > 45, `${Math.min(...buckets)}..${Math.max(...buckets)}`);
});
