// The push webhook on a real server on 127.0.0.1: signatures as GitHub and Gitea send them,
// wrong and missing signatures, wrong methods and oversized bodies.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { HOOK_PATH, verifySignature, webhookHandler } from '../src/git/webhook.js';

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
