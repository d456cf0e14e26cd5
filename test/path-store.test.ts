// The kept build's paths held as bytes (src/build/path-store.ts) must read back exactly as put
// in, whatever the path: the forms it packs (lowercase UUIDs and MACs after a two-directory
// prefix) and everything that only looks like them, through deletes, reuse and compaction.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashOf } from '../src/build/path-index.js';
import { PathStore } from '../src/build/path-store.js';

const shapes = [
  'ipxe/uuid/0b00c0f6-0000-4000-8000-00000000380e',
  'ipxe/uuid/0B00C0F6-0000-4000-8000-00000000380E', // uppercase: kept byte for byte
  'ipxe/uuid/0b00c0f6-0000-4000-8000-00000000380', // one digit short
  'ipxe/uuid/0b00c0f6-0000-4000-8000-00000000380e/extra',
  'pixiecore/mac/52-54-00-01-69-e9',
  'boot/mac/52:54:00:01:69:e9',
  'boot/mac/52:54-00:01:69:e9', // mixed separators
  'boot/mac/52-54-00-01-69-e',
  'ipxe/mac.os/52-54-00-01-69-e9/coreos',
  '0b00c0f6-0000-4000-8000-00000000380e', // no prefix
  'groups/52-54-00-01-69-e9', // one directory
  'ipxe/default',
  'boot.ipxe',
  '',
  'ipxe/os/ünïcode ÿ',
  'ipxe/os/emoji 🚀',
  'ipxe/os/lone \ud800 surrogate',
  '中文/路径/文件',
  `${'d'.repeat(100)}/${'e'.repeat(100)}/0b00c0f6-0000-4000-8000-00000000380e`, // past the longest prefix
  'a//b',
  '//',
];

test('a PathStore reads every path back as it was put in, and finds it without reading it back', () => {
  const store = new PathStore();
  shapes.forEach((path, id) => store.set(id, path));
  shapes.forEach((path, id) => {
    assert.equal(store.at(id), path, JSON.stringify(path));
    assert.ok(store.equals(id, path), JSON.stringify(path));
    assert.equal(store.hashAt(id), hashOf(path));
    for (const other of shapes) if (other !== path) assert.ok(!store.equals(id, other), `${JSON.stringify(path)} is not ${JSON.stringify(other)}`);
  });
  assert.equal(store.at(shapes.length), undefined);
  assert.ok(!store.equals(shapes.length, ''));
  store.delete(3);
  assert.ok(!store.has(3));
  assert.equal(store.at(3), undefined);
  store.set(4, 'ipxe/os/replaced');
  assert.equal(store.at(4), 'ipxe/os/replaced');
});

test('a PathStore keeps the fleet\'s paths in a few bytes each, and compacts what deletes leave', () => {
  const store = new PathStore();
  const uuid = (i: number) => `0b00c0f6-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
  const mac = (i: number) => `52-54-00-${[i >> 16, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join('-')}`;
  const path = (i: number) => (i % 2 ? `ipxe/uuid/${uuid(i)}` : `pixiecore/mac/${mac(i)}`);
  for (let i = 0; i < 10_000; i++) store.set(i, path(i));
  // 19 bytes a UUID's path, 9 a MAC's: 140 kB, where the strings were ~640 kB of heap.
  assert.equal(store.footprint.live, 5000 * 19 + 5000 * 9);
  // Churn: each number's path replaced many times over; the bytes laid stay near the live ones.
  let seed = 5;
  const next = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const model = new Map<number, string>();
  for (let i = 0; i < 10_000; i++) model.set(i, path(i));
  for (let step = 0; step < 200_000; step++) {
    const id = next(12_000);
    if (next(4) === 0) {
      store.delete(id);
      model.delete(id);
    } else {
      const p = next(8) === 0 ? `ipxe/os/${'x'.repeat(next(40))}${step}` : path(next(1 << 20));
      store.set(id, p);
      model.set(id, p);
    }
    assert.ok(store.footprint.laid <= 2 * store.footprint.live + 64 * 1024 + 200, `${store.footprint.laid} laid for ${store.footprint.live} live`);
  }
  for (let id = 0; id < 12_000; id++) assert.equal(store.at(id), model.get(id));
  store.trim();
  assert.equal(store.footprint.laid, store.footprint.live);
  for (let id = 0; id < 12_000; id++) assert.equal(store.at(id), model.get(id));
  store.set(20_000, 'ipxe/os/after the trim');
  assert.equal(store.at(20_000), 'ipxe/os/after the trim');
  assert.equal(store.at(11_999), model.get(11_999));
});
