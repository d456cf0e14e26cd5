// The chainload script as `bootcfg build` compiles it from the built-in template: it chains
// with every variable a selector can use (and ip, as the 2015 server sent), and its
// ${bootcfg_query} placeholder never reaches iPXE through either server — it becomes the
// labels passed on, or nothing.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBootcfg } from './conformance/bootcfg.js';
import { send } from './conformance/http.js';
import { nginxSkipReason, startNginx } from './conformance/nginx.js';
import { runCli, sampleData, tempDir, writeFiles } from './helpers.js';

const CHAIN = 'chain ipxe?uuid=${uuid}&mac=${net0/mac:hexhyp}&domain=${domain}&hostname=${hostname}&serial=${serial}&ip=${ip}&arch=${buildarch}';

test('boot.ipxe chains with uuid, mac, domain, hostname, serial, ip and arch; the placeholder is always replaced', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  const imagesPath = await writeFiles(join(root, 'images'), {});
  const distPath = join(root, 'dist');
  const built = await runCli(['build', '--data-path', data, '--dist-path', distPath]);
  assert.equal(built.code, 0, built.stderr);
  assert.equal(await readFile(join(distPath, 'current', 'boot.ipxe'), 'utf8'), `#!ipxe\n${CHAIN}\${bootcfg_query}\n`);
  const servers: { url: string; stop(): Promise<void> }[] = [await startBootcfg({ distPath, imagesPath })];
  if (!nginxSkipReason()) servers.push(await startNginx({ distPath, imagesPath }));
  try {
    for (const server of servers) {
      for (const target of ['/boot.ipxe', '/boot.ipxe.0?os=installed&mac=zz']) {
        const answer = await send(server.url, { target });
        assert.equal(answer.status, 200, target);
        // A seed build has no labels: nothing to pass on, and no placeholder left for iPXE.
        assert.equal(answer.body.toString(), `#!ipxe\n${CHAIN}\n`, `${server.url}${target}`);
      }
    }
  } finally {
    for (const server of servers) await server.stop();
  }
});
