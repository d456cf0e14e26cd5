// The fleet view reveals the fleet, so it is off unless enabled: an admin listener of its own
// (--admin-address), or BOOTCFG_ADMIN_TOKEN (then on the boot address, behind the token). What
// serve answers itself feeds it live; its answer links read only answers of the live build.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from '../src/build/build.js';
import { get, sampleData, startServe, tempDir, writeFiles } from './helpers.js';

async function dist(): Promise<{ distPath: string; imagesPath: string }> {
  const root = await tempDir();
  const distPath = join(root, 'dist');
  const imagesPath = join(root, 'images');
  await mkdir(imagesPath);
  await build({ dataPath: await writeFiles(join(root, 'data'), sampleData()), distPath });
  return { distPath, imagesPath };
}

test('without --admin-address or BOOTCFG_ADMIN_TOKEN there is no fleet view', async () => {
  const { distPath, imagesPath } = await dist();
  const serve = await startServe(['--dist-path', distPath, '--images-path', imagesPath]);
  for (const path of ['/-/machines', '/-/machines.json', '/-/machines/answer?path=ipxe/default']) assert.equal((await get(serve.url, path)).status, 404, path);
});

test('BOOTCFG_ADMIN_TOKEN puts the fleet view on the boot address behind the token', async () => {
  const { distPath, imagesPath } = await dist();
  const serve = await startServe(['--dist-path', distPath, '--images-path', imagesPath], { BOOTCFG_ADMIN_TOKEN: 's3cret' });
  await get(serve.url, '/ipxe?mac=52:54:00:12:34:56');
  const refused = await get(serve.url, '/-/machines');
  assert.equal(refused.status, 401);
  assert.match(String(refused.headers['www-authenticate']), /^Basic realm="bootcfg admin"/);
  assert.equal((await get(serve.url, '/-/machines.json', 'GET', { Authorization: 'Bearer wrong' })).status, 401);
  const basic = await get(serve.url, '/-/machines', 'GET', { Authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` });
  assert.equal(basic.status, 200);
  assert.match(String(basic.headers['content-type']), /^text\/html/);
  const json = JSON.parse((await get(serve.url, '/-/machines.json', 'GET', { Authorization: 'Bearer s3cret' })).body) as { machines: { id: string; answer: string }[] };
  // What serve answered is in it; the admin requests themselves are not machines.
  assert.deepEqual(json.machines.map((m) => [m.id, m.answer]), [['mac:52-54-00-12-34-56', 'mac/52-54-00-12-34-56']]);
});

test('answer links read only the live build\'s answers', async () => {
  const { distPath, imagesPath } = await dist();
  const serve = await startServe(['--dist-path', distPath, '--images-path', imagesPath, '--admin-address', '127.0.0.1:0']);
  const admin = /fleet view on (http:\/\/\S+)\/-\/machines/.exec(serve.stderr())![1]!;
  const ok = await get(admin, '/-/machines/answer?path=ipxe/mac/52-54-00-12-34-56');
  assert.equal(ok.status, 200);
  assert.match(ok.body, /^#!ipxe\nkernel \/images\/by-mac\/vmlinuz/);
  for (const path of ['manifest.json', '../../../etc/passwd', 'ipxe/../manifest.json', '/etc/passwd', 'ipxe/mac/52-54-00-00-00-00']) {
    assert.equal((await get(admin, `/-/machines/answer?path=${encodeURIComponent(path)}`)).status, 404, path);
  }
  assert.equal((await get(admin, '/-/machines', 'POST')).status, 405);
  assert.equal((await get(admin, '/ipxe')).status, 404); // the admin listener serves no boot answers
});
