// Issue 11: serve --repo exported each new commit's whole tree and built it in full (48 s per
// push at 100k machines). Now one kept tree is brought to the new commit by the paths git says
// changed, and the incremental builder re-renders only those. These tests follow a real repo
// with the real CLI through edits, adds, deletes, a rename, a default change, bad commits, an
// executable file, symlinks and a force-push, and check after each that the snapshot served is
// byte for byte what `bootcfg build` of a checkout of the same commit writes, and that the log
// says which path (changes in place, or a full export and why) was taken.

import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { filesUnder } from './helpers.js';
import { ConfigRepo, eventually, git, runCli, signGitHub, startServe, type Changes, type Served } from './git-fixture.js';

const SECRET = 'incremental-secret';
const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

const uuid = (i: number) => `0b00c0f6-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
const mac = (i: number, sep = ':') => ['52', '54', '00', '00', '00', i.toString(16).padStart(2, '0')].join(sep);
const boot = (kernel: string) => `${JSON.stringify({ kernel: `/images/${kernel}/vmlinuz`, initrd: [`/images/${kernel}/initrd`], cmdline: { console: 'ttyS0' } }, null, 2)}\n`;
const seed = (kind: 'boot' | 'cloud', i: number) => (i % 2 ? `${kind}/mac/${mac(i)}` : `${kind}/uuid/${uuid(i)}`);

/** A small fleet: a default and twelve machines by uuid or mac, each with a boot and a cloud config. */
function fleet(tag: string): Changes {
  const files: Changes = { 'boot/default': boot(`default-${tag}`), 'cloud/default': '#cloud-config\nhostname: default\n', 'README.md': 'the fleet\n' };
  for (let i = 0; i < 12; i++) {
    files[seed('boot', i)] = boot(`m${i}-${tag}`);
    files[seed('cloud', i)] = `#cloud-config\nhostname: m${i}\n`;
  }
  return files;
}

interface Status {
  live: { revision: string } | null;
  lastError: { commit?: string; message: string } | null;
}

async function status(served: Served): Promise<Status> {
  return (await fetch(`${served.url}/-/status`)).json() as Promise<Status>;
}

async function hook(served: Served): Promise<void> {
  const body = JSON.stringify({ ref: 'refs/heads/main' });
  const res = await fetch(`${served.url}/-/hooks/git`, { method: 'POST', body, headers: { 'x-hub-signature-256': signGitHub(SECRET, body) } });
  await res.text();
  assert.equal(res.status, 202);
}

/** Every file of a snapshot; the manifest without the two fields that name where it came from. */
async function snapshot(dist: string): Promise<Map<string, string>> {
  const dir = join(dist, 'current/');
  const files = new Map<string, string>();
  for (const path of await filesUnder(dir)) {
    if (path === 'REVISION') continue; // the commit under serve --repo, a content hash for a directory
    const text = await readFile(join(dir, path), 'utf8');
    if (path !== 'manifest.json') files.set(path, text);
    else {
      const { revision: _revision, source: _source, ...rest } = JSON.parse(text) as Record<string, unknown>;
      files.set(path, JSON.stringify(rest));
    }
  }
  return files;
}

class Follow {
  readonly dist: string;
  readonly cache: string;
  /** stderr already looked at: each step reads only its own lines. */
  private seen = 0;

  constructor(readonly repo: ConfigRepo, readonly served: Served) {
    this.dist = join(repo.root, 'dist');
    this.cache = join(repo.root, 'cache');
  }

  static async start(repo: ConfigRepo): Promise<Follow> {
    const served = await startServe(['--repo', repo.remote, '--ref', 'main', '--pull-interval', '0', '--dist-path', join(repo.root, 'dist'),
      '--cache-path', join(repo.root, 'cache'), '--images-path', repo.root], { BOOTCFG_WEBHOOK_SECRET: SECRET });
    cleanup.push(() => served.stop());
    return new Follow(repo, served);
  }

  /** The log since the last call. */
  lines(): string {
    const text = this.served.stderr().slice(this.seen);
    this.seen = this.served.stderr().length;
    return text;
  }

  /** Push `sha` (already committed), ring the hook, wait until it is live and its build line logged; returns that line. */
  async live(sha: string, force = false): Promise<string> {
    this.repo.push('main', force);
    await hook(this.served);
    await eventually(`${sha.slice(0, 12)} live`, async () => ((await status(this.served)).live?.revision === sha ? true : undefined));
    const line = await eventually(`the build line of ${sha.slice(0, 12)}`, async () => new RegExp(`^built revision ${sha}.*$`, 'm').exec(this.served.stderr().slice(this.seen))?.[0]);
    this.lines();
    return line;
  }

  /** Push a commit that must fail; wait until it is reported and check the last good one stays. */
  async fails(sha: string, expect: RegExp): Promise<void> {
    const before = (await status(this.served)).live?.revision;
    this.repo.push();
    await hook(this.served);
    const s = await eventually(`${sha.slice(0, 12)} reported`, async () => {
      const now = await status(this.served);
      return now.lastError?.commit === sha || (now.lastError && expect.test(now.lastError.message) && this.served.stderr().slice(this.seen).includes('failed')) ? now : undefined;
    });
    assert.match(s.lastError!.message, expect);
    assert.equal(s.live?.revision, before, 'the last good commit stays live');
    this.lines();
  }

  /** The live snapshot equals what `bootcfg build` writes from a checkout of the same commit. */
  async sameAsCheckout(sha: string): Promise<void> {
    const scratch = await mkdtemp(join(tmpdir(), 'bootcfg-checkout-'));
    try {
      const checkout = join(scratch, 'checkout');
      git(scratch, 'clone', '--quiet', '--no-checkout', this.repo.remote, checkout);
      git(checkout, '-c', 'advice.detachedHead=false', 'checkout', '--quiet', sha);
      await rm(join(checkout, '.git'), { recursive: true, force: true });
      const built = await runCli(['build', '--data-path', checkout, '--dist-path', join(scratch, 'dist')]);
      assert.equal(built.code, 0, built.stderr);
      const [got, want] = [await snapshot(this.dist), await snapshot(join(scratch, 'dist'))];
      assert.ok(want.size > 20, `the full build wrote only ${[...want.keys()].join(', ')}`);
      assert.deepEqual(got, want, `commit ${sha.slice(0, 12)}: served snapshot differs from a full build of a checkout`);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** The kept tree serve builds from (one per ref under the cache). */
  keptTree(): string {
    const [home] = readdirSync(this.cache).filter((name) => !name.startsWith('.'));
    const serve = join(this.cache, home!, 'serve');
    const [tree] = readdirSync(serve).filter((name) => !name.includes('.'));
    return join(serve, tree!);
  }
}

/** A repo holding fleet('1'), followed; its first build's log read. */
async function followFleet(): Promise<{ repo: ConfigRepo; follow: Follow }> {
  const repo = new ConfigRepo();
  cleanup.push(() => repo.dispose());
  repo.commit(fleet('1'), 'fleet');
  repo.push();
  const follow = await Follow.start(repo);
  follow.lines();
  return { repo, follow };
}

const CHANGES = /\(incremental\): .*; (\d+) paths? changed since [0-9a-f]{12}; fetch \d+ ms, tree \d+ ms\)$/;

test('serve --repo builds a push from the changed paths only, byte for byte what a full build of a checkout writes', async () => {
  const repo = new ConfigRepo();
  cleanup.push(() => repo.dispose());
  const first = repo.commit(fleet('1'), 'fleet');
  repo.push();
  const follow = await Follow.start(repo);
  assert.match(follow.lines(), /full export: no tree at a known commit/);
  await follow.sameAsCheckout(first);

  // One machine's boot config.
  let sha = repo.commit({ [seed('boot', 3)]: boot('m3-edited') }, 'edit one machine');
  let line = await follow.live(sha);
  assert.match(line, CHANGES);
  assert.equal(CHANGES.exec(line)![1], '1');
  assert.match(await (await fetch(`${follow.served.url}/ipxe?mac=${mac(3)}`)).text(), /m3-edited/);
  await follow.sameAsCheckout(sha);

  // A new machine (boot and cloud), and a file outside the data roots.
  sha = repo.commit({ [seed('boot', 20)]: boot('m20'), [seed('cloud', 20)]: '#cloud-config\nhostname: m20\n', 'README.md': 'changed\n' }, 'add a machine');
  assert.match(await follow.live(sha), CHANGES);
  await follow.sameAsCheckout(sha);

  // A machine deleted whole: its directory holds nothing else, and no empty one is left behind.
  sha = repo.commit({ [seed('boot', 4)]: null, [seed('cloud', 4)]: null }, 'remove a machine');
  assert.match(await follow.live(sha), CHANGES);
  await follow.sameAsCheckout(sha);

  // A rename: the same machine under another spelling of its MAC (a delete and an add to git).
  git(repo.work, 'mv', seed('boot', 5), `boot/mac/${mac(5, '-')}`);
  sha = repo.commit({}, 'rename');
  line = await follow.live(sha);
  assert.equal(CHANGES.exec(line)?.[1], '2', line);
  await follow.sameAsCheckout(sha);

  // The default.
  sha = repo.commit({ 'boot/default': boot('default-2') }, 'default');
  assert.match(await follow.live(sha), /; 1 path changed since/);
  assert.match(await (await fetch(`${follow.served.url}/ipxe?mac=52:54:00:00:99:99`)).text(), /default-2/);
  await follow.sameAsCheckout(sha);

  // An executable file: written as the full export writes it (mode and bytes), not refused.
  writeFileSync(join(repo.work, seed('boot', 22)), boot('m22'));
  chmodSync(join(repo.work, seed('boot', 22)), 0o755);
  sha = repo.commit({}, 'executable');
  assert.match(await follow.live(sha), CHANGES);
  await follow.sameAsCheckout(sha);
  const full = await runCli(['build', '--repo', repo.remote, '--ref', sha, '--cache-path', follow.cache, '--dist-path', join(repo.root, 'full-dist')]);
  assert.equal(full.code, 0, full.stderr);
  const exported = join(follow.cache, readdirSync(follow.cache)[0]!, 'trees', sha, seed('boot', 22));
  assert.equal(statSync(join(follow.keptTree(), seed('boot', 22))).mode & 0o777, statSync(exported).mode & 0o777);
  assert.equal(readFileSync(join(follow.keptTree(), seed('boot', 22)), 'utf8'), readFileSync(exported, 'utf8'));
});

test('serve --repo after a bad commit builds the next good one from every change since the last good build', async () => {
  const { repo, follow } = await followFleet();

  // Bad: one file broken, another edited in the same commit.
  const bad = repo.commit({ [seed('boot', 2)]: '{\n  "kernel": 42\n}\n', [seed('boot', 7)]: boot('m7-during-bad') }, 'oops');
  await follow.fails(bad, new RegExp(`^commit ${bad.slice(0, 12)}: boot/uuid/${uuid(2)}:\\d+`));
  // Still bad: the broken file untouched, a third one edited.
  const still = repo.commit({ [seed('cloud', 9)]: '#cloud-config\nhostname: nine\n' }, 'unrelated');
  await follow.fails(still, new RegExp(`^commit ${still.slice(0, 12)}: boot/uuid/${uuid(2)}:\\d+`));
  // The fix: every edit since the last good build must be in it.
  const fix = repo.commit({ [seed('boot', 2)]: boot('m2-fixed') }, 'fix');
  assert.match(await follow.live(fix), /; 1 path changed since [0-9a-f]{12}; fetch/);
  const answer = await (await fetch(`${follow.served.url}/ipxe?mac=${mac(7)}`)).text();
  assert.match(answer, /m7-during-bad/);
  await follow.sameAsCheckout(fix);
});

test('serve --repo takes a full export after a force-push to unrelated history and around symlinks, and refuses a leaving one as a full export does', async () => {
  const { repo, follow } = await followFleet();

  // A symlink inside the tree: the full export keeps it, and a tree with one is always exported in full.
  rmSync(join(repo.work, seed('cloud', 6)));
  symlinkSync('../default', join(repo.work, seed('cloud', 6)));
  let sha = repo.commit({}, 'a link');
  assert.match(await follow.live(sha), new RegExp(`; full export: ${seed('cloud', 6)} is or was a symlink`));
  await follow.sameAsCheckout(sha);
  sha = repo.commit({ [seed('boot', 8)]: boot('m8-edited') }, 'edit beside a link');
  assert.match(await follow.live(sha), /; full export: the tree holds symlinks/);
  await follow.sameAsCheckout(sha);
  sha = repo.commit({ [seed('cloud', 6)]: null }, 'the link goes');
  assert.match(await follow.live(sha), /; full export: the tree holds symlinks/);
  sha = repo.commit({ [seed('boot', 8)]: boot('m8-again') }, 'no link left');
  assert.match(await follow.live(sha), CHANGES);
  await follow.sameAsCheckout(sha);

  // A symlink leaving the repository: refused, naming it, as the full export refuses it.
  symlinkSync('/etc/hostname', join(repo.work, 'cloud/uuid/leaving'));
  const leaving = repo.commit({}, 'a leaving link');
  await follow.fails(leaving, /symlink points outside the repository: cloud\/uuid\/leaving/);
  sha = repo.commit({ 'cloud/uuid/leaving': null, [seed('boot', 10)]: boot('m10-after') }, 'the leaving link goes');
  assert.match(await follow.live(sha), /; full export: no tree at a known commit/);
  await follow.sameAsCheckout(sha);

  // A force-push of an unrelated history.
  git(repo.work, 'checkout', '--quiet', '--orphan', 'other');
  git(repo.work, 'rm', '-r', '--quiet', '--cached', '.');
  sha = repo.commit(fleet('orphan'), 'unrelated history');
  assert.match(await follow.live(sha, true), /; full export: [0-9a-f]{12} is not an ancestor of [0-9a-f]{12} \(history rewritten\)/);
  await follow.sameAsCheckout(sha);
  sha = repo.commit({ [seed('boot', 1)]: boot('m1-on-orphan') }, 'after the rewrite');
  assert.match(await follow.live(sha), CHANGES);
  await follow.sameAsCheckout(sha);
});
