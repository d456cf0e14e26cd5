// serve --watch builds a change only once the files have settled: a writer that pauses
// mid-file (an editor, rsync, a slow script) must never have half a file published. The writer
// here pauses well under the settle time (150 ms against BOOTCFG_SETTLE=1500, the --settle
// flag from the environment), so the margin survives a busy machine.

import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { eventually, get, runCli, sampleData, startServe, tempDir, writeFiles } from './helpers.js';

const PARTS = ['#cloud-config\n', 'users:\n', '  - name: core\n', '    groups: [sudo]\n', 'hostname: settled\n'];

test('serve --watch never publishes a half-written file', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  const server = await startServe(['--watch', '--data-path', data, '--dist-path', join(root, 'dist'), '--images-path', join(root, 'images')], { BOOTCFG_SETTLE: '1500' });
  const before = (await get(server.url, '/cloud')).body;
  const whole = PARTS.join('');
  const buildsBefore = builds(server.stderr());

  const seen = new Set<string>();
  let writing = true;
  const poll = async () => {
    for (let i = 0; i < 2000 && writing; i++) seen.add((await get(server.url, '/cloud')).body);
  };
  const polling = poll();
  await writeInParts(join(data, 'cloud/default'), PARTS);
  await eventually(async () => (await get(server.url, '/cloud')).body === whole, 'the whole file');
  writing = false;
  await polling;

  const partial = [...seen].filter((body) => body !== before && body !== whole);
  assert.deepEqual(partial, [], 'answers that were neither the old file nor the whole new one');
  // The build's log line may trail the answer it made live (the server follows REVISION itself).
  await eventually(async () => builds(server.stderr()) > buildsBefore, 'the build in the log');
  assert.equal(builds(server.stderr()) - buildsBefore, 1, `one build for one settled change; log:\n${server.stderr()}`);
});

// Regression (issue 11): a change to JSON data files is built after a short quiet period, not
// --settle's. A boot config written in parts, pausing mid-object, must still never go live half
// written (half an object does not parse) and must not be reported as a failed build: the build
// is tried again until the file has been still for --settle ms.
test('serve --watch builds a JSON edit early but waits out a writer pausing mid-file', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  const server = await startServe(['--watch', '--data-path', data, '--dist-path', join(root, 'dist'), '--images-path', join(root, 'images')], { BOOTCFG_SETTLE: '3000' });
  const whole = `${JSON.stringify({ kernel: '/images/settled/vmlinuz', initrd: [], cmdline: { quiet: '' } }, null, 2)}\n`;
  const parts = [whole.slice(0, 10), whole.slice(10, 40), whole.slice(40, 60), whole.slice(60)];
  await writeInParts(join(data, 'boot/default'), parts);
  await eventually(async () => (await get(server.url, '/ipxe')).body.includes('/images/settled/vmlinuz'), 'the whole boot config');
  assert.doesNotMatch(server.stderr(), /build failed/, `a half-written boot config was reported as a failed build:\n${server.stderr()}`);
});

/** Writes a file the way a slow writer does: each part flushed, then a 150 ms pause. */
async function writeInParts(path: string, parts: readonly string[]): Promise<void> {
  const file = await open(path, 'w');
  for (const part of parts) {
    await file.write(part);
    await file.sync();
    await sleep(150);
  }
  await file.close();
}

const builds = (log: string) => log.match(/^built revision /gm)?.length ?? 0;

test('serve --settle takes whole milliseconds up to a minute', async () => {
  const bad = await runCli(['serve', '--watch', '--settle', '-5']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /invalid --settle -5\n  hint: give whole milliseconds from 0 to 60000; the default is 300/);
  const help = await runCli(['serve', '--help']);
  assert.match(help.stdout, /--settle .*a file being written is never/s);
});
