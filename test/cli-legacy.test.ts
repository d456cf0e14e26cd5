// The 2015 command line still starts bootcfg: Go's single-dash flags (-address=…, -data-path=…,
// -images-path=…, -log-level=…) on `serve`, and with no command at all, as old unit files and
// `docker run … -address=0.0.0.0:8080` pass them. Through the real CLI.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { rewriteLegacyArgv } from '../src/cli/legacy.js';
import { MAC, eventually, get, runCli, sampleData, startCliServer, tempDir, writeFiles } from './helpers.js';

test('the 2015 flags become their -- forms; a first 2015 flag means serve --watch', () => {
  assert.deepEqual(rewriteLegacyArgv(['-address=0.0.0.0:8080']), ['serve', '--watch', '--address=0.0.0.0:8080']);
  assert.deepEqual(rewriteLegacyArgv(['-address', '0.0.0.0:8080', '-log-level=debug']), ['serve', '--watch', '--address', '0.0.0.0:8080', '--log-level=debug']);
  assert.deepEqual(rewriteLegacyArgv(['serve', '-data-path=/data', '-images-path', '/images']), ['serve', '--data-path=/data', '--images-path', '/images']);
  // Left alone: today's flags, short flags, other single-dash words, anything after "--".
  assert.deepEqual(rewriteLegacyArgv(['build', '--data-path', 'd', '-h']), ['build', '--data-path', 'd', '-h']);
  assert.deepEqual(rewriteLegacyArgv(['serve', '-addressx=1', '-dist-path=x']), ['serve', '-addressx=1', '-dist-path=x']);
  assert.deepEqual(rewriteLegacyArgv(['diff', 'a', '--', '-address=x']), ['diff', 'a', '--', '-address=x']);
  assert.deepEqual(rewriteLegacyArgv([]), []);
});

test('bootcfg serve takes the 2015 single-dash flags', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  await mkdir(join(root, 'images'));
  const server = await startCliServer(['serve', '-address=127.0.0.1:0', `-data-path=${data}`, '-images-path', join(root, 'images'), '-log-level=warning', '--dist-path', join(root, 'dist')]);
  try {
    const answer = await get(server.url, `/ipxe?mac=${MAC}`);
    assert.equal(answer.status, 200);
    assert.match(answer.body, /by-mac/);
  } finally {
    await server.stop();
  }
});

test('a bare 2015 invocation (no command) serves the data directory and follows its changes', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  await mkdir(join(root, 'images'));
  // As the 2015 image ran: flags only, the rest from the environment.
  const server = await startCliServer([`-address=127.0.0.1:0`, `-data-path=${data}`, `-images-path=${join(root, 'images')}`, '-log-level=info'], { BOOTCFG_DIST_PATH: join(root, 'dist') });
  try {
    assert.match(server.stderr(), /watching .* for changes/);
    assert.match((await get(server.url, '/cloud')).body, /hostname: default/);
    // The 2015 server read the data directory per request: an edit shows without a restart.
    await writeFiles(data, { 'cloud/default': '#cloud-config\nhostname: edited\n' });
    await eventually(async () => /edited/.test((await get(server.url, '/cloud')).body), 'the edited cloud config is served');
  } finally {
    await server.stop();
  }
});

test('docker run <image> -address=0.0.0.0:8080: the flag replaces the image CMD, the rest comes from its ENV', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  await mkdir(join(root, 'images'));
  const env = { BOOTCFG_DATA_PATH: data, BOOTCFG_IMAGES_PATH: join(root, 'images'), BOOTCFG_DIST_PATH: join(root, 'dist') };
  const server = await startCliServer(['-address=127.0.0.1:0'], env);
  try {
    assert.equal((await get(server.url, `/ipxe?mac=${MAC}`)).status, 200);
  } finally {
    await server.stop();
  }
});

test('a 2015 flag bootcfg does not know is still a usage error', async () => {
  const result = await runCli(['serve', '-port=8080']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /hint: /);
});
