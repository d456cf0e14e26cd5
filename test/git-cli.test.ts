// build, validate and diff --repo through the real CLI against real repos.

import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigRepo, runCli, seedData } from './git-fixture.js';

const cleanup: Array<() => void> = [];
after(() => cleanup.forEach((fn) => fn()));

function setup(): { repo: ConfigRepo; dist: string; cache: string } {
  const repo = new ConfigRepo();
  cleanup.push(() => repo.dispose());
  return { repo, dist: join(repo.root, 'dist'), cache: join(repo.root, 'cache') };
}

const MAC = '52-54-00-00-00-01';
const machine = (kernel: string) => ({
  [`boot/mac/${MAC}`]: JSON.stringify({ kernel: `/images/vmlinuz-${kernel}`, initrd: [], cmdline: { console: 'ttyS0' } }),
});

test('build --repo --ref writes the exact commit, its SHA as the revision, the URL redacted', async () => {
  const { repo, dist, cache } = setup();
  const one = repo.commitPush(seedData('1.0'), 'one');
  repo.commitPush(seedData('2.0'), 'two');
  const url = `file://${repo.remote}`;
  const res = await runCli(['build', '--repo', url, '--ref', one, '--dist-path', dist, '--cache-path', cache]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(readFileSync(join(dist, 'current', 'REVISION'), 'utf8'), `${one}\n`);
  assert.match(res.stderr, new RegExp(one));
  const manifest = JSON.parse(readFileSync(join(dist, 'current', 'manifest.json'), 'utf8')) as { revision: string; source: string };
  assert.equal(manifest.revision, one);
  assert.equal(manifest.source, `${url}@${one}`);
  assert.match(readFileSync(join(dist, 'current', 'ipxe', 'default'), 'utf8'), /vmlinuz-1\.0/);
});

test('build --repo from the environment (BOOTCFG_REPO, BOOTCFG_REF) takes the branch tip', async () => {
  const { repo, dist, cache } = setup();
  repo.commitPush(seedData('1.0'));
  const two = repo.commitPush(seedData('2.0'));
  const res = await runCli(['build', '--dist-path', dist, '--cache-path', cache], { env: { BOOTCFG_REPO: repo.remote, BOOTCFG_REF: 'main' } });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(readFileSync(join(dist, 'current', 'REVISION'), 'utf8'), `${two}\n`);
});

test('build --repo run from inside a git hook (GIT_DIR and friends set) still reads the repo it was given', async () => {
  const { repo, dist, cache } = setup();
  const sha = repo.commitPush(seedData('1.0'));
  const other = new ConfigRepo();
  cleanup.push(() => other.dispose());
  other.commit(seedData('9.9'));
  const env = { GIT_DIR: join(other.work, '.git'), GIT_WORK_TREE: other.work, GIT_INDEX_FILE: join(other.work, '.git', 'index') };
  const res = await runCli(['build', '--repo', repo.remote, '--ref', 'main', '--dist-path', dist, '--cache-path', cache], { env });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(readFileSync(join(dist, 'current', 'REVISION'), 'utf8'), `${sha}\n`);
  assert.match(readFileSync(join(dist, 'current', 'ipxe', 'default'), 'utf8'), /vmlinuz-1\.0/);
});

test('validate --repo names the file, the line and the commit of a bad config', async () => {
  const { repo, cache } = setup();
  const bad = repo.commitPush({ ...seedData('1.0'), 'boot/default': '{\n  "kernel": "/images/vmlinuz",\n  "initrd": [\n}\n' }, 'broken');
  const res = await runCli(['validate', '--repo', repo.remote, '--cache-path', cache]);
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stdout + res.stderr, /boot\/default:\d+/);
  assert.match(res.stdout + res.stderr, new RegExp(bad.slice(0, 12)));
  assert.doesNotMatch(res.stdout + res.stderr, /\.cache|trees\//);
});

test('bad --repo and --ref values are usage errors (exit 2), an unreachable repo exit 1, no secret printed', async () => {
  const { dist, cache } = setup();
  const ext = await runCli(['build', '--repo', 'ext::sh -c id', '--dist-path', dist, '--cache-path', cache]);
  assert.equal(ext.code, 2, ext.stderr);
  const opt = await runCli(['build', '--repo', '/tmp', '--ref=--output=/tmp/x', '--dist-path', dist, '--cache-path', cache]);
  assert.equal(opt.code, 2, opt.stderr);
  const down = await runCli(['build', '--repo', 'http://ops:hunter2@127.0.0.1:9/fleet.git', '--dist-path', dist, '--cache-path', cache]);
  assert.equal(down.code, 1, down.stderr);
  assert.match(down.stderr, /cannot fetch http:\/\/\*\*\*@127\.0\.0\.1:9\/fleet\.git/);
  assert.doesNotMatch(down.stderr + down.stdout, /hunter2/);
});

test('diff over two revisions: exit 1 with the machines that change, JSON for tools, 0 when equal', async () => {
  const { repo, cache } = setup();
  const one = repo.commit({ ...seedData('1.0'), ...machine('1.0') }, 'one');
  const two = repo.commit({ ...seedData('1.0'), ...machine('2.0') }, 'bump one machine');
  const text = await runCli(['diff', one, two, '--cache-path', cache], { cwd: repo.work });
  assert.equal(text.code, 1, text.stderr);
  assert.match(text.stdout, /for 1 machine between/);
  assert.match(text.stdout, new RegExp(`mac ${MAC} +ipxe, grub, pixiecore`));
  assert.match(text.stdout, /1 machine gets a new kernel: \/images\/vmlinuz-1\.0 -> \/images\/vmlinuz-2\.0/);
  assert.match(text.stdout, new RegExp(`--- a/ipxe/mac/${MAC}\\n\\+\\+\\+ b/ipxe/mac/${MAC}\\n@@`));
  const json = await runCli(['diff', 'HEAD~1', 'main', '--format', 'json', '--repo', repo.work, '--cache-path', cache]);
  assert.equal(json.code, 1, json.stderr);
  const report = JSON.parse(json.stdout) as { changed: boolean; targets: Array<{ target: { shape: string; id: string } }> };
  assert.equal(report.changed, true);
  assert.deepEqual(report.targets.map((t) => `${t.target.shape} ${t.target.id}`), [`mac ${MAC}`]);
  const same = await runCli(['diff', two, 'main'], { cwd: repo.work });
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /no machine's answers change/);
  assert.equal(existsSync(join(repo.work, '.cache')), false, 'diff leaves the checked-out repo clean');
});

test('diff over a remote repo URL and over two data directories', async () => {
  const { repo, cache } = setup();
  repo.commitPush(seedData('1.0'));
  repo.tag('v1');
  repo.commitPush(seedData('1.1'));
  const remote = await runCli(['diff', 'v1', 'main', '--repo', `file://${repo.remote}`, '--cache-path', cache]);
  assert.equal(remote.code, 1, remote.stderr);
  assert.match(remote.stdout, /the default gets a new kernel/);
  const dirs = mkdtempSync(join(tmpdir(), 'bootcfg-diffdirs-'));
  cleanup.push(() => rmSync(dirs, { recursive: true, force: true }));
  cpSync(repo.work, join(dirs, 'a'), { recursive: true, filter: (src) => !src.includes('.git') });
  cpSync(repo.work, join(dirs, 'b'), { recursive: true, filter: (src) => !src.includes('.git') });
  const equal = await runCli(['diff', 'a', 'b'], { cwd: dirs });
  assert.equal(equal.code, 0, equal.stderr);
});

test('diff exits 2 on errors: unknown revision, and a side that does not compile', async () => {
  const { repo, cache } = setup();
  repo.commit(seedData('1.0'));
  const bad = repo.commit({ 'boot/default': '{ nope' }, 'broken');
  const unknown = await runCli(['diff', 'main', 'no-such-branch', '--cache-path', cache], { cwd: repo.work });
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr, /revision no-such-branch not found/);
  const broken = await runCli(['diff', 'HEAD~1', 'HEAD', '--cache-path', cache], { cwd: repo.work });
  assert.equal(broken.code, 2, broken.stderr);
  assert.match(broken.stderr, new RegExp(`boot/default:1.*commit ${bad.slice(0, 12)}`));
});
