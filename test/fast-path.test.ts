// The fast path (src/serve/fast-path.ts) answers plain GET and HEAD requests before node's HTTP
// layer. The conformance suite holds its answers to docs/http.md; these tests hold it to what it
// must not change about connections: the same bytes as node's answer to the same request, odd
// requests and everything after them handed to node in order, heads split across reads,
// `Connection: close`, idle connections closed, and the access log.

import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { readPlainHead } from '../src/serve/fast-path.js';
import { MAX_HEAD } from '../src/serve/route.js';
import { startServer, type AccessLogEntry, type RunningServer } from '../src/serve/server.js';
import { MAC, UUID, runCli, sampleData, tempDir, writeFiles } from './helpers.js';

const head = (text: string) => readPlainHead(Buffer.from(text, 'latin1'), 0);

test('readPlainHead takes a plain GET or HEAD, with keep-alive or close', () => {
  const plain = head(`GET /ipxe?uuid=${UUID} HTTP/1.1\r\nHost: boot.example:8080\r\nUser-Agent: iPXE/1.21.1\r\nConnection: Keep-Alive\r\n\r\nGET /`);
  assert.deepEqual(plain, { method: 'GET', target: `/ipxe?uuid=${UUID}`, next: plain === 'odd' || plain === 'partial' ? -1 : plain.next, close: false });
  assert.equal((plain as { next: number }).next, Buffer.byteLength(`GET /ipxe?uuid=${UUID} HTTP/1.1\r\nHost: boot.example:8080\r\nUser-Agent: iPXE/1.21.1\r\nConnection: Keep-Alive\r\n\r\n`));
  const closing = 'HEAD /cloud HTTP/1.1\r\nhost:x\r\nConnection: close\r\n\r\n';
  assert.deepEqual(head(closing), { method: 'HEAD', target: '/cloud', next: closing.length, close: true });
  assert.equal(head('GET /ipxe HTTP/1.1\r\nHost: x\r\n'), 'partial');
  assert.equal(head(`GET /ipxe HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(MAX_HEAD)}`), 'odd', 'a head longer than node takes is not waited for');
});

test('readPlainHead leaves everything else to node', () => {
  const odd = {
    'HTTP/1.0': 'GET / HTTP/1.0\r\nHost: x\r\n\r\n',
    'another method': 'POST / HTTP/1.1\r\nHost: x\r\n\r\n',
    'a lower-case method': 'get / HTTP/1.1\r\nHost: x\r\n\r\n',
    'absolute form': 'GET http://x/ipxe HTTP/1.1\r\nHost: x\r\n\r\n',
    'a fragment': 'GET /ipxe#a HTTP/1.1\r\nHost: x\r\n\r\n',
    'a non-ASCII target': 'GET /ipxe?uuid=\xe9 HTTP/1.1\r\nHost: x\r\n\r\n',
    'no Host': 'GET / HTTP/1.1\r\n\r\n',
    'two Hosts': 'GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n',
    'a bad Host': 'GET / HTTP/1.1\r\nHost: a..b\r\n\r\n',
    'a folded header': 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n',
    'a header without a colon': 'GET / HTTP/1.1\r\nHost: x\r\nX-A\r\n\r\n',
    'a space before the colon': 'GET / HTTP/1.1\r\nHost : x\r\n\r\n',
    'a control character': 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n',
    'a body': 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
    'chunked': 'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
    'a condition': 'GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: "a"\r\n\r\n',
    'a range': 'GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\n\r\n',
    'an expectation': 'GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n',
    'an upgrade': 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n',
    'LF-only lines': 'GET / HTTP/1.1\nHost: x\n\n\r\n\r\n',
  };
  for (const [what, text] of Object.entries(odd)) assert.equal(head(text), 'odd', what);
});

// ---------------------------------------------------------------- against a real server

async function serving(): Promise<{ server: RunningServer; log: AccessLogEntry[] }> {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  const dist = join(root, 'dist');
  const built = await runCli(['build', '--data-path', data, '--dist-path', dist]);
  assert.equal(built.code, 0, built.stderr);
  const log: AccessLogEntry[] = [];
  const server = await startServer({ distPath: dist, imagesPath: join(root, 'images'), address: '127.0.0.1:0', log: (entry) => log.push(entry) });
  return { server, log };
}

/** Opens a connection, writes `chunks` (a pause between them), and reads until it closes or `until` says enough. */
function exchange(url: string, chunks: string[], until: (text: string) => boolean = () => false): Promise<{ text: string; closed: boolean }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(port), hostname);
    let text = '';
    const done = (closed: boolean) => { socket.destroy(); resolve({ text, closed }); };
    socket.setEncoding('latin1');
    socket.on('data', (data: string) => { text += data; if (until(text)) done(false); });
    socket.on('close', () => done(true));
    socket.on('error', reject);
    socket.on('connect', async () => {
      for (const [i, chunk] of chunks.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, 50));
        socket.write(chunk, 'latin1');
      }
    });
  });
}

const withoutDates = (text: string) => text.replace(/^Date: .*$/gm, 'Date: -');
const answers = (text: string) => text.split(/(?=HTTP\/1\.1 )/);

test('a kept-alive connection gets, byte for byte, what node answers for the same requests', async () => {
  const { server } = await serving();
  try {
    const targets = [`/ipxe?uuid=${UUID}&mac=${MAC}`, `/cloud?mac=${MAC}`, '/ipxe', `/pixiecore/v1/boot/${MAC}`, '/-/revision', '/ipxe?uuid=bad', '/nowhere'];
    for (const [method, keepAliveMs] of [['GET', 5000], ['HEAD', 5000], ['GET', 0]] as const) {
      server.server.keepAliveTimeout = keepAliveMs; // node sends no Keep-Alive header without one
      const plain = targets.map((t) => `${method} ${t} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
      // A condition that never holds sends the same request to node, with the same answer.
      const viaNode = targets.map((t) => `${method} ${t} HTTP/1.1\r\nHost: x\r\nIf-None-Match: "no"\r\n\r\n`).join('');
      const count = (text: string) => answers(text).length === targets.length && text.endsWith(method === 'HEAD' ? '\r\n\r\n' : 'not found\n');
      const fast = await exchange(server.url, [plain], count);
      const node = await exchange(server.url, [viaNode], count);
      assert.equal(answers(fast.text).length, targets.length);
      assert.equal(withoutDates(fast.text), withoutDates(node.text));
      assert.match(fast.text, /^HTTP\/1\.1 200 OK\r\nX-Bootcfg-Revision: \w+\r\nCache-Control: no-cache\r\n/);
      assert.equal(fast.text.includes('\r\nKeep-Alive: timeout=5\r\n'), keepAliveMs > 0);
    }
  } finally {
    await server.close();
  }
});

test('an odd request mid-connection goes to node with everything after it, answered in order', async () => {
  const { server, log } = await serving();
  try {
    const requests = [
      `GET /ipxe?uuid=${UUID} HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET /ipxe?uuid=${UUID} HTTP/1.1\r\nHost: x\r\nRange: bytes=0-6\r\n\r\n`,
      `GET /cloud?mac=${MAC} HTTP/1.1\r\nHost: x\r\n\r\n`,
      'GET /ipxe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    ];
    const { text, closed } = await exchange(server.url, [requests.join('')]);
    assert.ok(closed, 'the connection closes after the Connection: close answer');
    const got = answers(text);
    assert.deepEqual(got.map((a) => a.split('\r\n')[0]), ['HTTP/1.1 200 OK', 'HTTP/1.1 206 Partial Content', 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    assert.match(got[1]!, /\r\n\r\n#!ipxe\n$/);
    assert.match(got[2]!, /hostname: by-mac\n$/);
    assert.match(got[3]!, /\r\nConnection: close\r\n/);
    assert.deepEqual(log.map((e) => [e.path, e.status, e.answer]), [[`/ipxe?uuid=${UUID}`, 200, 'uuid'], [`/ipxe?uuid=${UUID}`, 206, 'uuid'], [`/cloud?mac=${MAC}`, 200, 'mac'], ['/ipxe', 200, 'default']]);
  } finally {
    await server.close();
  }
});

test('a head split across reads, and one ending the connection, are answered as node answers them', async () => {
  const { server, log } = await serving();
  try {
    const split = await exchange(server.url, [`GET /ipxe?uuid=${UUID} HTT`, 'P/1.1\r\nHost: x\r\n\r\n'], (t) => t.endsWith('boot\n'));
    assert.match(split.text, /^HTTP\/1\.1 200 OK\r\n[^]*\r\nConnection: keep-alive\r\n[^]*kernel \/images\/by-uuid\/vmlinuz/);
    const closing = await exchange(server.url, [`GET /ipxe?uuid=${UUID} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`]);
    assert.ok(closing.closed);
    assert.match(closing.text, /^HTTP\/1\.1 200 OK\r\n[^]*\r\nConnection: close\r\n\r\n#!ipxe\n[^]*boot\n$/);
    assert.doesNotMatch(closing.text, /Keep-Alive/);
    const entry = log.at(-1)!;
    assert.deepEqual({ ...entry, time: '-', ms: 0 }, { time: '-', client: '127.0.0.1', method: 'GET', path: `/ipxe?uuid=${UUID}`, status: 200, answer: 'uuid', file: `ipxe/uuid/${UUID}`, revision: server.revision, ms: 0 });
  } finally {
    await server.close();
  }
});

test('an idle kept-alive connection is closed after the keep-alive timeout, and close() ends held ones', async () => {
  const { server } = await serving();
  server.server.keepAliveTimeout = 300;
  const idle = await exchange(server.url, ['GET /ipxe HTTP/1.1\r\nHost: x\r\n\r\n']);
  assert.ok(idle.closed);
  assert.match(idle.text, /\r\nKeep-Alive: timeout=0\r\n/);
  server.server.keepAliveTimeout = 60_000;
  const held = exchange(server.url, ['GET /ipxe HTTP/1.1\r\nHost: x\r\n\r\n'], () => false);
  await new Promise((r) => setTimeout(r, 200));
  await server.close(); // would wait for the held connection if it were left open
  assert.ok((await held).closed);
});
