// serve --watch: edits go live, bad edits keep the last good tree, and a rebuild under load
// answers only whole files, each from the build its revision header names.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rebuilder } from '../src/build/watch.js';
import { bootConfig, eventually, get, runCli, sampleData, startServe, tempDir, writeFiles, UUID } from './helpers.js';

async function watching() {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  const server = await startServe(['--watch', '--data-path', data, '--dist-path', join(root, 'dist'), '--images-path', join(root, 'images')]);
  return { data, server, dist: join(root, 'dist') };
}

const kernel = async (url: string, path: string) => /^kernel (\S+)/m.exec((await get(url, path)).body)?.[1];

test('an edit under the data directory is served after the rebuild', async () => {
  const { data, server } = await watching();
  await writeFile(join(data, `boot/uuid/${UUID}`), bootConfig('/images/edited/vmlinuz'));
  await eventually(async () => (await kernel(server.url, `/ipxe?uuid=${UUID}`)) === '/images/edited/vmlinuz', 'the edited config');
  // Issue 11: a seed file's edit re-renders that file alone (test/incremental.test.ts checks the output).
  await eventually(async () => /^built revision \S+ \(incremental\): 6 configs → written \d, unchanged /m.test(server.stderr()), 'the incremental build in the log');
  await writeFiles(data, { 'boot/mac/AA-BB-CC-DD-EE-FF': bootConfig('/images/new-machine/vmlinuz') });
  await eventually(async () => (await kernel(server.url, '/ipxe?mac=aa:bb:cc:dd:ee:ff')) === '/images/new-machine/vmlinuz', 'the new machine');
});

test('a bad edit is logged and the last good tree keeps serving until it is fixed', async () => {
  const { data, server } = await watching();
  const good = (await get(server.url, '/ipxe')).headers['x-bootcfg-revision'];
  await writeFile(join(data, 'boot/default'), '{"kernel": "/images/broken/vmlinuz",}');
  await eventually(async () => server.stderr().includes('build failed'), 'the failure in the log');
  assert.match(server.stderr(), /boot\/default:1:37: invalid JSON: expected a property name/);
  const during = await get(server.url, '/ipxe');
  assert.equal(during.headers['x-bootcfg-revision'], good);
  assert.equal(/^kernel (\S+)/m.exec(during.body)?.[1], '/images/default/vmlinuz');
  await writeFile(join(data, 'boot/default'), bootConfig('/images/fixed/vmlinuz'));
  await eventually(async () => (await kernel(server.url, '/ipxe')) === '/images/fixed/vmlinuz', 'the fixed config');
});

test('an edit makes the next snapshot\'s links ahead of its build, and serve removes those no build took up when it stops', async () => {
  const { data, server, dist } = await watching();
  const staging = async () => (await readdir(join(dist, 'revs'))).filter((name) => name.startsWith('.staging-'));
  await writeFile(join(data, 'boot/default'), '{"kernel": "/images/broken/vmlinuz",}');
  await eventually(async () => server.stderr().includes('build failed'), 'the failure in the log');
  // The build failed before it wrote anything: the links made when the edit came are still there, as the live snapshot has them.
  const [ahead] = await staging();
  assert.ok(ahead, 'no staging snapshot made ahead');
  assert.deepEqual(await readdir(join(dist, 'revs', ahead, 'ipxe/uuid')), await readdir(join(dist, 'current/ipxe/uuid')));
  assert.ok((await lstat(join(dist, 'revs', ahead, 'ipxe/uuid', (await readdir(join(dist, 'current/ipxe/uuid')))[0]!))).isSymbolicLink());
  await server.stop();
  assert.deepEqual(await staging(), [], 'serve stopped and left its staging snapshot');
});

test('a rebuild under concurrent requests answers whole files of one build or the other', async () => {
  const { data, server } = await watching();
  const expected = (marker: string) => `#!ipxe\nkernel /images/${marker}/vmlinuz initrd=vmlinuz.initrd console=ttyS0 quiet\ninitrd /images/${marker}/vmlinuz.initrd\nboot\n`;
  const byRevision = new Map<string, string>();
  let failures = 0;
  let requests = 0;
  let stop = false;
  const load = async () => {
    while (!stop && requests < 5000) {
      requests++;
      const res = await get(server.url, '/ipxe?mac=52:54:00:12:34:56');
      const marker = /\/images\/([^/]+)\/vmlinuz /.exec(res.body)?.[1];
      if (res.status !== 200 || !marker || res.body !== expected(marker)) failures++;
      const revision = String(res.headers['x-bootcfg-revision']);
      const seen = byRevision.get(revision);
      if (seen !== undefined && seen !== marker) failures++;
      byRevision.set(revision, marker ?? 'broken');
    }
  };
  const clients = Array.from({ length: 4 }, load);
  for (let i = 0; i < 5; i++) {
    await writeFile(join(data, 'boot/mac/52:54:00:12:34:56'), bootConfig(`/images/build-${i}/vmlinuz`));
    await eventually(async () => (await kernel(server.url, '/ipxe?mac=525400123456')) === `/images/build-${i}/vmlinuz`, `build ${i}`);
  }
  stop = true;
  await Promise.all(clients);
  assert.equal(failures, 0, `${failures} of ${requests} answers were broken or disagreed with their revision header`);
  assert.ok(byRevision.size >= 2, `the load saw ${byRevision.size} revisions`);
});

test('Rebuilder runs one build at a time and queues exactly one more', async () => {
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  const release: Array<() => void> = [];
  const rebuilder = new Rebuilder(async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    runs++;
    await new Promise<void>((r) => release.push(r));
    running--;
  }, () => {});
  const first = rebuilder.request();
  const queued = [rebuilder.request(), rebuilder.request(), rebuilder.request()];
  await eventually(async () => release.length === 1, 'the first build');
  release.shift()!();
  await eventually(async () => release.length === 1, 'the queued build');
  release.shift()!();
  await Promise.all([first, ...queued]);
  assert.equal(runs, 2, 'three requests during a build queue one build');
  assert.equal(maxRunning, 1);
});

test('serve without --data-path picks up a build made by another process', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  const dist = join(root, 'dist');
  assert.equal((await runCli(['build', '--data-path', data, '--dist-path', dist])).code, 0);
  const server = await startServe(['--dist-path', dist, '--images-path', join(root, 'images')]);
  await writeFile(join(data, 'boot/default'), bootConfig('/images/from-cron/vmlinuz'));
  const rebuilt = await runCli(['build', '--data-path', data, '--dist-path', dist]);
  assert.equal(rebuilt.code, 0, rebuilt.stderr);
  await eventually(async () => (await kernel(server.url, '/ipxe')) === '/images/from-cron/vmlinuz', 'the new build');
});
