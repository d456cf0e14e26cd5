// serve's JSON access log line (src/cli/report.ts) is built by hand for speed: it must be
// exactly JSON.stringify of the entry, for paths with quotes, backslashes, control characters,
// non-ASCII and lone surrogates as much as for plain ones.

import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { accessLog } from '../src/cli/report.js';
import type { AccessLogEntry } from '../src/serve/server.js';

test('each access log line is JSON.stringify of its entry, whatever the path holds', async () => {
  const paths = ['/ipxe?uuid=1&mac=2', '/a"b', '/a\\b', '/tab\there', '/nl\n', '/\u0000\u001f\u007f', '/é€😀', '/lone\ud800', '/\udc00x', "/'quote'", '/%22'];
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const log = accessLog(out);
  const entries: AccessLogEntry[] = paths.map((path, i) => ({ time: '2026-12-04T21:00:00.000Z', client: i % 2 ? '::1' : '127.0.0.1', method: 'GET', path, status: 200 + i, answer: 'uuid', file: `ipxe/uuid/0${i}/x"y`, revision: 'abc', ms: i / 7 }));
  for (const entry of entries) log(entry);
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(text, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
});
