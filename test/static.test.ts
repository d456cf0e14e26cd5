// The pure half of src/serve/static.ts: nginx's range parser and HTTP date reader, edge by edge.
// The conformance suite checks the answers against a real nginx; these pin the corners it
// would take many requests to reach.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { etagOf, filePlan, parseHttpTime, parseRange } from '../src/serve/static.js';

test('ranges are parsed as nginx parses them with max_ranges 1', () => {
  assert.deepEqual(parseRange('0-0', 6), [0, 1]);
  assert.deepEqual(parseRange('-2', 6), [4, 6]);
  assert.deepEqual(parseRange('-100', 6), [0, 6]);
  assert.deepEqual(parseRange('3-100', 6), [3, 6]);
  assert.deepEqual(parseRange(' 1 - 2 ', 6), [1, 3]);
  assert.deepEqual(parseRange('9-10,0-1', 6), [0, 2], 'unsatisfiable members are dropped');
  assert.equal(parseRange('0-0,2-3', 6), 'whole', 'several ranges: the whole file');
  assert.equal(parseRange('0-', 0), 'whole', 'an empty file from 0: the whole (empty) file');
  for (const spec of ['6-', '5-2', '-0', 'abc', '0-1,', '', '1-2-3', '9999999999999999999-']) assert.equal(parseRange(spec, 6), 'unsatisfiable', spec);
});

test('HTTP dates in all three formats, and nothing else', () => {
  const t = Date.UTC(1994, 10, 6, 8, 49, 37) / 1000;
  assert.equal(parseHttpTime('Sun, 06 Nov 1994 08:49:37 GMT'), t);
  assert.equal(parseHttpTime('Sunday, 06-Nov-94 08:49:37 GMT'), t);
  assert.equal(parseHttpTime('Sun Nov  6 08:49:37 1994'), t);
  for (const bad of ['yesterday', 'Sun, 31 Feb 2015 00:00:00 GMT', 'Sun, 06 Foo 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 24:00:00 GMT', '']) assert.equal(parseHttpTime(bad), undefined, bad);
});

test('preconditions come before ranges; If-Range needs the exact ETag or date', () => {
  const stat = { size: 6, mtime: 1451347200 };
  const etag = etagOf(stat);
  assert.equal(etag, '"5681cd00-6"', 'mtime and size in lowercase hex');
  const plan = (headers: Record<string, string>) => filePlan((name) => headers[name], stat);
  assert.equal(plan({ 'if-none-match': '*', range: 'bytes=0-0' }).status, 304);
  assert.equal(plan({ 'if-match': '"x"', range: 'bytes=0-0' }).status, 412);
  assert.equal(plan({ range: 'bytes=0-0', 'if-range': etag }).status, 206);
  assert.equal(plan({ range: 'bytes=0-0', 'if-range': `W/${etag}` }).status, 200);
  assert.equal(plan({ range: 'bytes=0-0', 'if-range': new Date(stat.mtime * 1000).toUTCString() }).status, 206);
  assert.equal(filePlan((name) => ({ range: 'bytes=0-0' })[name], stat, false).status, 200, 'a rewritten body is never ranged');
});
