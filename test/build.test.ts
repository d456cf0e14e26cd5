// build through the real CLI and the library: snapshots, manifests, incremental writes,
// stale removal, failed builds writing nothing.

import { distFile } from '../src/compile/shapes.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { basename, dirname, join } from 'node:path';
import { build } from '../src/build/build.js';
import { LISTING_SETTLED_MS, pieceName, readLiveManifest, sha256 } from '../src/build/write.js';
import { spawnSync } from 'node:child_process';
import { BIN, bootConfig, runCli, sampleData, tempDir, writeFiles, MAC, UUID } from './helpers.js';

async function fixture() {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  return { data, dist: join(root, 'dist') };
}

test('build writes a snapshot with canonical names, a manifest and the revision', async () => {
  const { data, dist } = await fixture();
  const { code, stderr } = await runCli(['build', '--data-path', data, '--dist-path', dist]);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /^built revision [0-9a-f]{12}: 6 configs → written 14, unchanged 0, removed 0 in \d+ ms$/m);
  const current = join(dist, 'current');
  assert.match(await readlink(current), /^revs\/[0-9a-f]{12}\.[0-9a-f]{16}$/);
  const manifest = (await readLiveManifest(dist))!.manifest;
  // On disk: the loose files in manifest.json, each store dir's files in its own piece, named by hash.
  const top = JSON.parse(await readFile(join(current, 'manifest.json'), 'utf8')) as { revision: string; files: Record<string, string>; dirs: Record<string, string> };
  assert.equal(top.revision, manifest.revision);
  assert.deepEqual(Object.keys(top.files).sort(), ['boot.ipxe', 'cloud/default', 'grub/default', 'ipxe/default', 'pixiecore/default', 'shapes.json', Object.keys(top.files).find((path) => path.startsWith('shapes/'))]);
  assert.equal(Object.keys(top.dirs).length, 7, 'ipxe, grub and cloud by uuid and by mac, pixiecore by mac: a shard dir each');
  for (const [group, hash] of Object.entries(top.dirs)) {
    const piece = await readFile(join(dist, 'dirs', pieceName(basename(await readlink(join(current, group))))));
    assert.equal(sha256(piece), hash, group);
    for (const path of Object.keys((JSON.parse(piece.toString()) as { files: Record<string, string> }).files)) assert.equal(distFile(path).startsWith(`${group}/`), true, `${path} is in ${group}`);
  }
  const marker = Object.keys(manifest.files).find((path) => path.startsWith('shapes/'));
  assert.match(marker ?? '', /^shapes\/[0-9a-f]{16}$/);
  assert.deepEqual(Object.keys(manifest.files).sort(), [
    'boot.ipxe', 'cloud/default', `cloud/mac/${MAC}`, `cloud/uuid/${UUID}`, 'grub/default', `grub/mac/${MAC}`, `grub/uuid/${UUID}`,
    'ipxe/default', `ipxe/mac/${MAC}`, `ipxe/uuid/${UUID}`, 'pixiecore/default', `pixiecore/mac/${MAC}`, 'shapes.json', marker,
  ]);
  assert.equal(await readFile(join(current, 'shapes.json'), 'utf8'), '{"shapes":[["uuid"],["mac"],[]]}\n');
  for (const [path, hash] of Object.entries(manifest.files)) assert.equal(sha256(await readFile(join(current, distFile(path)))), hash, path);
  assert.equal(await readFile(join(current, 'REVISION'), 'utf8'), `${manifest.revision}\n`);
  assert.equal(manifest.source, data);
  assert.equal(await readFile(join(current, distFile(`ipxe/uuid/${UUID}`)), 'utf8'),
    '#!ipxe\nkernel /images/by-uuid/vmlinuz initrd=vmlinuz.initrd console=ttyS0 quiet\ninitrd /images/by-uuid/vmlinuz.initrd\nboot\n');
  assert.deepEqual(JSON.parse(await readFile(join(current, distFile(`pixiecore/mac/${MAC}`)), 'utf8')),
    { kernel: '/images/by-mac/vmlinuz', initrd: ['/images/by-mac/vmlinuz.initrd'], cmdline: 'console=ttyS0 quiet' });
  assert.equal(await readFile(join(current, distFile(`cloud/mac/${MAC}`)), 'utf8'), '#cloud-config\nhostname: by-mac\n');
  assert.match(await readFile(join(current, 'boot.ipxe'), 'utf8'), /^#!ipxe\nchain ipxe\?uuid=\$\{uuid\}&mac=\$\{net0\/mac:hexhyp\}/);
});

test('a rebuild writes only what changed, hard-links the rest, and removes stale files', async () => {
  const { data, dist } = await fixture();
  const first = await build({ dataPath: data, distPath: dist });
  assert.deepEqual([first.written, first.unchanged, first.removed], [14, 0, 0]);

  const same = await build({ dataPath: data, distPath: dist });
  assert.deepEqual([same.written, same.unchanged, same.removed, same.dir, same.revision], [0, 14, 0, first.dir, first.revision]);

  await writeFile(join(data, 'boot/mac/52:54:00:12:34:56'), bootConfig('/images/new/vmlinuz'));
  await rm(join(data, 'cloud/mac/525400123456'));
  const next = await build({ dataPath: data, distPath: dist });
  assert.notEqual(next.revision, first.revision);
  assert.deepEqual([next.written, next.unchanged, next.removed], [3, 10, 1]); // ipxe, grub and pixiecore by mac; cloud by mac gone
  await assert.rejects(stat(join(next.dir, distFile(`cloud/mac/${MAC}`))), { code: 'ENOENT' });
  const [before, after] = await Promise.all([stat(join(first.dir, 'ipxe/default')), stat(join(next.dir, 'ipxe/default'))]);
  assert.equal(after.ino, before.ino, 'an unchanged file is a hard link to the previous snapshot');
  assert.match(await readFile(join(dist, 'current', distFile(`ipxe/mac/${MAC}`)), 'utf8'), /\/images\/new\/vmlinuz/);
  assert.match(await readFile(join(first.dir, distFile(`ipxe/mac/${MAC}`)), 'utf8'), /\/images\/by-mac\/vmlinuz/, 'the old snapshot is untouched');
});

test('a failed build writes nothing and the last good tree stays live', async () => {
  const { data, dist } = await fixture();
  await build({ dataPath: data, distPath: dist });
  const liveBefore = await readlink(join(dist, 'current'));
  const revsBefore = await readdir(join(dist, 'revs'));
  await writeFile(join(data, 'boot/default'), '{"kernel": ');
  const { code, stderr } = await runCli(['build', '--data-path', data, '--dist-path', dist]);
  assert.equal(code, 1);
  assert.match(stderr, /boot\/default:1:12: invalid JSON: expected a value/);
  assert.equal(await readlink(join(dist, 'current')), liveBefore);
  assert.deepEqual(await readdir(join(dist, 'revs')), revsBefore);
});

test('old snapshots are pruned: the live one and two before it are kept', async () => {
  const { data, dist } = await fixture();
  const dirs: string[] = [];
  for (let i = 0; i < 5; i++) {
    await writeFile(join(data, 'cloud/default'), `#cloud-config\n# build ${i}\n`);
    dirs.push((await build({ dataPath: data, distPath: dist })).dir);
  }
  const kept = (await readdir(join(dist, 'revs'))).filter((name) => !name.startsWith('.')).sort();
  assert.deepEqual(kept, dirs.slice(-3).map((d) => d.split('/').at(-1)!).sort());
});

test('a store dir a kept snapshot links is never pruned, even one linked after the prune listed that snapshot', async () => {
  const { data, dist } = await fixture();
  const first = await build({ dataPath: data, distPath: dist });
  const top = JSON.parse(await readFile(join(first.dir, 'manifest.json'), 'utf8')) as { dirs: Record<string, string> };
  const group = Object.keys(top.dirs)[0]!;
  await sleep(LISTING_SETTLED_MS + 100); // the first snapshot settled: a listing of it is kept, not read again
  await writeFile(join(data, 'cloud/default'), '#cloud-config\n# second\n');
  await build({ dataPath: data, distPath: dist }); // its prune lists (and keeps the listing of) the first snapshot
  // By hand, the first snapshot's link is pointed at a copy of its store dir under a new name.
  const old = await readlink(join(first.dir, group));
  const copy = `${old.slice(0, old.lastIndexOf('.'))}.0123456789abcdef`;
  spawnSync('cp', ['-a', join(first.dir, dirname(group), old), join(first.dir, dirname(group), copy)]);
  await symlink(copy, join(first.dir, `${group}.new`));
  await rename(join(first.dir, `${group}.new`), join(first.dir, group));
  await writeFile(join(data, 'cloud/default'), '#cloud-config\n# third\n');
  await build({ dataPath: data, distPath: dist }); // keeps the first snapshot (the two before the live one)
  await stat(join(first.dir, group, '.')); // the copy is still there: the prune saw the new link
  assert.equal(basename(await readlink(join(first.dir, group))), basename(copy));
});

test('a template in the data directory overrides the built-in one', async () => {
  const { data, dist } = await fixture();
  await writeFiles(data, { 'templates/ipxe.hbs': '#!ipxe\necho custom\nkernel {{kernel}} {{cmdline}}\n{{#each initrd}}initrd --name initrd{{@index}} {{this}}\n{{/each}}boot\n' });
  const result = await build({ dataPath: data, distPath: dist });
  assert.equal(await readFile(join(result.dir, 'ipxe/default'), 'utf8'),
    '#!ipxe\necho custom\nkernel /images/default/vmlinuz console=ttyS0 quiet\ninitrd --name initrd0 /images/default/vmlinuz.initrd\nboot\n');
});

test('args follow cmdline, and an empty cmdline value renders a bare key', async () => {
  const { data, dist } = await fixture();
  await writeFiles(data, { 'boot/default': JSON.stringify({ kernel: '/images/k', initrd: ['/images/a', '/images/b'], cmdline: { 'cloud-config-url': 'http://x/cloud?uuid=${uuid}&mac=${net0/mac:hexhyp}', 'coreos.autologin': '' }, args: ['console=ttyS0', 'rd.neednet=1'] }) });
  const result = await build({ dataPath: data, distPath: dist });
  assert.equal(await readFile(join(result.dir, 'ipxe/default'), 'utf8'),
    '#!ipxe\nkernel /images/k initrd=a initrd=b cloud-config-url=http://x/cloud?uuid=${uuid}&mac=${net0/mac:hexhyp} coreos.autologin console=ttyS0 rd.neednet=1\ninitrd /images/a\ninitrd /images/b\nboot\n');
});

test('each initrd is named on the kernel line for UEFI, unless the config names them itself', async () => {
  const { data, dist } = await fixture();
  await writeFiles(data, {
    'boot/default': JSON.stringify({ kernel: '/images/k', initrd: ['http://mirror/fcos/initramfs.img?sig=1', '/images/extra.cpio.gz'] }),
    'boot/mac/52:54:00:12:34:56': JSON.stringify({ kernel: '/images/k', initrd: ['/images/flatcar.cpio.gz'], args: ['initrd=flatcar.cpio.gz', 'console=ttyS0'] }),
  });
  const result = await build({ dataPath: data, distPath: dist });
  assert.match(await readFile(join(result.dir, 'ipxe/default'), 'utf8'), /^kernel \/images\/k initrd=initramfs\.img initrd=extra\.cpio\.gz$/m);
  assert.match(await readFile(join(result.dir, distFile(`ipxe/mac/${MAC}`)), 'utf8'), /^kernel \/images\/k initrd=flatcar\.cpio\.gz console=ttyS0$/m);
  assert.equal(JSON.parse(await readFile(join(result.dir, 'pixiecore/default'), 'utf8')).cmdline, '', 'Pixiecore names initrds itself');
});

test('a data directory with no configs is an error, not an empty tree', async () => {
  const root = await tempDir();
  const { code, stderr } = await runCli(['build', '--data-path', root, '--dist-path', join(root, 'dist')]);
  assert.equal(code, 1);
  assert.match(stderr, /no boot or cloud configs found/);
  await assert.rejects(stat(join(root, 'dist', 'current')), { code: 'ENOENT' });
});

test('on a terminal, build shows stage and count progress; without one, a single summary line', async (t) => {
  const { data, dist } = await fixture();
  const plain = await runCli(['build', '--data-path', data, '--dist-path', dist]);
  assert.equal(plain.stderr.split('\n').filter(Boolean).length, 1, plain.stderr);
  // util-linux `script` runs the real CLI under a pseudo-terminal.
  const tty = spawnSync('script', ['-qec', `${process.execPath} ${BIN} build --data-path ${data} --dist-path ${dist}-tty`, '/dev/null'], { encoding: 'utf8' });
  if (tty.error && !process.env.CI) {
    t.skip('util-linux script is not installed');
    return;
  }
  assert.equal(tty.status, 0, tty.stderr);
  for (const stage of ['read', 'load 6 files', 'render 14 files', 'write 14 files']) assert.ok(tty.stdout.includes(`\r\x1b[K${stage}`), `${stage} in ${JSON.stringify(tty.stdout)}`);
  assert.match(tty.stdout, /built revision [0-9a-f]{12}: 6 configs/);
});
