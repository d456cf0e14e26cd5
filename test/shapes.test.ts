// Selector keys, values and shapes (src/compile/shapes.ts), and how the rewrite shim turns a
// request into candidates over a build's shapes: a few file lookups in try order, every value
// validated before it is part of a path.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerPath, formatShapes, isSelectorKey, parseSelectorValue, parseShapes, shapeDir, shapesFiles, shapesMarker, sortShapes } from '../src/compile/shapes.js';
import { route } from '../src/serve/route.js';

const SHAPES = parseShapes('{"shapes":[[],["mac"],["uuid"],["os","mac"],["arch","os"],["hostname","serial","rack"]]}');
const MAC = '52-54-00-12-34-56';
const UUID = '1cff2cd8-f00a-42c8-9426-f55e6a1847f6';

function files(url: string): string[] | string {
  const r = route('GET', url, SHAPES);
  return r.type === 'file' ? r.candidates.map((c) => c.answer) : r.type === 'error' ? `${r.status} ${r.message}` : `image ${r.path}`;
}

test('keys: the fixed five and labels; format, ip and domain never', () => {
  for (const key of ['uuid', 'mac', 'hostname', 'serial', 'arch', 'os', 'rack_2', 'a', 'a'.repeat(32)]) assert.ok(isSelectorKey(key), key);
  for (const key of ['format', 'ip', 'domain', 'OS', '1os', '_os', 'o-s', 'o.s', '', 'a'.repeat(33)]) assert.ok(!isSelectorKey(key), key);
});

test('values: uuid and mac normalized, others by the contract regex, case kept', () => {
  assert.equal(parseSelectorValue('mac', '52:54:00:12:34:56'), MAC);
  assert.equal(parseSelectorValue('uuid', UUID.toUpperCase()), UUID);
  assert.equal(parseSelectorValue('os', 'Installed-1.2_x'), 'Installed-1.2_x');
  assert.equal(parseSelectorValue('os', '-x'), '-x');
  for (const bad of ['', '.', '..', '.x', 'a/b', 'a%2fb', 'a b', 'a+b', 'a:b', 'ä', 'a'.repeat(64)]) assert.equal(parseSelectorValue('os', bad), undefined, bad);
});

test('shapes: canonical key order, try order (most keys, then uuid before mac), names and paths', () => {
  assert.deepEqual(SHAPES, [['hostname', 'serial', 'rack'], ['mac', 'os'], ['arch', 'os'], ['uuid'], ['mac'], []]);
  assert.deepEqual(sortShapes([[], ['mac'], ['uuid'], ['mac']]), [['uuid'], ['mac'], []]);
  assert.equal(shapeDir(['mac', 'os']), 'mac.os');
  assert.equal(shapeDir([]), 'default');
  assert.equal(answerPath('ipxe', ['mac', 'os'], { mac: MAC, os: 'installed' }), `ipxe/mac.os/${MAC}/installed`);
  assert.equal(answerPath('cloud', [], {}), 'cloud/default');
  assert.equal(answerPath('ipxe', ['mac', 'os'], { mac: MAC }), undefined);
});

test('shapes.json and its marker: one text per set, whatever the order it is given in', () => {
  const a = shapesFiles([[], ['mac'], ['mac', 'os']]);
  const b = shapesFiles([['os', 'mac'], [], ['mac'], ['mac']]);
  assert.deepEqual([...a], [...b]);
  assert.equal(a.get('shapes.json'), '{"shapes":[["mac","os"],["mac"],[]]}\n');
  assert.match(shapesMarker([['mac']]), /^shapes\/[0-9a-f]{16}$/);
  // Every seed-only set is one set for nginx: the block always covers [uuid], [mac] and [].
  assert.equal(shapesMarker([['mac']]), shapesMarker([['uuid'], []]));
  assert.notEqual(shapesMarker([['mac']]), shapesMarker([['mac'], ['mac', 'os']]));
  assert.equal(parseShapes(formatShapes([['uuid'], []])).length, 2);
  for (const bad of ['{}', '{"shapes":[["../x"]]}', '{"shapes":[["mac","mac"]]}', '{"shapes":[[1]]}', `{"shapes":[${'[],'.repeat(300)}[]]}`]) assert.throws(() => parseShapes(bad), Error, bad);
});

test('candidates: each shape whose keys the request all has, in try order', () => {
  assert.deepEqual(files(`/ipxe?mac=${MAC}&os=installed&uuid=${UUID}`), [`ipxe/mac.os/${MAC}/installed`, `ipxe/uuid/${UUID}`, `ipxe/mac/${MAC}`, 'ipxe/default']);
  assert.deepEqual(files('/ipxe?hostname=n1.example&serial=S1&rack=r2&arch=arm64&os=x'), ['ipxe/hostname.serial.rack/n1.example/S1/r2', 'ipxe/arch.os/arm64/x', 'ipxe/default']);
  assert.deepEqual(files('/ipxe?os=installed'), ['ipxe/default']);
  assert.deepEqual(files(`/pixiecore/v1/boot/${MAC}?os=installed`), [`pixiecore/mac/${MAC}`, 'pixiecore/default']);
  assert.deepEqual(files(`/generic?mac=${MAC}`), [`generic/mac/${MAC}`, 'generic/default']);
  assert.deepEqual(files('/metadata?format=json'), ['metadata-json/default']);
  assert.equal(files('/metadata?format=yaml'), '400 invalid format: expected json or nothing');
});

test('keys the build does not use are ignored; the ones it uses are checked in canonical order', () => {
  assert.deepEqual(files('/ipxe?zone=../x&ip=..&domain=%00'), ['ipxe/default']);
  assert.equal(files('/ipxe?os=../x'), '400 invalid os: expected 1 to 63 of A-Z a-z 0-9 . _ -, not starting with a dot');
  assert.equal(files('/ipxe?rack=..&serial=..&os=..'), '400 invalid serial: expected 1 to 63 of A-Z a-z 0-9 . _ -, not starting with a dot');
  // uuid and mac are always checked, as before groups, even by a build that has only a default.
  assert.deepEqual(route('GET', '/ipxe?uuid=../x', [[]]), { type: 'error', status: 400, message: 'invalid uuid: expected 8-4-4-4-12 hex digits' });
});

test('/boot.ipxe passes on the labels of the build, valid, in canonical order', () => {
  const chain = (url: string) => {
    const r = route('GET', url, SHAPES);
    return r.type === 'file' ? r.passOn : `${r.type === 'error' && r.status} ${r.type === 'error' && r.message}`;
  };
  assert.equal(chain('/boot.ipxe?rack=r1&os=installed&zone=z&hostname=h'), '&os=installed&rack=r1');
  assert.equal(chain('/boot.ipxe'), '');
  assert.equal(chain('/boot.ipxe?os=a/b'), '400 invalid os: expected 1 to 63 of A-Z a-z 0-9 . _ -, not starting with a dot');
  assert.equal(chain('/boot.ipxe?serial=a%20b'), '', 'serial is no label: iPXE sends it itself');
});
