// nginx names the build it answered from, as the Node server does: X-Bootcfg-Revision, taken
// from the snapshot directory (revs/<revision>.<id>) that dist/current resolved to.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from '../src/build/build.js';
import { nginxSkipReason, startNginx } from './conformance/nginx.js';
import { bootConfig, get, sampleData, tempDir, writeFiles } from './helpers.js';

test('nginx sends the revision of the snapshot it answered from', { skip: nginxSkipReason() }, async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  const distPath = join(root, 'dist');
  const imagesPath = join(root, 'images');
  await mkdir(imagesPath);
  const first = await build({ dataPath: data, distPath });
  const nginx = await startNginx({ distPath, imagesPath });
  try {
    for (const path of ['/ipxe', '/boot.ipxe', '/cloud?mac=52:54:00:12:34:56', '/-/revision', '/nope', '/ipxe?mac=bad']) {
      assert.equal((await get(nginx.url, path)).headers['x-bootcfg-revision'], first.revision, path);
    }
    await writeFile(join(data, 'boot/default'), bootConfig('/images/next/vmlinuz'));
    const second = await build({ dataPath: data, distPath });
    assert.notEqual(second.revision, first.revision);
    const res = await get(nginx.url, '/ipxe');
    assert.equal(res.headers['x-bootcfg-revision'], second.revision);
    assert.match(res.body, /\/images\/next\/vmlinuz/);
    assert.equal((await readFile(join(distPath, 'current', 'REVISION'), 'utf8')).trim(), second.revision);
  } finally {
    await nginx.stop();
  }
});
