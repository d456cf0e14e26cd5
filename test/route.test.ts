import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath, queryArg, route } from '../src/serve/route.js';

const U = '1cff2cd8-f00a-42c8-9426-f55e6a1847f6';

function files(url: string): string[] | string {
  const r = route('GET', url);
  return r.type === 'file' ? r.candidates.map((c) => c.path) : r.type === 'error' ? `${r.status} ${r.message}` : `image ${r.path}`;
}

test('candidates come in selection order: uuid, mac, default', () => {
  assert.deepEqual(files(`/ipxe?uuid=${U}&mac=52:54:00:12:34:56`), [`ipxe/uuid/${U.slice(-2)}/${U}`, 'ipxe/mac/56/52-54-00-12-34-56', 'ipxe/default']);
  assert.deepEqual(files(`/cloud?mac=52-54-00-12-34-56&uuid=${U.toUpperCase()}`), [`cloud/uuid/${U.slice(-2)}/${U}`, 'cloud/mac/56/52-54-00-12-34-56', 'cloud/default']);
  assert.deepEqual(files('/ipxe'), ['ipxe/default']);
  assert.deepEqual(files('/ipxe?uuid=&mac=&hostname=node1&serial=x&arch=x86_64'), ['ipxe/default']);
  assert.deepEqual(files('/pixiecore/v1/boot/52:54:00:12:34:56'), ['pixiecore/mac/56/52-54-00-12-34-56', 'pixiecore/default']);
  assert.deepEqual(files('/boot.ipxe'), ['boot.ipxe']);
  assert.deepEqual(files('/boot.ipxe.0'), ['boot.ipxe']);
});

test('query parameters read as nginx reads $arg_: any-case names, first occurrence wins', () => {
  assert.equal(queryArg('MAC=a&mac=b', 'mac'), 'a');
  assert.equal(queryArg('xmac=a&mac=b', 'mac'), 'b');
  assert.equal(queryArg('mac&mac=b', 'mac'), 'b');
  assert.equal(queryArg('mac=', 'mac'), undefined);
});

test('iPXE percent-encoded colons are accepted; every other escape is a 400', () => {
  assert.deepEqual(files('/ipxe?mac=52%3A54%3a00%3A12%3A34%3A56'), ['ipxe/mac/56/52-54-00-12-34-56', 'ipxe/default']);
  for (const bad of ['/ipxe?mac=52%2D54%2D00%2D12%2D34%2D56', '/ipxe?mac=..%2F..%2Fetc', '/ipxe?uuid=%2e%2e%2fREVISION', '/ipxe?mac=52:54:00:12:34:56%00', '/ipxe?uuid=a+b', '/ipxe?mac=%253A']) {
    assert.match(String(files(bad)), /^400 invalid (mac|uuid)/, bad);
  }
});

test('malformed selecting parameters are 400s, never paths', () => {
  assert.equal(files('/ipxe?uuid=../../manifest.json'), '400 invalid uuid: expected 8-4-4-4-12 hex digits');
  assert.equal(files('/ipxe?mac=../REVISION'), '400 invalid mac: expected 6 hex octets, like 52:54:00:12:34:56');
  assert.equal(files(`/ipxe?mac=${'a'.repeat(5000)}`), '400 invalid mac: expected 6 hex octets, like 52:54:00:12:34:56');
  assert.equal(files(`/ipxe?uuid=${U}&mac=zz`), '400 invalid mac: expected 6 hex octets, like 52:54:00:12:34:56');
  assert.equal(files('/pixiecore/v1/boot/..%2f..%2fREVISION'), '404 not found');
  assert.equal(files('/pixiecore/v1/boot/%2e%2e'), '404 not found');
  assert.equal(files('/pixiecore/v1/boot/52:54:00:12:34:56%2fx'), '400 invalid mac: expected 6 hex octets, like 52:54:00:12:34:56');
});

test('paths are normalized as nginx does before routing', () => {
  assert.equal(normalizePath('/a//b/./c/../d'), '/a/b/d');
  assert.equal(normalizePath('/ipxe/../boot.ipxe'), '/boot.ipxe');
  assert.equal(normalizePath('/%2e%2e/x'), undefined);
  assert.equal(normalizePath('/..'), undefined);
  assert.equal(normalizePath('/a%00b'), undefined);
  assert.equal(normalizePath('/%zz'), undefined);
  assert.equal(normalizePath('/images/a/'), '/images/a/');
  assert.deepEqual(files('/images/flatcar/../../dist/current/REVISION'), '404 not found');
  assert.equal(files('/images/../../etc/passwd'), '400 bad request');
  assert.equal(files('/images/.hidden'), '404 not found');
  assert.equal(files('/images/flatcar/'), '404 not found');
  assert.equal(files('/images/flatcar/vmlinuz'), 'image /flatcar/vmlinuz');
});

test('other methods are 405, unknown routes 404', () => {
  const post = route('POST', '/ipxe');
  assert.equal(post.type === 'error' && post.status, 405);
  assert.equal(files('/ipxe/'), '404 not found');
  assert.equal(files('/manifest.json'), '404 not found');
  assert.equal(files('/current/REVISION'), '404 not found');
});
