// A release mirror for the images tests: a real node:http server on 127.0.0.1:0 serving a
// temp directory, with HTTP Range support that can be switched off, a switch to drop the
// connection part-way through a file, and a log of what was asked. Also a throwaway OpenPGP
// key to sign release files with, so the tests never need Flatcar's private key.

import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';

export interface MirrorLogEntry {
  path: string;
  range?: string;
  status: number;
}

export interface Mirror {
  url: string;
  root: string;
  log: MirrorLogEntry[];
  /** Answer Range requests with 206 (true) or ignore them and send 200 (false). */
  ranges: boolean;
  /** Path → bytes after which the connection is cut; each entry fires once. */
  dropAfter: Map<string, number>;
  /** Awaited between sending those bytes and hanging up (e.g. until the client stored them). */
  beforeDrop?: () => Promise<void>;
  put(path: string, data: string | Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export async function startMirror(): Promise<Mirror> {
  const root = await mkdtemp(join(tmpdir(), 'bootcfg-mirror-'));
  const mirror: Mirror = {
    url: '',
    root,
    log: [],
    ranges: true,
    dropAfter: new Map(),
    put: async (path, data) => {
      const file = join(root, path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, data);
    },
    // The temp tree goes with the server: a test run must not leave a mirror per test in /tmp.
    close: async () => {
      await new Promise<void>((done) => server.close(() => done()));
      await rm(root, { recursive: true, force: true });
    },
  };
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = join(root, normalize(path));
    const answer = (status: number): void => {
      mirror.log.push({ path, range: req.headers.range, status });
    };
    stat(file).then(
      (info) => {
        if (!info.isFile()) throw new Error('not a file');
        const range = mirror.ranges ? /^bytes=(\d+)-$/.exec(req.headers.range ?? '') : null;
        const start = range ? Number(range[1]) : 0;
        if (start > 0 && start >= info.size) {
          answer(416);
          res.writeHead(416, { 'Content-Range': `bytes */${info.size}` }).end();
          return;
        }
        const status = start > 0 ? 206 : 200;
        answer(status);
        const headers: Record<string, string | number> = { 'Content-Length': info.size - start, 'Accept-Ranges': mirror.ranges ? 'bytes' : 'none' };
        if (status === 206) headers['Content-Range'] = `bytes ${start}-${info.size - 1}/${info.size}`;
        res.writeHead(status, headers);
        const drop = mirror.dropAfter.get(path);
        if (drop === undefined) {
          createReadStream(file, { start }).pipe(res);
          return;
        }
        mirror.dropAfter.delete(path);
        const partial = createReadStream(file, { start, end: start + drop - 1 });
        partial.on('data', (chunk) => res.write(chunk));
        // end(), not destroy(): flush what was written, then hang up short of Content-Length.
        partial.on('end', () => {
          void (mirror.beforeDrop?.() ?? Promise.resolve()).then(() => res.socket?.end());
        });
      },
      () => {
        answer(404);
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      },
    );
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  mirror.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return mirror;
}

export interface TestKey {
  privateKey: openpgp.PrivateKey;
  armoredPublic: string;
  keyID: string;
}

/** Resolves once `path` holds at least `size` bytes; gives up after ~10 s (a bounded wait). */
export async function untilSize(path: string, size: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const have = await stat(path).then((s) => s.size, () => 0);
    if (have >= size) return;
    await new Promise((tick) => setTimeout(tick, 25));
  }
}

/** A fresh ECC key: generated in milliseconds, unlike RSA. */
export async function makeKey(name = 'bootcfg test'): Promise<TestKey> {
  const { privateKey, publicKey } = await openpgp.generateKey({ userIDs: [{ name }], format: 'object' });
  const signing = await privateKey.getSigningKey();
  return { privateKey, armoredPublic: publicKey.armor(), keyID: signing.getKeyID().toHex() };
}

/** A binary detached signature, as Flatcar publishes them. */
export async function sign(key: TestKey, data: Uint8Array | string): Promise<Uint8Array> {
  const binary = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const message = await openpgp.createMessage({ binary });
  return openpgp.sign({ message, signingKeys: key.privateKey, detached: true, format: 'binary' }) as Promise<Uint8Array>;
}

/** Random bytes standing in for a kernel or initrd: small, and incompressible like the real ones. */
export function blob(size: number): Buffer {
  return randomBytes(size);
}
