// Snapshots under faults (issue 14): clocks that jump, a corrupt manifest in the live snapshot,
// builds killed with SIGKILL mid-write, a concurrent build paused mid-write. The live snapshot
// and the one before it always survive, and a dead build's leftovers go, a live one's never.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { watch } from 'node:fs';
import { readdir, readFile, readlink, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { build } from '../src/build/build.js';
import { pieceName, readLiveManifest } from '../src/build/write.js';
import { BIN, bootConfig, runCli, sampleData, tempDir, writeFiles } from './helpers.js';

async function fixture(files = sampleData()) {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), files);
  return { data, dist: join(root, 'dist') };
}

async function snapshots(dist: string): Promise<string[]> {
  return (await readdir(join(dist, 'revs'))).filter((name) => !name.startsWith('.')).sort();
}

async function rebuild(data: string, dist: string, tag: string): Promise<string> {
  await writeFile(join(data, 'cloud/default'), `#cloud-config\n# ${tag}\n`);
  return (await build({ dataPath: data, distPath: dist })).dir.split('/').at(-1)!;
}

test('snapshots dated in the future (a clock set back) never cost the live or the previous snapshot', async () => {
  const { data, dist } = await fixture();
  const future = new Date(Date.now() + 86400_000);
  for (const tag of ['a', 'b', 'c']) await rebuild(data, dist, tag);
  for (const name of await snapshots(dist)) await utimes(join(dist, 'revs', name), future, future);
  const d = await rebuild(data, dist, 'd');
  const e = await rebuild(data, dist, 'e');
  const names = await snapshots(dist);
  assert.ok(names.includes(e), 'the live snapshot');
  assert.ok(names.includes(d), 'the snapshot just replaced was removed while requests may still read it');
  assert.equal(names.length, 3, 'the live one and two before it, by build order');
  // Build order, not time: a reused snapshot becomes the newest again.
  await writeFile(join(data, 'cloud/default'), '#cloud-config\n# d\n');
  assert.equal((await build({ dataPath: data, distPath: dist })).dir.split('/').at(-1), d);
  const f = await rebuild(data, dist, 'f');
  assert.deepEqual(await snapshots(dist), [d, e, f].sort());
});

test('an empty or corrupt manifest.json in the live snapshot means a full write, not a failure', async () => {
  const { data, dist } = await fixture();
  for (const corrupt of ['', '{"revision": "x", "files": ', 'null', '{"revision": 1, "source": "s", "files": []}']) {
    await build({ dataPath: data, distPath: dist });
    const live = join(dist, await readlink(join(dist, 'current')));
    await writeFile(join(live, 'manifest.json'), corrupt);
    await writeFile(join(data, 'cloud/default'), `#cloud-config\n# after ${JSON.stringify(corrupt)}\n`);
    const { code, stderr } = await runCli(['build', '--data-path', data, '--dist-path', dist]);
    assert.equal(code, 0, `manifest ${JSON.stringify(corrupt)}: ${stderr}`);
    assert.match(stderr, /: 6 configs → written \d+, unchanged 0, removed 0 in /); // all written, none linked
  }
});

test('a store dir\'s manifest piece that is missing, corrupt or not the one named means a full write, not a failure', async () => {
  const { data, dist } = await fixture();
  const damage: Array<(piece: string) => Promise<void>> = [
    (piece) => writeFile(piece, '{"files": '),
    (piece) => writeFile(piece, '{"files": {}, "origins": {}}\n'), // parses, but is not the piece the manifest names
    (piece) => rm(piece),
  ];
  for (const [i, harm] of damage.entries()) {
    await build({ dataPath: data, distPath: dist });
    const live = join(dist, await readlink(join(dist, 'current')));
    const { dirs } = JSON.parse(await readFile(join(live, 'manifest.json'), 'utf8')) as { dirs: Record<string, string> };
    await harm(join(dist, 'dirs', pieceName(basename(await readlink(join(live, Object.keys(dirs)[0]!))))));
    await writeFile(join(data, 'cloud/default'), `#cloud-config\n# after damage ${i}\n`);
    const { code, stderr } = await runCli(['build', '--data-path', data, '--dist-path', dist]);
    assert.equal(code, 0, `damage ${i}: ${stderr}`);
    assert.match(stderr, /: 6 configs → written \d+, unchanged 0, removed 0 in /, `damage ${i}`); // all written, none linked
    assert.ok((await readLiveManifest(dist))?.manifest.files['ipxe/default'], 'the new build\'s manifest reads whole');
  }
});

test('a manifest from before store dir pieces (every file listed in it) still serves as the previous build', async () => {
  const { data, dist } = await fixture();
  await build({ dataPath: data, distPath: dist });
  const live = join(dist, await readlink(join(dist, 'current')));
  const whole = (await readLiveManifest(dist))!.manifest;
  await writeFile(join(live, 'manifest.json'), `${JSON.stringify({ revision: whole.revision, source: whole.source, files: whole.files }, null, 1)}\n`);
  await writeFile(join(data, 'cloud/default'), '#cloud-config\n# old manifest\n');
  const { code, stderr } = await runCli(['build', '--data-path', data, '--dist-path', dist]);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /: 6 configs → written 1, unchanged 13, removed 0 in /);
});

/** A fleet big enough that writing its snapshot takes a while. */
function fleet(machines: number): Record<string, string> {
  const files: Record<string, string> = { 'boot/default': bootConfig('/images/default/vmlinuz'), 'cloud/default': '#cloud-config\n' };
  for (let i = 0; i < machines; i++) {
    const mac = `52:54:00:${[i >> 16, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
    files[`boot/mac/${mac}`] = bootConfig(`/images/m${i}/vmlinuz`);
    files[`cloud/mac/${mac}`] = `#cloud-config\nhostname: m${i}\n`;
  }
  return files;
}

/** Starts `bootcfg build` and signals it as soon as its staging dir appears. */
async function interruptedBuild(data: string, dist: string, signal: NodeJS.Signals): Promise<{ child: ReturnType<typeof spawn>; staging: string | undefined; exited: Promise<number | null> }> {
  const revs = join(dist, 'revs');
  await writeFiles(dist, { 'revs/.keep': '' });
  const seen = new Promise<string>((resolve) => {
    const watcher = watch(revs, (_event, name) => {
      if (name?.startsWith('.staging-')) {
        watcher.close();
        resolve(name);
      }
    });
  });
  const child = spawn(process.execPath, [BIN, 'build', '--data-path', data, '--dist-path', dist], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const staging = await Promise.race([seen, exited.then(() => undefined)]);
  if (staging) child.kill(signal);
  return { child, staging, exited };
}

test('a build killed with SIGKILL leaves no staging dir behind after the next build', async () => {
  const { data, dist } = await fixture(fleet(1500));
  let staging: string | undefined;
  for (let attempt = 0; attempt < 5 && staging === undefined; attempt++) {
    const run = await interruptedBuild(data, dist, 'SIGKILL');
    await run.exited;
    staging = (await readdir(join(dist, 'revs'))).find((name) => name === run.staging);
  }
  assert.ok(staging, 'never caught the build while it wrote (the test proves nothing)');
  const { code, stderr } = await runCli(['build', '--data-path', data, '--dist-path', dist]);
  assert.equal(code, 0, stderr);
  assert.deepEqual((await readdir(join(dist, 'revs'))).filter((name) => name.startsWith('.staging-')), [], 'the dead build\'s staging dir is still there');
});

test('a concurrent build paused mid-write keeps its staging dir through another build, and then finishes', async () => {
  const big = await fixture(fleet(1500));
  const run = await interruptedBuild(big.data, big.dist, 'SIGSTOP');
  try {
    assert.ok(run.staging, 'the build finished before it could be paused');
    const small = await fixture();
    // Another process builds other data into the same dist, pruning as it goes.
    const other = await runCli(['build', '--data-path', small.data, '--dist-path', big.dist]);
    assert.equal(other.code, 0, other.stderr);
    assert.ok((await stat(join(big.dist, 'revs', run.staging))).isDirectory(), 'a live build\'s staging dir was removed');
  } finally {
    run.child.kill('SIGCONT');
  }
  assert.equal(await run.exited, 0, 'the paused build failed once resumed');
  assert.match(await readlink(join(big.dist, 'current')), /^revs\//);
});
