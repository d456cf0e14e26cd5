// `bootcfg publish --to DIR` through the real CLI: the published layout (entry point, one
// directory per revision, answers at plain paths, resolved URLs), what a re-run copies, pruning
// and rollback, --dry-run, and the errors for what a static host cannot do.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli, tempDir, writeFiles } from './helpers.js';
import { ConfigRepo, git } from './git-fixture.js';
import { bootMachine } from './ipxe-sim.js';
import { deletionBatches } from '../src/publish/tree.js';
import { CP_MACS, ORIGIN, fleetData, routeFetch, staticHost } from './static-fleet.js';

const BASE = 'http://boot.test/fleet';

async function publishData(data: string, to: string, ...extra: string[]) {
  return runCli(['publish', '--data-path', data, '--to', to, '--base-url', `${BASE}/`, ...extra]);
}

async function liveDir(to: string): Promise<string> {
  return /revs\/([^/]+)\/boot\.ipxe/.exec(await readFile(join(to, 'boot.ipxe'), 'utf8'))![1]!;
}

async function revisions(to: string): Promise<string[]> {
  return (await readdir(join(to, 'revs'), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

describe('bootcfg publish to a local directory', () => {
  test('writes every answer under its revision, an entry point naming it, and resolves URLs into it', async () => {
    const root = await tempDir();
    const data = await writeFiles(join(root, 'data'), fleetData(1));
    const to = join(root, 'www');
    const run = await publishData(data, to);
    assert.equal(run.code, 0, run.stderr);
    const dir = await liveDir(to);
    assert.match(dir, /^[0-9a-f]{12}\.[0-9a-f]{12}$/);
    assert.match(run.stderr, new RegExp(`published revision [0-9a-f]{12} to .* as revs/${dir.replace('.', '\\.')}`));
    const rev = join(to, 'revs', dir);
    const cp = await readFile(join(rev, 'ipxe/mac.arch/52-54-00-89-d8-10/x86_64'), 'utf8');
    assert.match(cp, new RegExp(`^kernel ${BASE}/images/amd64/vmlinuz `, 'm'), 'kernels are absolute under the base URL');
    assert.match(cp, new RegExp(`cloud-config-url=${BASE}/revs/${dir}/cloud/mac\\.arch/52-54-00-89-d8-10/x86_64 `));
    assert.match(cp, new RegExp(`bootcfg\\.metadata=${BASE}/revs/${dir}/metadata-json/mac\\.arch/52-54-00-89-d8-10/x86_64 `));
    assert.match(cp, new RegExp(`bootcfg\\.env=${BASE}/revs/${dir}/generic/mac\\.arch/52-54-00-89-d8-10/x86_64 `));
    assert.doesNotMatch(cp, /bootcfg\.example/);
    assert.match(await readFile(join(rev, 'ipxe/default'), 'utf8'), new RegExp(`cloud-config-url=${BASE}/revs/${dir}/cloud/default `));
    assert.equal(await readFile(join(rev, 'cloud/mac.arch/52-54-00-89-d8-10/x86_64'), 'utf8'), '#cloud-config\nhostname: cp1-x86_64-gen1\n');
    assert.equal(await readFile(join(rev, 'REVISION'), 'utf8'), `${dir.split('.')[0]}\n`);
    assert.equal(existsSync(join(rev, 'pixiecore')), false, 'a static host cannot answer Pixiecore');
    const grub = await readFile(join(rev, 'grub/mac.arch/52-54-00-89-d8-10/x86_64'), 'utf8');
    assert.match(grub, new RegExp(`^linux "\\(http,boot\\.test\\)/fleet/images/amd64/vmlinuz" .*"cloud-config-url=${BASE}/revs/${dir}/cloud/mac\\.arch/52-54-00-89-d8-10/x86_64"`, 'm'));
    assert.equal(await readFile(join(to, 'revs/history'), 'utf8'), `${dir}\n`);
    // The chain walks the build's iPXE shapes in serve's order, reading each key from iPXE.
    const chain = await readFile(join(rev, 'boot.ipxe'), 'utf8');
    const fetches = [...chain.matchAll(/imgfetch --name bootcfg-answer (\S+)/g)].map((m) => m[1]);
    assert.deepEqual(fetches, [
      'ipxe/uuid.arch.os/${uuid}/${buildarch:uristring}/${os:uristring}',
      'ipxe/mac.arch/${net0/mac:hexhyp}/${buildarch:uristring}',
      'ipxe/arch.os/${buildarch:uristring}/${os:uristring}',
      'ipxe/arch/${buildarch:uristring}',
      'ipxe/os/${os:uristring}',
      'ipxe/default',
    ]);
    const host = routeFetch(staticHost(BASE, to));
    const booted = await bootMachine(`${BASE}/boot.ipxe`, { 'net0/mac': CP_MACS[0]!, buildarch: 'x86_64' }, host);
    assert.ok('booted' in booted, JSON.stringify(booted));
    assert.equal(booted.booted.scriptUrl, `${BASE}/revs/${dir}/ipxe/mac.arch/52-54-00-89-d8-10/x86_64`);
  });

  test('a second run of the same data copies nothing and keeps the same revision live', async () => {
    const root = await tempDir();
    const data = await writeFiles(join(root, 'data'), fleetData(1));
    const to = join(root, 'www');
    assert.equal((await publishData(data, to)).code, 0);
    const dir = await liveDir(to);
    const before = await stat(join(to, 'revs', dir, 'ipxe/default'));
    const again = await publishData(data, to);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /: 0 files copied, \d+ already there/);
    assert.equal(await liveDir(to), dir);
    assert.equal((await stat(join(to, 'revs', dir, 'ipxe/default'))).ino, before.ino, 'content already there is not rewritten');
  });

  test('a re-run after an interruption copies only what is missing, and switches only then', async () => {
    const root = await tempDir();
    const data = await writeFiles(join(root, 'data'), fleetData(1));
    const to = join(root, 'www');
    assert.equal((await publishData(data, to)).code, 0);
    const dir = await liveDir(to);
    // As if the first run had stopped half way: its chain and entry point not yet written, a file missing, one half written.
    await rm(join(to, 'boot.ipxe'));
    await rm(join(to, 'revs', dir, 'boot.ipxe'));
    await rm(join(to, 'revs', dir, 'ipxe/default'));
    await writeFile(join(to, 'revs', dir, 'cloud/default'), '#cloud-con');
    const resumed = await publishData(data, to);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /: 2 files copied, \d+ already there/);
    assert.equal(await liveDir(to), dir);
    assert.match(await readFile(join(to, 'revs', dir, 'cloud/default'), 'utf8'), /^#cloud-config\nhostname: installer-install-gen1\n$/);
  });

  test('old revisions are pruned beyond --keep, never the live one; rollback rewrites only the entry point', async () => {
    const root = await tempDir();
    const data = join(root, 'data');
    const to = join(root, 'www');
    const published: string[] = [];
    for (const gen of [1, 2, 3, 4]) {
      await writeFiles(data, fleetData(gen));
      const run = await publishData(data, to, '--keep', '1');
      assert.equal(run.code, 0, run.stderr);
      published.push(await liveDir(to));
    }
    assert.deepEqual(await revisions(to), [published[2]!, published[3]!].sort());
    assert.equal(await readFile(join(to, 'revs/history'), 'utf8'), `${published[2]}\n${published[3]}\n`);

    const back = await runCli(['publish', '--to', to, '--rollback', published[2]!.split('.')[0]!]);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(await liveDir(to), published[2]);
    assert.equal(await readFile(join(to, 'revs/history'), 'utf8'), `${published[3]}\n${published[2]}\n`);
    // Publishing the newest again keeps the rolled-back one as the previous.
    assert.equal((await publishData(data, to, '--keep', '1')).code, 0);
    assert.equal(await liveDir(to), published[3]);
    assert.deepEqual(await revisions(to), [published[2]!, published[3]!].sort());

    const unknown = await runCli(['publish', '--to', to, '--rollback', 'feedface']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no revision feedface under .*\n  hint: the newest published: /);
  });

  test('--dry-run compiles and compares, and writes nothing', async () => {
    const root = await tempDir();
    const data = await writeFiles(join(root, 'data'), fleetData(1));
    const to = join(root, 'www');
    const dry = await publishData(data, to, '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, /dry run: revision \S+ would be published to .* \(\d+ files to copy\); nothing written/);
    assert.equal(existsSync(to), false);
  });

  test('kernels and initrds the answers boot are published with --images-path, and must exist', async () => {
    const root = await tempDir();
    const data = await writeFiles(join(root, 'data'), fleetData(1));
    const images = await writeFiles(join(root, 'images'), { 'amd64/vmlinuz': 'K64', 'amd64/initrd': 'I64', 'arm64/vmlinuz': 'KA', 'arm64/initrd': 'IA', 'unused/vmlinuz': 'no' });
    const to = join(root, 'www');
    const run = await publishData(data, to, '--images-path', images);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /images: 4 copied, 0 already there/);
    assert.equal(await readFile(join(to, 'images/arm64/initrd'), 'utf8'), 'IA');
    assert.equal(existsSync(join(to, 'images/unused')), false);
    await rm(join(images, 'arm64/initrd'));
    const missing = await publishData(data, to, '--images-path', images);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /profiles\/install-arm64\.json:\d+:\d+: \/images\/arm64\/initrd is not a file in /);
  });

  test('refuses what a static host cannot do, naming the file', async () => {
    const root = await tempDir();
    // A seed default whose cloud URL selects by MAC while some MACs have cloud configs of their own.
    const seed = await writeFiles(join(root, 'seed'), {
      'boot/default': `${JSON.stringify({ kernel: '/images/k', initrd: [], cmdline: { 'cloud-config-url': `${ORIGIN}/cloud?mac=\${net0/mac:hexhyp}` } })}\n`,
      'cloud/default': '#cloud-config\n',
      'cloud/mac/52:54:00:12:34:56': '#cloud-config\nhostname: one\n',
    });
    const ambiguous = await publishData(seed, join(root, 'www'));
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.stderr, /seed\/boot\/default: http:\/\/bootcfg\.example:8080\/cloud\?mac=\$\{net0\/mac:hexhyp\} cannot be published statically: the machines it is written for could get cloud\/mac\/52-54-00-12-34-56 or another answer/);
    assert.equal(existsSync(join(root, 'www', 'boot.ipxe')), false);

    const chain = await writeFiles(join(root, 'chain'), { 'boot/default': `${JSON.stringify({ kernel: '/images/k', initrd: [] })}\n`, 'templates/boot.ipxe.hbs': '#!ipxe\nchain ipxe\n' });
    const custom = await publishData(chain, join(root, 'www'));
    assert.equal(custom.code, 1);
    assert.match(custom.stderr, /chain\/templates\/boot\.ipxe\.hbs: static publishing writes its own chain script/);

    for (const [args, message] of [
      [['--base-url', 'ftp://x/'], /--base-url must be http or https/],
      [['--base-url', 'http://x/?a=1'], /takes no query/],
      [['--base-url', 'http://x/$a'], /holds a character iPXE/],
      [['--base-url', 'http://x', '--keep', '0'], /invalid --keep 0/],
      [[], /publish needs --base-url/],
    ] as const) {
      const bad = await runCli(['publish', '--data-path', chain, '--to', join(root, 'www'), ...args]);
      assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
      assert.match(bad.stderr, message);
    }
  });

  test('--repo publishes a commit under its SHA', async () => {
    const repo = new ConfigRepo();
    try {
      const sha = repo.commitPush(fleetData(1), 'fleet');
      const to = join(repo.root, 'www');
      const run = await runCli(['publish', '--repo', `file://${repo.remote}`, '--ref', 'main', '--cache-path', join(repo.root, 'cache'), '--to', to, '--base-url', BASE]);
      assert.equal(run.code, 0, run.stderr);
      const dir = await liveDir(to);
      assert.equal(dir.split('.')[0], sha);
      assert.equal(git(repo.work, 'rev-parse', 'HEAD'), sha);
      assert.match(await readFile(join(to, 'revs', dir, 'manifest.json'), 'utf8'), /"source": "file:\/\/.*@main"/);
    } finally {
      repo.dispose();
    }
  });

  test('a boot.ipxe that publish did not write is left alone, and nothing is written', async () => {
    const root = await tempDir();
    const data = await writeFiles(join(root, 'data'), fleetData(1));
    const to = await writeFiles(join(root, 'www'), { 'boot.ipxe': '#!ipxe\nchain http://elsewhere/menu.ipxe\n' });
    const run = await publishData(data, to);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /www\/boot\.ipxe is not an entry point bootcfg publish wrote; it was left alone\n  hint: publish to an empty directory/);
    assert.equal(await readFile(join(to, 'boot.ipxe'), 'utf8'), '#!ipxe\nchain http://elsewhere/menu.ipxe\n');
    assert.equal(existsSync(join(to, 'revs')), false);
  });
});

test('pruning deletes a revision\'s chain first, then its answers from the default up to the most specific shape', () => {
  const paths = ['manifest.json', 'ipxe/mac/52-54-00-12-34-56', 'cloud/default', 'boot.ipxe', 'ipxe/uuid.mac/u/m', 'ipxe/default', 'cloud/mac/52-54-00-12-34-56', 'ipxe/os/installed', 'shapes/0123456789abcdef', 'ipxe/uuid/u'];
  assert.deepEqual(deletionBatches(paths), [
    ['boot.ipxe'],
    ['cloud/default', 'ipxe/default'],
    ['ipxe/os/installed'],
    ['ipxe/mac/52-54-00-12-34-56', 'cloud/mac/52-54-00-12-34-56'],
    ['ipxe/uuid/u'],
    ['ipxe/uuid.mac/u/m'],
    ['manifest.json', 'shapes/0123456789abcdef'],
  ]);
});
