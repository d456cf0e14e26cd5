// The URL contract against a real `bootcfg serve` on 127.0.0.1, port 0, over real files.

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, get, sampleData, startServe, tempDir, writeFiles, UUID, type ServeProcess } from './helpers.js';

let server: ServeProcess;
let dist: string;

before(async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  const images = join(root, 'images');
  await mkdir(join(images, 'flatcar'), { recursive: true });
  await writeFile(join(images, 'flatcar', 'vmlinuz'), 'KERNEL');
  await writeFile(join(images, '.secret'), 'hidden');
  dist = join(root, 'dist');
  server = await startServe(['--data-path', data, '--dist-path', dist, '--images-path', images]);
});

const kernelOf = (body: string) => /^kernel (\S+)/m.exec(body)?.[1];

test('GET /boot.ipxe and /boot.ipxe.0 chainload to /ipxe with the machine attributes', async () => {
  for (const path of ['/boot.ipxe', '/boot.ipxe.0']) {
    const res = await get(server.url, path);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.match(res.body, /^#!ipxe\nchain ipxe\?uuid=\$\{uuid\}&mac=\$\{net0\/mac:hexhyp\}&/);
  }
});

test('uuid beats mac beats default, for iPXE and cloud configs', async () => {
  const mac = '52:54:00:12:34:56';
  assert.equal(kernelOf((await get(server.url, `/ipxe?uuid=${UUID}&mac=${mac}`)).body), '/images/by-uuid/vmlinuz');
  assert.equal(kernelOf((await get(server.url, `/ipxe?uuid=00000000-0000-0000-0000-000000000000&mac=${mac}`)).body), '/images/by-mac/vmlinuz');
  assert.equal(kernelOf((await get(server.url, '/ipxe?uuid=00000000-0000-0000-0000-000000000000&mac=52:54:00:00:00:00')).body), '/images/default/vmlinuz');
  assert.equal(kernelOf((await get(server.url, '/ipxe')).body), '/images/default/vmlinuz', 'no parameters gets the default');
  assert.equal((await get(server.url, `/cloud?uuid=${UUID}&mac=${mac}`)).body, '#cloud-config\nhostname: by-uuid\n');
  assert.equal((await get(server.url, `/cloud?mac=${mac}`)).body, '#cloud-config\nhostname: by-mac\n');
  assert.equal((await get(server.url, '/cloud?hostname=x&serial=y&domain=z&arch=x86_64')).body, '#cloud-config\nhostname: default\n');
});

test('every MAC spelling selects the same machine, including colons percent-encoded as iPXE sends them', async () => {
  for (const mac of ['52:54:00:12:34:56', '52-54-00-12-34-56', '525400123456', '52:54:00:12:34:56'.toUpperCase(), '52-54-00-12-34-56'.toUpperCase(), '5254.0012.3456', '52%3A54%3A00%3A12%3A34%3A56', '52%3a54%3a00%3a12%3a34%3a56']) {
    const res = await get(server.url, `/ipxe?mac=${mac}`);
    assert.equal(res.status, 200, mac);
    assert.equal(kernelOf(res.body), '/images/by-mac/vmlinuz', mac);
  }
  assert.equal(kernelOf((await get(server.url, `/ipxe?uuid=${UUID.toUpperCase()}`)).body), '/images/by-uuid/vmlinuz', 'uuid in upper case');
});

test('GET /pixiecore/v1/boot/<mac> answers Pixiecore API JSON, falling back to the default', async () => {
  for (const mac of ['52:54:00:12:34:56', '52-54-00-12-34-56', '525400123456', '52%3A54%3A00%3A12%3A34%3A56']) {
    const res = await get(server.url, `/pixiecore/v1/boot/${mac}`);
    assert.equal(res.status, 200, mac);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(res.body), { kernel: '/images/by-mac/vmlinuz', initrd: ['/images/by-mac/vmlinuz.initrd'], cmdline: 'console=ttyS0 quiet' });
  }
  assert.equal(JSON.parse((await get(server.url, '/pixiecore/v1/boot/52:54:00:ff:ff:ff')).body).kernel, '/images/default/vmlinuz');
  for (const bad of ['/pixiecore/v1/boot/', '/pixiecore/v1/boot/52:54:00:12:34:56/x', '/pixiecore/v1/boot/node1']) {
    assert.deepEqual([(await get(server.url, bad)).status, (await get(server.url, bad)).body], [400, 'invalid mac: expected 6 hex octets, like 52:54:00:12:34:56\n'], bad);
  }
});

test('GET /images/… serves static assets, never dotfiles or directories', async () => {
  const res = await get(server.url, '/images/flatcar/vmlinuz');
  assert.equal(res.status, 200);
  assert.equal(res.body, 'KERNEL');
  assert.equal(res.headers['cache-control'], 'no-cache');
  for (const path of ['/images/.secret', '/images/flatcar/', '/images/flatcar', '/images/missing']) {
    assert.deepEqual([(await get(server.url, path)).status, (await get(server.url, path)).body], [404, 'not found\n'], path);
  }
});

test('traversal attempts get 400 or 404 and never a file', async () => {
  const attempts = [
    '/ipxe?uuid=../../current/REVISION', '/ipxe?mac=../manifest.json', '/ipxe?mac=..%2f..%2fREVISION', '/ipxe?mac=..%252f..%252fREVISION',
    '/ipxe?uuid=%00', `/ipxe?mac=52:54:00:12:34:56%00`, `/cloud?mac=${'5'.repeat(5000)}`, '/cloud?uuid=%2e%2e%2fmanifest.json',
    '/pixiecore/v1/boot/..%2f..%2fmanifest.json', '/pixiecore/v1/boot/%2e%2e%2f%2e%2e%2fREVISION', '/images/../dist/current/REVISION',
    '/images/..%2f..%2fetc%2fpasswd', '/images/%2e%2e/%2e%2e/etc/passwd', '/images/flatcar%00/vmlinuz', '/../../etc/passwd', '/manifest.json',
    '/REVISION', '/current/REVISION', '/ipxe/default', '/revs/',
  ];
  const secrets = [await readFile(join(dist, 'current', 'REVISION'), 'utf8'), '"files"', 'root:'];
  for (const path of attempts) {
    const res = await get(server.url, path);
    assert.ok(res.status === 400 || res.status === 404, `${path} → ${res.status}`);
    for (const secret of secrets) assert.ok(!res.body.includes(secret.trim()), `${path} leaked a file`);
    assert.match(res.body, /^[^\n]+\n$/, 'a one-line reason');
  }
  assert.equal((await get(server.url, '/ipxe?uuid=../x')).body, 'invalid uuid: expected 8-4-4-4-12 hex digits\n');
  assert.equal((await get(server.url, '/ipxe?mac=../x')).body, 'invalid mac: expected 6 hex octets, like 52:54:00:12:34:56\n');
  const tooLong = await get(server.url, `/ipxe?mac=${'5'.repeat(9000)}`);
  assert.deepEqual([tooLong.status, tooLong.body], [414, 'request too long\n']);
});

test('every answer says no-cache and names its revision; HEAD answers without a body', async () => {
  const revision = (await readFile(join(dist, 'current', 'REVISION'), 'utf8')).trim();
  for (const path of ['/boot.ipxe', '/ipxe', '/cloud', '/pixiecore/v1/boot/525400123456', '/nope', '/ipxe?mac=x']) {
    const res = await get(server.url, path);
    assert.equal(res.headers['cache-control'], 'no-cache', path);
    assert.equal(res.headers['x-bootcfg-revision'], revision, path);
  }
  const head = await get(server.url, `/ipxe?uuid=${UUID}`, 'HEAD');
  const full = await get(server.url, `/ipxe?uuid=${UUID}`);
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal(head.headers['content-length'], String(Buffer.byteLength(full.body)));
  const post = await get(server.url, '/ipxe', 'POST');
  assert.deepEqual([post.status, post.headers.allow, post.body], [405, 'GET, HEAD', 'method not allowed\n']);
});

test('unknown routes are 404 with a one-line reason', async () => {
  for (const path of ['/', '/ipxe/', '/status', '/boot.ipxe.1', '/pixiecore/v1/', '/pixiecore/v1/boot']) {
    const res = await get(server.url, path);
    assert.equal(res.status, 404, path);
    assert.equal(res.body, 'not found\n', path);
  }
});

test('each request is logged with the file that answered it and the revision', async () => {
  const revision = (await readFile(join(dist, 'current', 'REVISION'), 'utf8')).trim();
  await get(server.url, `/ipxe?uuid=00000000-0000-0000-0000-000000000000&mac=52-54-00-12-34-56&hostname=n1`);
  const logged = () => server.log.findLast((e) => String(e.path).includes('hostname=n1'));
  await eventually(async () => logged() !== undefined, 'the access-log line');
  const entry = logged()!;
  assert.equal(entry.path, '/ipxe?uuid=00000000-0000-0000-0000-000000000000&mac=52-54-00-12-34-56&hostname=n1');
  assert.deepEqual([entry.status, entry.answer, entry.file, entry.revision, entry.client], [200, 'mac', 'ipxe/mac/52-54-00-12-34-56', revision, '127.0.0.1']);
  assert.match(String(entry.time), /^\d{4}-\d\d-\d\dT/);
});

test('a malformed or backwards Range is answered as nginx answers it, and never takes the server down', async () => {
  const full = await get(server.url, '/images/flatcar/vmlinuz');
  const expected: Record<string, number> = { 'bytes=100-50': 416, 'bytes=-3': 206, 'bytes=0-0,2-3': 200, 'bytes=x-y': 416, 'items=0-1': 200 };
  for (const [range, status] of Object.entries(expected)) {
    const res = await get(server.url, '/images/flatcar/vmlinuz', 'GET', { range });
    assert.equal(res.status, status, range);
    if (status === 200) assert.equal(res.body, full.body, range);
    const ipxe = await get(server.url, '/ipxe', 'GET', { range });
    assert.equal(ipxe.status, status, `/ipxe with ${range}`); // compiled answers take ranges too, as from nginx
    if (status === 200) assert.match(ipxe.body, /^#!ipxe\n/);
  }
  const part = await get(server.url, '/images/flatcar/vmlinuz', 'GET', { range: 'bytes=1-3' });
  assert.deepEqual([part.status, part.body], [206, 'ERN']);
  assert.equal((await get(server.url, '/boot.ipxe')).status, 200, 'still serving');
});

test('a double-encoded image path is not decoded a second time (no dotfiles, no other files)', async () => {
  for (const path of ['/images/%252esecret', '/images/flatcar/%2576mlinuz', '/images/flatcar%252fvmlinuz', '/images/flatcar/vmlinuz%3Fx', '/images/flatcar/vmlinuz%23x']) {
    const res = await get(server.url, path);
    assert.deepEqual([res.status, res.body], [404, 'not found\n'], path);
  }
});
