// fetch.ts against real repos: exact revisions, branches, tags, force-pushes, deleted refs,
// unreachable remotes, and the safety rules (no hooks, no ext::, no option injection).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { checkRef, checkRepo, exportLocalRevision, fetchRevision, redactUrl, splitCredentials } from '../src/git/fetch.js';
import { SourceError, UsageError } from '../src/compile/errors.js';
import { ConfigRepo, git, seedData } from './git-fixture.js';

const cleanup: Array<() => void> = [];
after(() => cleanup.forEach((fn) => fn()));

function setup(): { repo: ConfigRepo; cachePath: string } {
  const repo = new ConfigRepo();
  cleanup.push(() => repo.dispose());
  return { repo, cachePath: join(repo.root, 'cache') };
}

test('fetches the branch tip and exports exactly its files', async () => {
  const { repo, cachePath } = setup();
  const sha = repo.commitPush(seedData('1.0'), 'first config');
  const rev = await fetchRevision({ repo: repo.remote, ref: 'main', cachePath });
  assert.equal(rev.sha, sha);
  assert.equal(rev.subject, 'first config');
  assert.match(rev.time, /^\d{4}-\d\d-\d\dT/);
  assert.match(readFileSync(join(rev.dataPath, 'boot/default'), 'utf8'), /vmlinuz-1\.0/);
  assert.equal(existsSync(join(rev.dataPath, '.git')), false);
});

test('no ref means the remote HEAD; a new push moves it; the old tree stays intact', async () => {
  const { repo, cachePath } = setup();
  repo.commitPush(seedData('1.0'));
  const first = await fetchRevision({ repo: repo.remote, cachePath });
  const second = repo.commitPush(seedData('2.0', { 'cloud/mac/52-54-00-00-00-01': 'x\n' }));
  const rev = await fetchRevision({ repo: repo.remote, cachePath });
  assert.equal(rev.sha, second);
  assert.notEqual(rev.dataPath, first.dataPath);
  assert.match(readFileSync(join(first.dataPath, 'boot/default'), 'utf8'), /vmlinuz-1\.0/);
  assert.ok(existsSync(join(rev.dataPath, 'cloud/mac/52-54-00-00-00-01')));
});

test('a tag and a short SHA pin an exact revision', async () => {
  const { repo, cachePath } = setup();
  const old = repo.commitPush(seedData('1.0'));
  repo.tag('v1');
  repo.commitPush(seedData('2.0'));
  assert.equal((await fetchRevision({ repo: repo.remote, ref: 'v1', cachePath })).sha, old);
  assert.equal((await fetchRevision({ repo: repo.remote, ref: old.slice(0, 10), cachePath })).sha, old);
  assert.equal((await fetchRevision({ repo: repo.remote, ref: 'main~1', cachePath })).sha, old);
});

test('a force-push is followed to the new tip', async () => {
  const { repo, cachePath } = setup();
  const base = repo.commitPush(seedData('1.0'));
  repo.commitPush(seedData('2.0'));
  await fetchRevision({ repo: repo.remote, ref: 'main', cachePath });
  repo.resetHard(base);
  const rewritten = repo.commit(seedData('3.0'), 'rewrite');
  repo.push('main', true);
  assert.equal((await fetchRevision({ repo: repo.remote, ref: 'main', cachePath })).sha, rewritten);
});

test('a deleted branch is an error, not a stale tip', async () => {
  const { repo, cachePath } = setup();
  repo.commitPush(seedData('1.0'));
  repo.push('feature');
  await fetchRevision({ repo: repo.remote, ref: 'feature', cachePath });
  repo.deleteRemoteBranch('feature');
  await assert.rejects(fetchRevision({ repo: repo.remote, ref: 'feature', cachePath }), (error: unknown) => {
    assert.ok(error instanceof SourceError);
    assert.match(error.message, /ref feature not found/);
    return true;
  });
});

test('an unreachable remote is a SourceError with the URL redacted', async () => {
  const { cachePath } = setup();
  await assert.rejects(
    fetchRevision({ repo: 'http://user:s3cret@127.0.0.1:9/config.git', ref: 'main', cachePath }),
    (error: unknown) => {
      assert.ok(error instanceof SourceError);
      assert.match(error.message, /cannot fetch http:\/\/\*\*\*@127\.0\.0\.1:9/);
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    },
  );
});

test('hooks in the mirror never run', async () => {
  const { repo, cachePath } = setup();
  repo.commitPush(seedData('1.0'));
  const rev = await fetchRevision({ repo: repo.remote, cachePath });
  // Plant hooks where git would look for them, then fetch and export again.
  const marker = join(repo.root, 'hook-ran');
  const gitDir = join(rev.dataPath, '..', '..', 'git');
  for (const hook of ['post-checkout', 'reference-transaction', 'post-index-change', 'fsmonitor-watchman']) {
    const path = join(gitDir, 'hooks', hook);
    mkdirSync(join(gitDir, 'hooks'), { recursive: true });
    writeFileSync(path, `#!/bin/sh\ntouch ${marker}\n`);
    chmodSync(path, 0o755);
  }
  repo.commitPush(seedData('2.0'));
  await fetchRevision({ repo: repo.remote, cachePath });
  assert.equal(existsSync(marker), false);
});

test('ext:: and other transports, and option-like URLs and refs, are refused', () => {
  for (const bad of ['ext::sh -c touch% /tmp/pwned', 'fd::3', '--upload-pack=touch /tmp/x', 'gopher://x/y', '-oProxyCommand=x']) {
    assert.throws(() => checkRepo(bad), UsageError, bad);
  }
  for (const bad of ['-x', '--output=/tmp/x', 'a..b', 'main:foo', 'a b', '', 'refs/heads/', 'x.lock', '@{-1}']) {
    assert.throws(() => checkRef(bad), UsageError, bad);
  }
  for (const good of ['main', 'release/2024.1', 'v1.2.3', 'HEAD', 'HEAD~1', 'deadbeef', 'origin/main']) {
    assert.equal(checkRef(good), good);
  }
  assert.equal(checkRepo('https://git.example.test/fleet.git'), 'https://git.example.test/fleet.git');
  assert.equal(checkRepo('git@git.example.test:ops/fleet.git'), 'git@git.example.test:ops/fleet.git');
});

test('redactUrl hides userinfo wherever a URL appears', () => {
  assert.equal(redactUrl('https://tok:x-oauth@h/r.git'), 'https://***@h/r.git');
  assert.equal(redactUrl('fatal: unable to access https://u:p@h/r/: 403'), 'fatal: unable to access https://***@h/r/: 403');
  assert.equal(redactUrl('/srv/repo.git'), '/srv/repo.git');
});

test('a symlink leaving the repo is refused; one inside it is kept', async () => {
  const { repo, cachePath } = setup();
  repo.commit(seedData('1.0'));
  symlinkSync('default', join(repo.work, 'cloud', 'alias'));
  repo.commitPush({}, 'inside link');
  const rev = await fetchRevision({ repo: repo.remote, cachePath });
  assert.match(readFileSync(join(rev.dataPath, 'cloud', 'alias'), 'utf8'), /cloud-config/);
  symlinkSync('/etc/passwd', join(repo.work, 'cloud', 'leak'));
  repo.commitPush({}, 'outside link');
  await assert.rejects(fetchRevision({ repo: repo.remote, cachePath }), /symlink points outside the repository: cloud\/leak/);
});

test('exportLocalRevision reads revisions of a checked-out repo in place', async () => {
  const { repo, cachePath } = setup();
  const one = repo.commit(seedData('1.0'));
  const two = repo.commit(seedData('2.0'));
  const a = await exportLocalRevision(repo.work, 'HEAD~1', cachePath);
  const b = await exportLocalRevision(repo.work, 'main', cachePath);
  assert.equal(a.sha, one);
  assert.equal(b.sha, two);
  assert.match(readFileSync(join(a.dataPath, 'boot/default'), 'utf8'), /1\.0/);
  await assert.rejects(exportLocalRevision(repo.work, 'nope', cachePath), /revision nope not found/);
  const plain = mkdtempSync(join(tmpdir(), 'bootcfg-nogit-'));
  cleanup.push(() => rmSync(plain, { recursive: true, force: true }));
  await assert.rejects(exportLocalRevision(plain, 'HEAD', cachePath), SourceError);
  void git;
});

test('credentials in an https URL leave git\'s command line for its environment, and are never shown', async () => {
  assert.deepEqual(splitCredentials('https://bot:t0k%40en@git.example/ops/fleet.git'), {
    url: 'https://git.example/ops/fleet.git',
    env: { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from('bot:t0k@en').toString('base64')}` },
  });
  assert.equal(splitCredentials('ssh://git@git.example/ops/fleet.git').url, 'ssh://git@git.example/ops/fleet.git');
  assert.equal(redactUrl('cannot fetch https://u:p@ss@host/x'), 'cannot fetch https://***@host/x');
  // A real git against a server on 127.0.0.1 that records what it is sent.
  const seen: Array<{ url?: string; auth?: string }> = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url, auth: req.headers.authorization });
    res.writeHead(404).end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  try {
    const port = (server.address() as AddressInfo).port;
    const cachePath = await mkdtemp(join(tmpdir(), 'bootcfg-cred-'));
    const error = await fetchRevision({ repo: `http://bot:s3cret@127.0.0.1:${port}/fleet.git`, ref: 'main', cachePath }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof Error);
    assert.doesNotMatch(String(error.message), /s3cret/);
    assert.ok(seen.length > 0 && seen.every((r) => r.auth === `Basic ${Buffer.from('bot:s3cret').toString('base64')}`), JSON.stringify(seen));
    await rm(cachePath, { recursive: true, force: true });
  } finally {
    server.close();
  }
});
