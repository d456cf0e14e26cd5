// serve --repo following a branch through the real CLI: webhook-driven syncs, a bad commit
// followed by a fix, a force-push, a deleted branch, an unreachable remote, /-/status, and
// the hook's authentication (good, bad, missing signature; no secret configured).

import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigRepo, eventually, seedData, signGitHub, slowPost, startServe, type Served } from './git-fixture.js';

const SECRET = 's3cret-for-tests';
const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

interface Status {
  repo: string;
  ref: string;
  live: { revision: string; commitTime: string | null; subject: string | null } | null;
  lastFetch: { at: string; ok: boolean; revision?: string } | null;
  lastError: { at: string; commit?: string; message: string; problems: Array<{ file?: string; line?: number; message: string }>; current: boolean } | null;
}

async function status(served: Served): Promise<Status> {
  return (await fetch(`${served.url}/-/status`)).json() as Promise<Status>;
}

async function hook(served: Served, secret = SECRET): Promise<number> {
  const body = JSON.stringify({ ref: 'refs/heads/main' });
  const res = await fetch(`${served.url}/-/hooks/git`, { method: 'POST', body, headers: { 'x-hub-signature-256': signGitHub(secret, body) } });
  await res.text();
  return res.status;
}

/** Push happened: ring the hook and wait for `check` on the status. */
async function syncUntil(served: Served, what: string, check: (s: Status) => boolean): Promise<Status> {
  assert.equal(await hook(served), 202);
  return eventually(what, async () => {
    const s = await status(served);
    return check(s) ? s : undefined;
  });
}

async function ipxe(served: Served): Promise<{ revision: string | null; body: string }> {
  const res = await fetch(`${served.url}/ipxe?mac=52:54:00:00:00:99`);
  assert.equal(res.status, 200);
  return { revision: res.headers.get('x-bootcfg-revision'), body: await res.text() };
}

async function follow(repo: ConfigRepo, env: Record<string, string> = { BOOTCFG_WEBHOOK_SECRET: SECRET }, extra: string[] = []): Promise<Served> {
  const served = await startServe(['--repo', repo.remote, '--ref', 'main', '--pull-interval', '0', '--dist-path', join(repo.root, 'dist'),
    '--cache-path', join(repo.root, 'cache'), '--images-path', repo.root, ...extra], env);
  cleanup.push(() => served.stop());
  return served;
}

test('follows main through a bad commit, its fix, a force-push, a deleted branch and a lost remote', async (t) => {
  const repo = new ConfigRepo();
  cleanup.push(() => repo.dispose());
  const one = repo.commitPush(seedData('1.0'), 'first');
  const served = await follow(repo);
  t.after(() => served.stop());

  let s = await status(served);
  assert.equal(s.live?.revision, one);
  assert.equal(s.live?.subject, 'first');
  assert.equal(s.ref, 'main');
  assert.deepEqual(await ipxe(served).then((r) => [r.revision, /vmlinuz-1\.0/.test(r.body)]), [one, true]);

  // A new commit goes live on the hook.
  const two = repo.commitPush(seedData('2.0'), 'second');
  await syncUntil(served, 'the second commit live', (x) => x.live?.revision === two);
  assert.match((await ipxe(served)).body, /vmlinuz-2\.0/);

  // A bad commit: the last good one stays live, the error names file, line and commit.
  const bad = repo.commitPush({ 'boot/default': '{\n  "kernel": 42\n}\n' }, 'oops');
  s = await syncUntil(served, 'the bad commit reported', (x) => x.lastError?.commit === bad);
  assert.equal(s.live?.revision, two);
  assert.equal(s.lastFetch?.ok, false);
  assert.match(s.lastError!.message, new RegExp(`^commit ${bad.slice(0, 12)}: boot/default:\\d+`));
  assert.equal(s.lastError!.problems[0]!.file, 'boot/default');
  assert.equal((await ipxe(served)).revision, two);
  assert.match(served.stderr(), /build failed, keeping .* live: commit/);
  // Fetching the same bad commit again neither rebuilds it nor reports the fetch as healthy.
  const [errorAt, fetchAt] = [s.lastError!.at, s.lastFetch!.at];
  s = await syncUntil(served, 'a second fetch of the bad commit', (x) => x.lastFetch?.at !== fetchAt);
  assert.deepEqual([s.lastFetch?.ok, s.lastFetch?.revision, s.lastError?.at], [false, bad, errorAt]);

  // The fix goes live.
  const fix = repo.commitPush(seedData('3.0'), 'fix');
  s = await syncUntil(served, 'the fix live', (x) => x.live?.revision === fix);
  assert.equal(s.lastFetch?.ok, true);
  assert.match((await ipxe(served)).body, /vmlinuz-3\.0/);

  // A force-push rewrites main: follow the new tip.
  repo.resetHard(two);
  const rewritten = repo.commit(seedData('4.0'), 'rewritten history');
  repo.push('main', true);
  await syncUntil(served, 'the force-pushed tip live', (x) => x.live?.revision === rewritten);
  assert.match((await ipxe(served)).body, /vmlinuz-4\.0/);

  // The branch is deleted: an error, the last good revision stays.
  repo.push('keep');
  repo.deleteRemoteBranch('main');
  s = await syncUntil(served, 'the deleted ref reported', (x) => /ref main not found/.test(x.lastError?.message ?? ''));
  assert.equal(s.live?.revision, rewritten);
  assert.equal(s.lastFetch?.ok, false);
  assert.equal((await ipxe(served)).revision, rewritten);
  repo.push('main');

  // The remote is unreachable: same.
  renameSync(repo.remote, `${repo.remote}.gone`);
  s = await syncUntil(served, 'the unreachable remote reported', (x) => /cannot fetch/.test(x.lastError?.message ?? '') && x.lastFetch?.ok === false);
  assert.equal(s.live?.revision, rewritten);
  assert.equal((await ipxe(served)).revision, rewritten);
  renameSync(`${repo.remote}.gone`, repo.remote);
  const back = repo.commitPush(seedData('5.0'), 'back');
  await syncUntil(served, 'recovered', (x) => x.live?.revision === back && x.lastFetch?.ok === true);
});

test('/-/status says whether lastError is still current: until a later sync succeeds, and not after', async (t) => {
  const repo = new ConfigRepo();
  cleanup.push(() => repo.dispose());
  repo.commitPush(seedData('1.0'), 'first');
  const served = await follow(repo);
  t.after(() => served.stop());
  assert.equal((await status(served)).lastError, null);

  // A commit that does not build: current, and still current when the same tip is fetched again.
  const bad = repo.commitPush({ 'boot/default': '{"kernel": 42}' }, 'oops');
  let s = await syncUntil(served, 'the bad commit reported', (x) => x.lastError?.commit === bad);
  assert.equal(s.lastError?.current, true);
  const fetchAt = s.lastFetch!.at;
  s = await syncUntil(served, 'a second fetch of the bad commit', (x) => x.lastFetch?.at !== fetchAt);
  assert.deepEqual([s.lastError?.commit, s.lastError?.current], [bad, true]);

  // The fix goes live: the error stays for the record, no longer current.
  const fix = repo.commitPush(seedData('2.0'), 'fix');
  s = await syncUntil(served, 'the fix live', (x) => x.live?.revision === fix);
  assert.deepEqual([s.lastError?.commit, s.lastError?.current], [bad, false]);

  // A fetch failure is current until a fetch finds the tip live again, with nothing to build.
  renameSync(repo.remote, `${repo.remote}.gone`);
  s = await syncUntil(served, 'the unreachable remote reported', (x) => /cannot fetch/.test(x.lastError?.message ?? ''));
  assert.equal(s.lastError?.current, true);
  renameSync(`${repo.remote}.gone`, repo.remote);
  s = await syncUntil(served, 'a good fetch of the live tip', (x) => x.lastFetch?.ok === true);
  assert.deepEqual([s.live?.revision, s.lastError?.current], [fix, false]);
  assert.match(s.lastError!.message, /cannot fetch/);
});

test('the hook: a bad or missing signature is 401 and fetches nothing; no secret, no hook', async (t) => {
  const repo = new ConfigRepo();
  cleanup.push(() => repo.dispose());
  const one = repo.commitPush(seedData('1.0'));
  const served = await follow(repo);
  t.after(() => served.stop());
  const before = await status(served);
  repo.commitPush(seedData('2.0'));
  assert.equal(await hook(served, 'not the secret'), 401);
  const unsigned = await fetch(`${served.url}/-/hooks/git`, { method: 'POST', body: '{}' });
  assert.equal(unsigned.status, 401);
  await unsigned.text();
  // Nothing was scheduled: the status has not moved (a sync would update lastFetch.at).
  const afterBad = await status(served);
  assert.deepEqual(afterBad.lastFetch, before.lastFetch);
  assert.equal(afterBad.live?.revision, one);
  await served.stop();

  const off = await follow(repo, {});
  t.after(() => off.stop());
  const res = await fetch(`${off.url}/-/hooks/git`, { method: 'POST', body: '{}', headers: { 'x-hub-signature-256': signGitHub('', '{}') } });
  assert.equal(res.status, 404);
  assert.match(await res.text(), /^webhook off: set BOOTCFG_WEBHOOK_SECRET/);
  assert.match(off.stderr(), /webhook off/);
});

test('the hook reads at most 8 unauthenticated bodies at once; the rest get 503; a push gets through once they go', async (t) => {
  const repo = new ConfigRepo();
  cleanup.push(() => repo.dispose());
  repo.commitPush(seedData('1.0'));
  const served = await follow(repo);
  t.after(() => served.stop());
  const hookUrl = `${served.url}/-/hooks/git`;
  // Twelve clients with a made-up signature send a little of the body they announce, then stall.
  const slow = Array.from({ length: 12 }, () => slowPost(hookUrl, { 'X-Hub-Signature-256': `sha256=${'0'.repeat(64)}` }));
  const refused: number[] = [];
  for (const { answer } of slow) void answer.then((a) => refused.push(a.status));
  await eventually('four to be refused', async () => (refused.length >= 4 ? true : undefined));
  assert.deepEqual(refused, [503, 503, 503, 503]);
  assert.match((await slowPost(hookUrl, { 'X-Hub-Signature-256': `sha256=${'0'.repeat(64)}` }).answer).headers, /^http\/1\.1 503 .*\r\nretry-after: 10\r\n/s);
  // Without a signature header nothing is read or held at all.
  assert.equal((await slowPost(hookUrl, {}).answer).status, 401);
  // The stalled clients go away; a real delivery gets through and the push goes live.
  for (const { socket } of slow) socket.destroy();
  const two = repo.commitPush(seedData('2.0'));
  await eventually('the hook to accept a signed push', async () => ((await hook(served)) === 202 ? true : undefined));
  await eventually('the push live', async () => ((await status(served)).live?.revision === two ? true : undefined));
});

test('polling picks up a push without the hook', async (t) => {
  const repo = new ConfigRepo();
  cleanup.push(() => repo.dispose());
  repo.commitPush(seedData('1.0'));
  const served = await startServe(['--repo', `file://${repo.remote}`, '--pull-interval', '1', '--dist-path', join(repo.root, 'dist'),
    '--cache-path', join(repo.root, 'cache'), '--images-path', repo.root]);
  t.after(() => served.stop());
  const two = repo.commitPush(seedData('2.0'));
  await eventually('the poll to pick up the push', async () => ((await status(served)).live?.revision === two ? true : undefined));
  assert.equal((await status(served)).ref, 'HEAD');
});

test('serve --repo with an unreachable remote and no earlier build fails to start', async () => {
  const repo = new ConfigRepo();
  cleanup.push(() => repo.dispose());
  await assert.rejects(
    startServe(['--repo', 'https://user:tok@127.0.0.1:9/x.git', '--dist-path', join(repo.root, 'dist'), '--cache-path', join(repo.root, 'cache')]),
    (error: Error) => /cannot fetch https:\/\/\*\*\*@127\.0\.0\.1:9/.test(error.message) && !error.message.includes('tok@'),
  );
});
