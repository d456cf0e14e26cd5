// The whole loop: `bootcfg images fetch flatcar > data/boot/default`, build, serve; the iPXE
// script names the fetched kernel and initrd, and /images/ serves exactly the verified bytes.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from '../src/build/build.js';
import { startServer } from '../src/serve/server.js';
import { runBootcfg } from './images-cli.js';
import { blob, makeKey, sign, startMirror } from './images-mirror.js';

test('a boot config printed by images fetch boots from the served images', async (t) => {
  const mirror = await startMirror();
  const work = await mkdtemp(join(tmpdir(), 'bootcfg-images-serve-'));
  t.after(async () => {
    await mirror.close();
    await rm(work, { recursive: true, force: true });
    await rm(mirror.root, { recursive: true, force: true });
  });
  const key = await makeKey();
  const files = { 'flatcar_production_pxe.vmlinuz': blob(40_000), 'flatcar_production_pxe_image.cpio.gz': blob(80_000), 'version.txt': 'FLATCAR_VERSION=4300.0.0\n' };
  for (const [name, data] of Object.entries(files)) {
    await mirror.put(`/4300.0.0/${name}`, data);
    await mirror.put(`/4300.0.0/${name}.sig`, await sign(key, data));
  }
  await writeFile(join(work, 'key.asc'), key.armoredPublic);
  const images = join(work, 'images');
  const fetched = await runBootcfg(['images', 'fetch', 'flatcar', '--version', '4300.0.0', '--images-path', images, '--mirror', mirror.url, '--keyring', join(work, 'key.asc')]);
  assert.equal(fetched.code, 0, fetched.stderr);

  const data = join(work, 'data');
  await mkdir(join(data, 'boot'), { recursive: true });
  await writeFile(join(data, 'boot', 'default'), fetched.stdout);
  await build({ dataPath: data, distPath: join(work, 'dist') });
  const server = await startServer({ distPath: join(work, 'dist'), imagesPath: images, address: '127.0.0.1:0' });
  t.after(() => server.close());

  const script = (await rawGet(server.url, '/ipxe')).body.toString('utf8');
  assert.match(script, /kernel \S*\/images\/flatcar\/4300\.0\.0\/flatcar_production_pxe\.vmlinuz .*flatcar\.first_boot=1/);
  assert.match(script, /initrd \S*\/images\/flatcar\/4300\.0\.0\/flatcar_production_pxe_image\.cpio\.gz/);
  // As iPXE fetches it: no content decoding, the bytes that were verified.
  const initrd = await rawGet(server.url, '/images/flatcar/4300.0.0/flatcar_production_pxe_image.cpio.gz');
  assert.equal(initrd.status, 200);
  assert.deepEqual(initrd.body, files['flatcar_production_pxe_image.cpio.gz']);
});

// sirv (which once served images) labelled every *.gz file `Content-Encoding: gzip`, so a client
// that honours the header (curl --compressed, fetch(), UEFI HTTP boot) would unpack Flatcar's
// initrd instead of storing it; iPXE ignores the header. Images are opaque bytes.
test('GET /images/….cpio.gz is not labelled Content-Encoding: gzip', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'bootcfg-images-gz-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  await mkdir(join(work, 'data', 'boot'), { recursive: true });
  await writeFile(join(work, 'data', 'boot', 'default'), JSON.stringify({ kernel: '/images/k', initrd: ['/images/i.cpio.gz'] }));
  await mkdir(join(work, 'images'));
  const initrd = blob(1000);
  await writeFile(join(work, 'images', 'i.cpio.gz'), initrd);
  await build({ dataPath: join(work, 'data'), distPath: join(work, 'dist') });
  const server = await startServer({ distPath: join(work, 'dist'), imagesPath: join(work, 'images'), address: '127.0.0.1:0' });
  t.after(() => server.close());
  const res = await rawGet(server.url, '/images/i.cpio.gz');
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-encoding'], undefined);
  assert.equal(res.headers['content-type'], 'application/octet-stream');
  assert.deepEqual(res.body, initrd);
});

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** GET without any content decoding and without keep-alive, like a boot loader. */
function rawGet(base: string, path: string): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((done, fail) => {
    const req = request({ host: hostname, port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}
