// Stage: serve. A plain HTTP server over the live dist snapshot: the rewrite shim (route.ts)
// turns a request into candidate files, and the first that exists answers.
//
// Each build is an immutable snapshot directory (write.ts), swapped in when dist/current
// moves; a request is answered wholly from the snapshot it started in. Compiled answers are a
// few hundred bytes, read with one synchronous stat/open/read/close (readSmall): measured with
// make bench, that doubles the requests per second of handing each one to sirv, whose lazy
// lookup and read stream cost four trips through libuv's thread pool. sirv answers the rest:
// images, ranges and anything large, in its lazy mode (`dev`) — the snapshot never changes,
// and a 100k-machine tree then costs neither a blocking walk nor an index of 250k entries.

import { closeSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { join, resolve } from 'node:path';
import sirv from 'sirv';
import { SourceError, UsageError } from '../compile/errors.js';
import { REVISION_FILE, TEXT } from '../compile/outputs.js';
import { LEGACY_SHAPES, SHAPES_FILE, parseShapes, type ShapeKeys } from '../compile/shapes.js';
import { PASS_ON_PLACEHOLDER } from './answers.js';
import { route, type Candidate } from './route.js';
import { CURRENT } from '../build/write.js';
import { directoryIdentity } from '../build/watch.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ServeOptions {
  distPath: string;
  imagesPath: string;
  /** HOST:PORT; port 0 picks a free one. */
  address: string;
  /** Extra endpoints by exact path (e.g. "/-/status"); they handle their own methods. */
  routes?: ReadonlyMap<string, Handler>;
  /** Receives one entry per answered request. */
  log?: (entry: AccessLogEntry) => void;
}

export interface AccessLogEntry {
  time: string;
  client: string;
  method: string;
  path: string;
  status: number;
  /** Which selector shape answered (uuid, mac, mac.os, default…), or chain, revision, image; "-" for none. */
  answer: string;
  file: string;
  revision: string;
  ms: number;
}

export interface RunningServer {
  url: string;
  server: Server;
  /** The revision being served now; "-" while dist/ has no build. */
  readonly revision: string;
  /** Re-reads dist/current and swaps the new snapshot in; returns its revision. */
  reload(): Promise<string>;
  close(): Promise<void>;
}

interface Snapshot {
  revision: string;
  dir: string;
  /** The build's selector shapes in try order (shapes.json; LEGACY_SHAPES without one). */
  shapes: readonly ShapeKeys[];
  serveFile: ReturnType<typeof sirv>;
}

export const REVISION_HEADER = 'X-Bootcfg-Revision';

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { host, port } = parseAddress(options.address);
  // undefined while dist/ has no build (removed, or current dangling): every answer is then 503.
  let live: Snapshot | undefined = await openSnapshot(options.distPath);
  const images = sirv(options.imagesPath, { dev: true, etag: true, dotfiles: false, extensions: [] });
  const log = options.log ?? (() => {});
  const nothingLive: NothingLive = {
    message: `no build in ${resolve(options.distPath)} yet`, // nginx's words (nginx.ts)
    gone: () => void reload().catch(() => {}), // the snapshot went away: look for what replaced it
  };

  const server = createServer((req, res) => {
    const started = performance.now();
    const path = req.url ?? '/'; // the shim rewrites req.url for sirv
    const snapshot = live; // one request, one build
    const record = { answer: '-', file: '-', revision: snapshot?.revision ?? '-' };
    res.once('close', () => log({ // 'close' comes for aborted answers too, where 'finish' never does
      time: new Date().toISOString(),
      client: req.socket.remoteAddress ?? '-',
      method: req.method ?? '-',
      path,
      status: res.statusCode,
      ...record,
      ms: Math.round((performance.now() - started) * 100) / 100,
    }));
    if (snapshot) res.setHeader(REVISION_HEADER, snapshot.revision);
    res.setHeader('Cache-Control', 'no-cache');
    const extra = options.routes?.get(path.split('?')[0]!);
    if (extra) return extra(req, res);
    answer(req, res, snapshot, images, record, nothingLive);
  });

  server.on('clientError', refuseUnparsable);

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(new UsageError(`cannot listen on ${options.address}: ${error.code ?? error.message}`, {
      hint: error.code === 'EADDRINUSE' ? 'another process has that port; pick another with --address' : 'check --address (HOST:PORT)',
      cause: error,
    })));
    server.listen(port, host, resolve);
  });

  // One reload at a time; a request for one while it runs (dist/current may have moved after
  // it read the link) runs one more when it ends, so the newest build is never missed.
  let reloading: Promise<string> | undefined;
  let again = false;
  const reload = (): Promise<string> => {
    if (reloading) {
      again = true;
      return reloading;
    }
    const run = async (): Promise<string> => {
      do {
        again = false;
        live = await openSnapshot(options.distPath).catch((error: unknown) => {
          live = undefined; // nothing to serve: 503, as nginx, until a build appears
          throw error;
        });
      } while (again);
      return live.revision;
    };
    reloading = run().finally(() => { reloading = undefined; });
    return reloading;
  };
  const follower = followCurrent(options.distPath, () => live?.dir, () => void reload().catch(() => {}));

  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${shownHost}:${bound.port}`,
    server,
    get revision() { return live?.revision ?? '-'; },
    reload,
    close: () => {
      follower.close();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** What a request does when it finds nothing live. */
interface NothingLive {
  message: string;
  /** The request's snapshot is no longer on disk. */
  gone(): void;
}

/** What the access log says about how a request was answered. */
type AnswerRecord = { answer: string; file: string; revision: string };

function answer(req: IncomingMessage, res: ServerResponse, snapshot: Snapshot | undefined, images: ReturnType<typeof sirv>, record: AnswerRecord, nothingLive: NothingLive): void {
  const target = route(req.method ?? 'GET', req.url ?? '/', snapshot?.shapes ?? LEGACY_SHAPES); // no build: only refusals need routing
  sanitizeRange(req, target.type === 'image');
  if (target.type === 'error' && refusedBeforeLookup(target)) {
    if (target.status === 405) res.setHeader('Allow', 'GET, HEAD');
    return sendText(res, target.status, target.message);
  }
  // Found files prove the snapshot is there; every other answer checks first (see isLive).
  if (!snapshot || (target.type !== 'file' && !isLive(snapshot))) return sendUnavailable(res, record, nothingLive, snapshot !== undefined);
  if (target.type === 'error') return sendText(res, target.status, target.message);
  if (target.type === 'image') {
    record.answer = 'image';
    record.file = `images${target.path}`;
    res.setHeader('Content-Type', 'application/octet-stream');
    req.url = target.path;
    withoutContentEncoding(res);
    endOnStreamError(res);
    return images(req, res, () => sendText(res, 404, 'not found'));
  }
  res.setHeader('Content-Type', target.contentType);
  const found = serveFirst(req, res, snapshot, target.candidates, target.passOn);
  if (found) {
    record.answer = found.shape;
    record.file = found.path;
  } else if (!isLive(snapshot)) sendUnavailable(res, record, nothingLive, true);
  else sendText(res, 404, target.notFound);
}

/** 503, with no revision: nothing is live (nginx's answer too). */
function sendUnavailable(res: ServerResponse, record: AnswerRecord, nothingLive: NothingLive, hadSnapshot: boolean): void {
  res.removeHeader(REVISION_HEADER);
  record.revision = '-';
  if (hadSnapshot) nothingLive.gone();
  sendText(res, 503, nothingLive.message);
}

/**
 * The refusals nginx makes before it looks for a build (a bad method, a bad or over-long
 * request line): they answer the same with or without one. Everything else is 503 while
 * nothing is live.
 */
function refusedBeforeLookup(target: { status: number; message: string }): boolean {
  return target.status === 405 || target.status === 414 || (target.status === 400 && target.message === 'bad request');
}

/**
 * Whether the snapshot is still on disk (its REVISION file, as nginx's check). Asked only off
 * the hot path: a request answered from a file of the snapshot has already shown it is there.
 * A snapshot removed under a running server (rm -rf dist) is then a 503, not a 404, which to
 * Pixiecore would mean "do not boot".
 */
function isLive(snapshot: Snapshot): boolean {
  return statSync(join(snapshot.dir, REVISION_FILE), { throwIfNoEntry: false })?.isFile() === true;
}

/**
 * Answers the first candidate that exists in the snapshot. With `passOn` (the chainload
 * script), the first placeholder in the file becomes that text.
 */
function serveFirst(req: IncomingMessage, res: ServerResponse, snapshot: Snapshot, candidates: readonly Candidate[], passOn?: string): Candidate | undefined {
  for (const candidate of candidates) {
    const small = readSmall(join(snapshot.dir, candidate.path));
    if (small === 'missing') continue;
    if (small === 'vanished') {
      res.destroy(); // as for sirv's streams: a file gone mid-request ends this response, not the server
      return candidate;
    }
    if (small && passOn !== undefined) {
      sendPassedOn(res, small.body, passOn);
      return candidate;
    }
    if (small) {
      sendSmall(req, res, small);
      return candidate;
    }
    let missing = false;
    req.url = `/${candidate.path}`;
    endOnStreamError(res);
    snapshot.serveFile(req, res, () => { missing = true; }); // sirv's lazy mode decides synchronously
    if (!missing) return candidate;
  }
  return undefined;
}

// The hot path. Compiled answers are a few hundred bytes in an immutable snapshot: one
// stat/open/read/close, synchronous, costs less than sirv's existsSync + statSync + a read
// stream (four trips through libuv's thread pool). The headers are sirv's, so the answer is
// the same; large files still go to sirv.
const SMALL_FILE = 64 * 1024;

interface SmallFile {
  body: Buffer;
  mtime: Date;
}

/**
 * A small regular file's contents; 'missing' when there is none; 'vanished' when it went away
 * (or became unreadable) between the stat and the read; undefined to defer to sirv.
 */
function readSmall(path: string): SmallFile | 'missing' | 'vanished' | undefined {
  // Most requests miss one or two candidates: a stat that returns undefined is much cheaper
  // than an open that throws.
  const stats = statSync(path, { throwIfNoEntry: false });
  if (!stats || stats.isDirectory()) return 'missing';
  if (!stats.isFile() || stats.size > SMALL_FILE) return undefined;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 'vanished';
  }
  try {
    const body = Buffer.allocUnsafe(stats.size);
    let read = 0;
    while (read < body.length) {
      const n = readSync(fd, body, read, body.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return { body: body.subarray(0, read), mtime: stats.mtime };
  } catch {
    return 'vanished';
  } finally {
    closeSync(fd);
  }
}

/** sirv's answer for a whole file: its ETag (weak, size and mtime), 304 on a match. */
function sendSmall(req: IncomingMessage, res: ServerResponse, file: SmallFile): void {
  const etag = `W/"${file.body.length}-${file.mtime.getTime()}"`;
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304);
    res.end();
    return;
  }
  res.writeHead(200, { 'Content-Length': file.body.length, 'Last-Modified': file.mtime.toUTCString(), ETag: etag });
  res.end(file.body);
}

/**
 * The chainload script with its placeholder replaced: a body that depends on the query, so
 * neither ETag nor Last-Modified (nginx's sub_filter drops them too).
 */
function sendPassedOn(res: ServerResponse, body: Buffer, passOn: string): void {
  const text = Buffer.from(body.toString('utf8').replace(PASS_ON_PLACEHOLDER, () => passOn));
  res.writeHead(200, { 'Content-Length': text.length });
  res.end(text);
}

/**
 * sirv labels every `*.gz` file `Content-Encoding: gzip`. An initrd such as
 * flatcar_production_pxe_image.cpio.gz is the file itself, not a compressed transfer of it:
 * a client honouring the label would unpack it and boot a different file.
 */
function withoutContentEncoding(res: ServerResponse): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, status: number, ...rest: unknown[]) {
    const headers = rest.at(-1);
    if (headers && typeof headers === 'object' && !Array.isArray(headers)) delete (headers as Record<string, unknown>)['Content-Encoding'];
    return (writeHead as (...args: unknown[]) => ServerResponse).call(this, status, ...rest);
  } as ServerResponse['writeHead'];
}

/**
 * Keeps only a Range header sirv handles correctly (`bytes=START-` or `bytes=START-END`,
 * START ≤ END), and only for images: sirv turns `bytes=100-50` into a read stream that throws
 * inside the request handler, and gets `bytes=-500` wrong. RFC 9110 lets a server ignore a
 * Range it does not serve; compiled answers are small and always sent whole.
 */
function sanitizeRange(req: IncomingMessage, image: boolean): void {
  const range = req.headers.range;
  if (range === undefined) return;
  const bytes = /^bytes=(\d{1,15})-(\d{0,15})$/.exec(range);
  if (!image || !bytes || (bytes[2] !== '' && Number(bytes[2]) < Number(bytes[1]))) delete req.headers.range;
}

/**
 * sirv pipes a file stream into res without an error handler; a file that vanished under it
 * must end this response, not the process.
 */
function endOnStreamError(res: ServerResponse): void {
  if (res.listenerCount('pipe') === 0) res.on('pipe', (source) => source.on('error', () => res.destroy()));
}

function sendText(res: ServerResponse, status: number, message: string): void {
  const body = `${message}\n`;
  res.writeHead(status, { 'Content-Type': TEXT, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Answers a request Node's HTTP parser refused (raw NUL or space, a bad method token) as the
 * contract says, in one line of text, where Node would close with an empty 400.
 */
function refuseUnparsable(error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  const packet = error.rawPacket?.toString('latin1') ?? '';
  const upperCaseMethod = error.code === 'HPE_INVALID_METHOD' && /^[A-Z]+ /.test(packet);
  const [status, reason, message] = error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large', 'request too long']
    : upperCaseMethod ? [405, 'Method Not Allowed', 'method not allowed'] : [400, 'Bad Request', 'bad request'];
  const body = `${message}\n`;
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${TEXT}\r\nContent-Length: ${body.length}\r\nCache-Control: no-cache\r\n${status === 405 ? 'Allow: GET, HEAD\r\n' : ''}Connection: close\r\n\r\n${body}`);
}

/** The live snapshot: dist/current resolved to its directory, with its revision. */
async function openSnapshot(distPath: string): Promise<Snapshot> {
  const current = join(distPath, CURRENT);
  const dir = await realpath(current).catch(() => undefined);
  const revision = dir && (await readFile(join(dir, REVISION_FILE), 'utf8').catch(() => undefined));
  if (!dir || !revision) {
    throw new SourceError(`no build in ${distPath}`, { hint: 'run `bootcfg build` first, or pass --data-path so serve builds before it listens' });
  }
  return { revision: revision.trim(), dir, shapes: await readShapes(dir), serveFile: sirv(dir, { dev: true, etag: true, dotfiles: false, extensions: [] }) };
}

/**
 * The selector shapes of the build live in dist/ now (what `bootcfg nginx` generates a block
 * for), or undefined when there is no build yet.
 */
export async function liveShapes(distPath: string): Promise<readonly ShapeKeys[] | undefined> {
  const dir = await realpath(join(distPath, CURRENT)).catch(() => undefined);
  return dir === undefined ? undefined : readShapes(dir);
}

/** A snapshot's shapes.json (a small regular file), or the legacy shapes when it has none. */
async function readShapes(dir: string): Promise<readonly ShapeKeys[]> {
  const path = join(dir, SHAPES_FILE);
  const stats = statSync(path, { throwIfNoEntry: false });
  if (!stats) return LEGACY_SHAPES;
  if (!stats.isFile() || stats.size > SMALL_FILE) throw new SourceError('shapes.json is not a small regular file', { file: path, hint: 'rebuild with `bootcfg build`' });
  try {
    return parseShapes(await readFile(path, 'utf8'));
  } catch (error) {
    throw new SourceError(`bad shapes.json: ${(error as Error).message}`, { file: path, hint: 'rebuild with `bootcfg build`', cause: error });
  }
}

/** How often the follower checks dist/ by itself, for what its watch cannot see. */
const FOLLOW_CHECK_MS = 1000;

/**
 * Calls `changed` when dist/current resolves somewhere other than the live snapshot (a build by
 * another process, or dist/ emptied). A watch on dist/ sees a build at once, but it watches one
 * directory: when dist/ is removed and made again (rm -rf dist; bootcfg build) the watch is
 * left on the old one. So once a second the follower also resolves dist/current itself, and
 * watches dist/ again when it is another directory than the one watched.
 */
function followCurrent(distPath: string, liveDir: () => string | undefined, changed: () => void): { close(): void } {
  let watched: { watcher: FSWatcher; id: string } | undefined;
  const check = () => realpath(join(distPath, CURRENT)).then((dir) => dir, () => undefined).then((dir) => { if (dir !== liveDir()) changed(); });
  const rewatch = () => {
    const id = directoryIdentity(distPath);
    if (watched && watched.id === id) return;
    watched?.watcher.close();
    watched = undefined;
    if (id === undefined) return;
    try {
      const watcher = watch(distPath, { persistent: false }, (_event, name) => { if (name === CURRENT) void check(); });
      watcher.on('error', () => { watcher.close(); if (watched?.watcher === watcher) watched = undefined; });
      watched = { watcher, id };
    } catch {
      // no inotify: the periodic check still follows, a second late
    }
  };
  rewatch();
  const timer = setInterval(() => {
    rewatch();
    void check();
  }, FOLLOW_CHECK_MS);
  timer.unref();
  return {
    close: () => {
      clearInterval(timer);
      watched?.watcher.close();
    },
  };
}

export function parseAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new UsageError(`invalid address "${address}"`, { hint: 'use HOST:PORT, e.g. 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080' });
  }
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}
