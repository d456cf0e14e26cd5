// The push webhook on a real server on 127.0.0.1: signatures as GitHub and Gitea send them,
// wrong and missing signatures, wrong methods and oversized bodies; and the bounds on what
// anonymous clients can make it hold (bodies read at once, time to send one).

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { HOOK_PATH, verifySignature, webhookHandler } from '../src/git/webhook.js';
import { slowPost, type RawAnswer } from './git-fixture.js';

const SECRET = 'correct horse battery staple';
let pushes = 0;
let server: Server;
let base: string;

before(async () => {
  const hook = webhookHandler({ secret: SECRET, onPush: () => pushes++, maxBytes: 4096 });
  server = createServer((req, res) => (req.url === HOOK_PATH ? hook(req, res) : res.writeHead(404).end()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

const body = JSON.stringify({ ref: 'refs/heads/main', after: '0'.repeat(40) });
const sign = (text: string, secret = SECRET) => createHmac('sha256', secret).update(text).digest('hex');

async function post(headers: Record<string, string>, payload = body) {
  const before = pushes;
  const res = await fetch(base + HOOK_PATH, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });
  return { status: res.status, text: await res.text(), pushed: pushes - before };
}

test('a GitHub signature triggers one fetch', async () => {
  const res = await post({ 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${sign(body)}` });
  assert.deepEqual(res, { status: 202, text: 'fetch scheduled\n', pushed: 1 });
});

test('a Gitea signature triggers one fetch', async () => {
  const res = await post({ 'x-gitea-event': 'push', 'x-gitea-signature': sign(body) });
  assert.deepEqual(res, { status: 202, text: 'fetch scheduled\n', pushed: 1 });
});

test('a wrong signature is 401 and fetches nothing', async () => {
  const cases: Array<Record<string, string>> = [
    { 'x-hub-signature-256': `sha256=${sign(body, 'wrong secret')}` },
    { 'x-hub-signature-256': sign(body) }, // missing the sha256= prefix
    { 'x-gitea-signature': sign(body + ' ') },
    { 'x-gitea-signature': 'zz' },
    { 'x-hub-signature': `sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}` }, // SHA-1 is not accepted
  ];
  for (const headers of cases) {
    assert.deepEqual(await post(headers), { status: 401, text: 'bad or missing signature\n', pushed: 0 }, JSON.stringify(headers));
  }
});

test('a body signed for another payload is 401', async () => {
  const res = await post({ 'x-hub-signature-256': `sha256=${sign(body)}` }, body.replace('main', 'evil'));
  assert.equal(res.status, 401);
  assert.equal(res.pushed, 0);
});

test('a missing signature is 401', async () => {
  assert.deepEqual(await post({}), { status: 401, text: 'bad or missing signature\n', pushed: 0 });
});

test('only POST', async () => {
  const res = await fetch(base + HOOK_PATH);
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'POST');
});

test('an oversized body is 413 and fetches nothing, signed or not', async () => {
  const big = 'x'.repeat(10_000);
  const res = await post({ 'x-hub-signature-256': `sha256=${sign(big)}` }, big);
  assert.equal(res.status, 413);
  assert.equal(res.pushed, 0);
});

test('verifySignature takes the first of repeated headers only', () => {
  assert.equal(verifySignature(SECRET, Buffer.from(body), { 'x-gitea-signature': sign(body) }), true);
  assert.equal(verifySignature(SECRET, Buffer.from(body), { 'x-gitea-signature': sign(body).toUpperCase() }), true);
  assert.equal(verifySignature(SECRET, Buffer.from(body), {}), false);
});

// ---- what anonymous clients can make the hook hold (issue 14, item 3) ----

async function limitedHook(options: { maxPending?: number; bodyTimeoutMs?: number }): Promise<{ url: string; pushes: () => number; close: () => void }> {
  let count = 0;
  const hook = webhookHandler({ secret: SECRET, onPush: () => count++, ...options });
  const limited = createServer((req, res) => (req.url === HOOK_PATH ? hook(req, res) : res.writeHead(404).end()));
  await new Promise<void>((resolve) => limited.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(limited.address() as AddressInfo).port}`, pushes: () => count, close: () => limited.close() };
}

const BOGUS = { 'X-Hub-Signature-256': `sha256=${'0'.repeat(64)}` };

test('a missing signature is 401, and a declared length over the limit 413, before any of the body is read', { timeout: 30_000 }, async () => {
  const unsigned = slowPost(base + HOOK_PATH, {});
  assert.deepEqual(await unsigned.answer.then((a) => [a.status, a.text, /connection: close/.test(a.headers)]), [401, 'bad or missing signature\n', true]);
  const huge = slowPost(base + HOOK_PATH, BOGUS, 'x', 10 * 1024 * 1024);
  assert.deepEqual(await huge.answer.then((a) => [a.status, a.text]), [413, 'payload too large\n']);
});

test('slow bodies: no more than the cap are held, the rest get 503 with Retry-After; freed slots take a good push', { timeout: 60_000 }, async (t) => {
  const hook = await limitedHook({ maxPending: 3, bodyTimeoutMs: 600_000 });
  t.after(() => hook.close());
  const slow = Array.from({ length: 10 }, () => slowPost(hook.url + HOOK_PATH, BOGUS));
  const answered: RawAnswer[] = [];
  for (const { answer } of slow) void answer.then((a) => answered.push(a));
  // Seven are answered at once, unread; three are held, waiting for bodies that never come.
  await eventually(() => answered.length >= 7, 'the requests over the cap to be refused');
  assert.equal(answered.length, 7);
  for (const a of answered) {
    assert.equal(a.status, 503);
    assert.match(a.headers, /retry-after: 600\r\n/);
  }
  const more = slowPost(hook.url + HOOK_PATH, BOGUS);
  assert.equal((await more.answer).status, 503, 'still full: the held three keep their slots');
  // The held clients go away: their slots are free again, and a real delivery gets through.
  for (const { socket } of slow) socket.destroy();
  const body = '{"ref":"refs/heads/main"}';
  await eventually(async () => {
    const res = await fetch(hook.url + HOOK_PATH, { method: 'POST', body, headers: { 'x-hub-signature-256': `sha256=${sign(body)}` } });
    await res.text();
    return res.status === 202;
  }, 'a signed push to be accepted');
  assert.equal(hook.pushes(), 1);
});

test('a body that does not arrive in time is cut off with 408 and its connection closed', { timeout: 30_000 }, async (t) => {
  const hook = await limitedHook({ maxPending: 1, bodyTimeoutMs: 200 });
  t.after(() => hook.close());
  const slow = slowPost(hook.url + HOOK_PATH, BOGUS);
  const answer = await slow.answer;
  assert.deepEqual([answer.status, answer.text], [408, 'request body too slow\n']);
  // Its slot is free again: the one allowed body can be a good push.
  const body = '{}';
  const res = await fetch(hook.url + HOOK_PATH, { method: 'POST', body, headers: { 'x-gitea-signature': sign(body) } });
  assert.equal(res.status, 202);
  assert.equal(hook.pushes(), 1);
});

async function eventually(check: () => boolean | Promise<boolean>, what: string, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}
