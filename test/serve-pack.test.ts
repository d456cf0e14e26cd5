// The answer pack (src/serve/pack.ts) keeps what serve read from a snapshot and answers from
// it without touching the snapshot's files again. These tests hold it to what must not change:
// a snapshot removed under the server is never answered from, a snapshot rebuilt at the same
// path is read afresh, and a new build replaces every packed answer.

import assert from 'node:assert/strict';
import { realpath, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { bootConfig, eventually, get, runCli, sampleData, startServe, tempDir, writeFiles } from './helpers.js';

async function built(): Promise<{ data: string; dist: string; images: string }> {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  const images = await writeFiles(join(root, 'images'), { vmlinuz: 'kernel\n' });
  const dist = join(root, 'dist');
  await build(data, dist);
  return { data, dist, images };
}

async function build(data: string, dist: string): Promise<void> {
  const result = await runCli(['build', '--data-path', data, '--dist-path', dist]);
  assert.equal(result.code, 0, result.stderr);
}

test('a packed answer is not served once its snapshot is removed: 503 at once, as nginx', async () => {
  const site = await built();
  const serve = await startServe(['--dist-path', site.dist, '--images-path', site.images]);
  for (let i = 0; i < 3; i++) assert.equal((await get(serve.url, '/ipxe')).status, 200); // packed after the first
  await rm(site.dist, { recursive: true, force: true });
  const gone = await get(serve.url, '/ipxe');
  assert.equal(gone.status, 503, gone.body);
  assert.equal(gone.headers['x-bootcfg-revision'], undefined);
});

test('a snapshot rebuilt at the same path is read afresh, not from the old pack', async () => {
  const site = await built();
  const snapshot = await realpath(join(site.dist, 'current'));
  await utimes(join(snapshot, 'ipxe/default'), 1_000_000_000, 1_000_000_000); // a date no rebuild gives it
  const serve = await startServe(['--dist-path', site.dist, '--images-path', site.images]);
  const packed = await get(serve.url, '/ipxe');
  assert.equal(packed.headers['last-modified'], new Date(1_000_000_000_000).toUTCString());
  await rm(snapshot, { recursive: true });
  await build(site.data, site.dist); // the same data: the same revision, the same directory
  assert.equal(await realpath(join(site.dist, 'current')), snapshot);
  const mtime = Math.floor((await stat(join(snapshot, 'ipxe/default'))).mtimeMs / 1000);
  const after = await get(serve.url, '/ipxe');
  assert.equal(after.status, 200);
  assert.equal(after.headers['last-modified'], new Date(mtime * 1000).toUTCString());
  assert.equal(after.headers.etag, `"${mtime.toString(16)}-${Buffer.byteLength(after.body).toString(16)}"`);
});

test('a new build replaces every packed answer, hits and misses alike', async () => {
  const site = await built();
  const serve = await startServe(['--dist-path', site.dist, '--images-path', site.images]);
  const stranger = '/ipxe?mac=52:54:00:aa:bb:cc';
  assert.match((await get(serve.url, stranger)).body, /images\/default\/vmlinuz/); // a miss, then the default
  assert.match((await get(serve.url, '/ipxe')).body, /images\/default\/vmlinuz/);
  await writeFiles(site.data, { 'boot/default': bootConfig('/images/second/vmlinuz'), 'boot/mac/52:54:00:aa:bb:cc': bootConfig('/images/stranger/vmlinuz') });
  await build(site.data, site.dist);
  await eventually(async () => /images\/second\/vmlinuz/.test((await get(serve.url, '/ipxe')).body), 'the new default');
  assert.match((await get(serve.url, stranger)).body, /images\/stranger\/vmlinuz/, 'a miss of the old build is not a miss of the new one');
});
