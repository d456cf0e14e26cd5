// Issue 11: what a write tells a server in the same process about the snapshot it just wrote
// (src/build/deltas.ts): the files that changed since the snapshot before, joined over the
// snapshots a server skipped, and nothing for a pair no write described.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deltaBetween, linksWritten, recordDelta } from '../src/build/deltas.js';

test('a delta is found for the pair it was recorded for, and joined over the snapshots between', () => {
  recordDelta('t1.a', 't1.b', ['ipxe/uuid/01/x', 'pixiecore/mac/02/y']);
  recordDelta('t1.b', 't1.c', ['ipxe/uuid/03/z']);
  assert.deepEqual([...deltaBetween('t1.a', 't1.b')!].sort(), ['ipxe/uuid/01/x', 'pixiecore/mac/02/y']);
  assert.deepEqual([...deltaBetween('t1.b', 't1.c')!], ['ipxe/uuid/03/z']);
  assert.deepEqual([...deltaBetween('t1.a', 't1.c')!].sort(), ['ipxe/uuid/01/x', 'ipxe/uuid/03/z', 'pixiecore/mac/02/y']);
  assert.equal(deltaBetween('t1.c', 't1.a'), undefined, 'not backwards');
  assert.equal(deltaBetween('t1.x', 't1.c'), undefined, 'not from a snapshot no write started from');
  assert.equal(deltaBetween('t1.a', 't1.x'), undefined, 'not to a snapshot this process did not write');
});

test('deltas are bounded: the oldest are forgotten, and one too large is not kept', () => {
  for (let i = 0; i < 6; i++) recordDelta(`t2.${i}`, `t2.${i + 1}`, [`ipxe/uuid/00/${i}`]);
  assert.equal(deltaBetween('t2.0', 't2.1'), undefined, 'forgotten');
  assert.deepEqual([...deltaBetween('t2.5', 't2.6')!], ['ipxe/uuid/00/5']);
  assert.equal(deltaBetween('t2.2', 't2.6')?.size, 4);
  recordDelta('t2.6', 't2.7', Array.from({ length: 200_001 }, (_, i) => `ipxe/uuid/00/${i}`));
  assert.equal(deltaBetween('t2.6', 't2.7'), undefined, 'too large a change: read as before');
  assert.equal(deltaBetween('t2.5', 't2.6')?.size, 1, 'the others kept');
});

test('a snapshot\'s written store links are found only for the directory they were written in', () => {
  const names: [string, string][] = [['ipxe/uuid/01', 'ipxe_uuid_01.0011223344556677']];
  recordDelta('t3.a', 't3.b', ['ipxe/uuid/01/x'], { dir: '/srv/dist/revs/t3.b', names });
  assert.deepEqual(linksWritten('t3.b', '/srv/dist/revs/t3.b'), names);
  assert.equal(linksWritten('t3.b', '/srv/other/revs/t3.b'), undefined, 'the same snapshot id in another dist has its own store dirs');
  recordDelta('t3.b', 't3.c', ['ipxe/uuid/01/y']);
  assert.equal(linksWritten('t3.c', '/srv/dist/revs/t3.c'), undefined, 'none recorded');
  assert.equal(linksWritten('t3.b', '/srv/dist/revs/t3.b'), undefined, 'only the newest snapshot\'s are kept');
  assert.deepEqual([...deltaBetween('t3.a', 't3.c')!].sort(), ['ipxe/uuid/01/x', 'ipxe/uuid/01/y'], 'the files are');
});
