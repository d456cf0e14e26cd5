// Follower edge cases: shutting down while a fetch hangs on a silent remote, and starting
// serve --repo while the remote is down but dist/ holds an earlier build.

import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SourceError } from '../src/compile/errors.js';
import { Follower } from '../src/git/follow.js';
import { FollowStatus } from '../src/git/status.js';
import { ConfigRepo, runCli, seedData, startServe } from './git-fixture.js';

const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

test('stop() aborts a fetch hanging on a remote that never answers', { timeout: 60_000 }, async () => {
  const repo = new ConfigRepo();
  cleanup.push(() => repo.dispose());
  const sockets: Socket[] = [];
  const silent = createServer((socket) => void sockets.push(socket)); // accepts, never speaks
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => {
    sockets.forEach((socket) => socket.destroy());
    silent.close();
  });
  const port = (silent.address() as { port: number }).port;
  const lines: string[] = [];
  const follower = new Follower({ repo: `http://127.0.0.1:${port}/fleet.git`, ref: 'main', cachePath: join(repo.root, 'cache'), distPath: join(repo.root, 'dist'), pullInterval: 0, log: (line) => lines.push(line) });
  const syncing = follower.request();
  await new Promise<void>((resolve) => {
    const poll = () => (sockets.length > 0 ? resolve() : setTimeout(poll, 20));
    poll();
  }); // git has connected and is waiting
  follower.stop();
  await syncing;
  await follower.idle();
  assert.equal(follower.status.snapshot.lastFetch?.ok, false);
  assert.equal(follower.status.snapshot.live, null);
});

test('serve --repo with the remote down serves the earlier build from dist/', async (t) => {
  const repo = new ConfigRepo();
  cleanup.push(() => repo.dispose());
  const sha = repo.commitPush(seedData('1.0'));
  const dist = join(repo.root, 'dist');
  const built = await runCli(['build', '--repo', repo.remote, '--dist-path', dist, '--cache-path', join(repo.root, 'cache')]);
  assert.equal(built.code, 0, built.stderr);
  const served = await startServe(['--repo', `${repo.remote}.moved`, '--dist-path', dist, '--cache-path', join(repo.root, 'cache'), '--images-path', repo.root]);
  t.after(() => served.stop());
  const status = (await (await fetch(`${served.url}/-/status`)).json()) as { live: { revision: string; commitTime: null }; lastFetch: { ok: boolean } };
  assert.equal(status.live.revision, sha);
  assert.equal(status.live.commitTime, null);
  assert.equal(status.lastFetch.ok, false);
  const res = await fetch(`${served.url}/ipxe`);
  assert.equal(res.headers.get('x-bootcfg-revision'), sha);
  assert.match(await res.text(), /vmlinuz-1\.0/);
  assert.match(served.stderr(), /serving the earlier build/);
});

test('/-/status never shows credentials, in the repo or in an error', () => {
  const status = new FollowStatus('https://deploy:tok3n@git.example.test/ops/fleet.git', 'main');
  status.failed(new SourceError('cannot fetch https://deploy:tok3n@git.example.test/ops/fleet.git: 403'));
  const text = JSON.stringify(status.snapshot);
  assert.doesNotMatch(text, /tok3n/);
  assert.match(text, /https:\/\/\*\*\*@git\.example\.test\/ops\/fleet\.git/);
  assert.equal(status.snapshot.lastFetch?.ok, false);
});

test('serve --repo whose first commit does not build fails to start, naming the file in the repo', async () => {
  const repo = new ConfigRepo();
  cleanup.push(() => repo.dispose());
  const bad = repo.commitPush({ 'boot/default': '{ "kernel": [] }\n' });
  await assert.rejects(
    startServe(['--repo', repo.remote, '--dist-path', join(repo.root, 'dist'), '--cache-path', join(repo.root, 'cache'), '--images-path', repo.root]),
    (error: Error) => new RegExp(`\\nboot/default:1:\\d+: .*\\(commit ${bad.slice(0, 12)}\\)`).test(error.message) && !/\.cache|trees/.test(error.message),
  );
});
