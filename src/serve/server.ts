// Stage: serve. A plain HTTP server over the live dist snapshot: the rewrite shim (route.ts)
// turns a request into candidate files, and the first that exists answers (static.ts, which
// answers conditional and range requests as nginx does).
//
// Each build is an immutable snapshot directory (write.ts), swapped in when dist/current
// moves; a request is answered wholly from the snapshot it started in. Compiled answers are a
// few hundred bytes, read synchronously once and then answered from the snapshot's answer pack
// (pack.ts: one pread, no stat/open/close), which make bench showed to be half of the work per
// request. Large files and images are streamed from disk. Plain GET and HEAD requests (a boot
// storm's all) are answered before node's HTTP layer sees them (fast-path.ts, quickReply), with
// the same bytes; everything else comes through node's server below.
//
// Requests are held to nginx's rules before routing (route.ts checkHead: version, Host,
// repeated headers, Transfer-Encoding, header sizes), and requests node's parser refuses get
// nginx's answer in the contract's words, so that both servers give one answer to odd requests.

import { closeSync, fstatSync, openSync, readFileSync, readSync, realpathSync, statSync, watch, type FSWatcher } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { join, resolve } from 'node:path';
import { SourceError, UsageError } from '../compile/errors.js';
import { REVISION_FILE, TEXT } from '../compile/outputs.js';
import { LEGACY_SHAPES, SHAPES_FILE, parseShapes, type ShapeKeys } from '../compile/shapes.js';
import { PASS_ON_PLACEHOLDER } from './answers.js';
import { HEADER_TOO_LARGE, MAX_HEAD, checkHead, route, type Candidate } from './route.js';
import { filePlan, sendFile, sendFound } from './static.js';
import { frontServer, type PlainRequest, type QuickReply } from './fast-path.js';
import { AnswerPack } from './pack.js';
import { collectAtRest } from './collect.js';
import { CURRENT } from '../build/write.js';
import { directoryIdentity } from '../build/watch.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ServeOptions {
  distPath: string;
  imagesPath: string;
  /** HOST:PORT; port 0 picks a free one. */
  address?: string;
  /** Instead of an address: a socket another process listens on, shared with this one (serve --workers). */
  listener?: NetServer;
  /** Extra endpoints by exact path (e.g. "/-/status"); they handle their own methods. */
  routes?: ReadonlyMap<string, Handler>;
  /** Receives one entry per answered request. */
  log?: (entry: AccessLogEntry) => void;
  /** Receives a line when a snapshot's answer pack is filled (pack.ts). */
  notice?: (line: string) => void;
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
  /** The answers read from it so far. */
  pack: AnswerPack;
  /** The revision can go in a header as written (the fast path does not check what node's setHeader does). */
  plainRevision: boolean;
  /** Whether the snapshot is still on disk: its REVISION file, asked once per event-loop turn. */
  alive(): boolean;
  /** Drops the pack and the REVISION file's descriptor: another snapshot is live. */
  close(): void;
}

export const REVISION_HEADER = 'X-Bootcfg-Revision';

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const address = options.listener ? undefined : parseAddress(options.address ?? '');
  // undefined while dist/ has no build (removed, or current dangling): every answer is then 503.
  const notice = options.notice ?? (() => {});
  let live: Snapshot | undefined = openSnapshot(options.distPath, notice);
  /** Opens what dist/current leads to now (the live snapshot itself if it still is that one); throws if nothing. */
  const refresh = (): Snapshot => {
    let next: Snapshot | undefined;
    try {
      next = openSnapshot(options.distPath, notice, live);
      return next;
    } finally {
      if (next !== live) live?.close();
      live = next;
    }
  };
  const log = options.log ?? (() => {});
  const nothingLive = `no build in ${resolve(options.distPath)} yet`; // nginx's words (nginx.ts)

  // Host is checked by checkHead, as nginx checks it; node's own check answers an empty 400.
  const server = createServer({ requireHostHeader: false, maxHeaderSize: MAX_HEAD }, (req, res) => {
    const started = performance.now();
    const path = req.url ?? '/';
    // One request, one build. Answers come from the pack, not the snapshot's files, so first
    // make sure the snapshot is still there; if not, whatever replaced it (if anything) answers.
    const snapshot = current();
    const record = { answer: '-', file: '-', revision: snapshot?.revision ?? '-' };
    res.once('close', () => log({ // 'close' comes for aborted answers too, where 'finish' never does
      time: logTime(),
      client: req.socket.remoteAddress ?? '-',
      method: req.method ?? '-',
      path,
      status: res.statusCode,
      ...record,
      ms: Math.round((performance.now() - started) * 100) / 100,
    }));
    if (snapshot) res.setHeader(REVISION_HEADER, snapshot.revision);
    res.setHeader('Cache-Control', 'no-cache');
    const refused = checkHead(req);
    if (refused) {
      res.setHeader('Connection', 'close'); // a body nobody read must not be parsed as the next request
      return sendText(res, refused.status, refused.message);
    }
    const extra = options.routes?.get(path.split('?')[0]!);
    if (extra) return extra(req, res);
    answer(req, res, snapshot, options.imagesPath, record, nothingLive);
  });

  // Plain requests are answered before node's HTTP layer sees them (fast-path.ts), with the
  // same answer and access log entry as above.
  const front = frontServer(server, (request, socket) => {
    const started = performance.now();
    const snapshot = current();
    if (!snapshot?.plainRevision || options.routes?.has(request.target.split('?')[0]!)) return undefined;
    const reply = quickReply(request, snapshot);
    if (reply) {
      log({
        time: logTime(),
        client: socket.remoteAddress ?? '-',
        method: request.method,
        path: request.target,
        status: reply.status,
        answer: reply.record.answer,
        file: reply.record.file,
        revision: snapshot.revision,
        ms: Math.round((performance.now() - started) * 100) / 100,
      });
    }
    return reply;
  });

  // nginx ignores expectations it does not know; node would answer 417.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => server.emit('request', req, res));
  // CONNECT never reaches a route: answer it as nginx does (400 for an authority target, else 405).
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    const target = checkHead(req) ?? route(req.method ?? 'CONNECT', req.url ?? '');
    const [status, message] = target.type === 'error' ? [target.status, target.message] : [405, 'method not allowed'];
    writeError(socket, status, message, live?.revision);
    log({ time: logTime(), client: req.socket.remoteAddress ?? '-', method: 'CONNECT', path: req.url ?? '-', status, answer: '-', file: '-', revision: live?.revision ?? '-', ms: 0 });
  });
  server.on('clientError', (error: ParserError, socket: Duplex) => refuseUnparsable(error, socket, live?.revision));

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(new UsageError(`cannot listen on ${options.address ?? 'the shared socket'}: ${error.code ?? error.message}`, {
      hint: error.code === 'EADDRINUSE' ? 'another process has that port; pick another with --address' : 'check --address (HOST:PORT)',
      cause: error,
    })));
    // A shared socket is taken as node's docs say (listen(handle)): this server then accepts from it too.
    if (address) server.listen(address.port, address.host, resolve);
    else server.listen(options.listener, resolve);
  });

  // Opening a snapshot is a few synchronous calls, so a reload can never interleave with
  // another, nor with a request.
  const reload = async (): Promise<string> => refresh().revision;
  /** The snapshot a request is answered from: the live one while it is still on disk. */
  function current(): Snapshot | undefined {
    return live === undefined || live.alive() ? live : tryRefresh();
  }
  function tryRefresh(): Snapshot | undefined {
    try {
      return refresh();
    } catch {
      return undefined; // nothing to serve: 503, as nginx, until a build appears
    }
  }
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
      front.close();
      live?.close();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The access log's time, ISO 8601: made once per millisecond, not once per request. */
function logTime(): string {
  const now = Date.now();
  if (now !== lastTime.ms) lastTime = { ms: now, text: new Date(now).toISOString() };
  return lastTime.text;
}
let lastTime = { ms: NaN, text: '' };

/** What the access log says about how a request was answered. */
type AnswerRecord = { answer: string; file: string; revision: string };

function answer(req: IncomingMessage, res: ServerResponse, snapshot: Snapshot | undefined, imagesPath: string, record: AnswerRecord, nothingLive: string): void {
  const bodyLength = Number(req.headers['content-length'] ?? 0);
  const target = route(req.method ?? 'GET', req.url ?? '/', snapshot?.shapes ?? LEGACY_SHAPES, bodyLength); // no build: only refusals need routing
  if (target.type === 'error' && target.status === 413) res.setHeader('Connection', 'close'); // the body is never read
  if (target.type === 'error' && refusedBeforeLookup(target)) {
    if (target.status === 405) res.setHeader('Allow', 'GET, HEAD');
    return sendText(res, target.status, target.message);
  }
  if (!snapshot) return sendUnavailable(res, record, nothingLive);
  if (target.type === 'error') return sendText(res, target.status, target.message);
  if (target.type === 'image') {
    record.answer = 'image';
    record.file = `images${target.path}`;
    res.setHeader('Content-Type', 'application/octet-stream');
    // The path is one byte per character (route.ts decodes bytewise): back to those bytes.
    const sent = sendFile(req, res, Buffer.concat([Buffer.from(imagesPath), Buffer.from(target.path, 'latin1')]));
    if (sent === 'missing') return sendText(res, 404, 'not found');
    if (sent !== 'sent') sendText(res, sent.status, sent.message);
    return;
  }
  res.setHeader('Content-Type', target.contentType);
  const found = serveFirst(req, res, snapshot, target.candidates, target.passOn);
  if (found) {
    record.answer = found.shape;
    record.file = found.answer;
  } else sendText(res, 404, target.notFound);
}

/**
 * The fast path's answer to a plain GET or HEAD (fast-path.ts): what answer() and sendText()
 * send through node for the same request, or undefined where they do more than send one
 * packed file or one error line (images, the chainload script, large files, 405 and 413).
 */
function quickReply(request: PlainRequest, snapshot: Snapshot): (QuickReply & { record: { answer: string; file: string } }) | undefined {
  const target = route(request.method, request.target, snapshot.shapes, 0);
  const common = [[REVISION_HEADER, snapshot.revision], ['Cache-Control', 'no-cache']] as const;
  const text = (status: number, message: string) => {
    const body = Buffer.from(`${message}\n`);
    return { status, headers: [...common, ['Content-Type', TEXT], ['Content-Length', body.length]] as const, body };
  };
  if (target.type === 'error') {
    return target.status === 405 || target.status === 413 ? undefined : { ...text(target.status, target.message), record: { answer: '-', file: '-' } };
  }
  if (target.type !== 'file' || target.passOn !== undefined) return undefined;
  for (const candidate of target.candidates) {
    const found = snapshot.pack.find(candidate.path);
    if (found === 'missing') continue;
    if (found === 'large') return undefined;
    const plan = filePlan(() => undefined, found.file);
    if (plan.kind !== 'bytes' || plan.status !== 200) return undefined;
    return {
      status: 200,
      headers: [...common, ['Content-Type', target.contentType], ...Object.entries(plan.headers)],
      body: found.read(0, found.file.size),
      record: { answer: candidate.shape, file: candidate.answer },
    };
  }
  return { ...text(404, target.notFound), record: { answer: '-', file: '-' } };
}

/** 503, with no revision: nothing is live (nginx's answer too). */
function sendUnavailable(res: ServerResponse, record: AnswerRecord, nothingLive: string): void {
  res.removeHeader(REVISION_HEADER);
  record.revision = '-';
  sendText(res, 503, nothingLive);
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
 * Answers the first candidate that exists in the snapshot. With `passOn` (the chainload
 * script), the first placeholder in the file becomes that text.
 */
function serveFirst(req: IncomingMessage, res: ServerResponse, snapshot: Snapshot, candidates: readonly Candidate[], passOn?: string): Candidate | undefined {
  const rewrite = passOn === undefined ? undefined : (body: Buffer) => Buffer.from(body.toString('utf8').replace(PASS_ON_PLACEHOLDER, () => passOn));
  for (const candidate of candidates) {
    const found = snapshot.pack.find(candidate.path);
    if (found === 'missing') continue;
    const sent = found === 'large' ? sendFile(req, res, join(snapshot.dir, candidate.path), rewrite) : sendFound(req, res, found.file, found.read, rewrite);
    if (sent === 'missing') continue;
    if (sent !== 'sent') sendText(res, sent.status, sent.message);
    return candidate;
  }
  return undefined;
}

function sendText(res: ServerResponse, status: number, message: string): void {
  const body = `${message}\n`;
  res.writeHead(status, { 'Content-Type': TEXT, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

type ParserError = NodeJS.ErrnoException & { rawPacket?: Buffer };

/**
 * Answers a request node's HTTP parser refused as nginx does, in the contract's words, where
 * node would close with an empty 400: a head over MAX_HEAD, an unknown upper-case method (405),
 * an HTTP version above 1 (505), anything else malformed (400).
 */
function refuseUnparsable(error: ParserError, socket: Duplex, revision: string | undefined): void {
  if (!socket.writable) return void socket.destroy();
  const packet = error.rawPacket?.toString('latin1') ?? '';
  if (error.code === 'HPE_HEADER_OVERFLOW') return writeError(socket, HEADER_TOO_LARGE.status, HEADER_TOO_LARGE.message, revision);
  if (error.code === 'HPE_INVALID_METHOD' && /^[A-Z]+ /.test(packet)) return writeError(socket, 405, 'method not allowed', revision);
  if (error.code === 'HPE_INVALID_VERSION' && /^\S+ \S+ HTTP\/([2-9]|\d\d)\.\d+\r?\n/.test(packet)) return writeError(socket, 505, 'http version not supported', revision);
  writeError(socket, 400, 'bad request', revision);
}

/**
 * One error answer written straight to a socket that no ServerResponse owns, then closed;
 * naming the live revision, if there is one.
 */
function writeError(socket: Duplex, status: number, message: string, revision: string | undefined): void {
  const body = `${message}\n`;
  const allow = status === 405 ? 'Allow: GET, HEAD\r\n' : '';
  const named = revision === undefined ? '' : `${REVISION_HEADER}: ${revision}\r\n`;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${TEXT}\r\nContent-Length: ${body.length}\r\nCache-Control: no-cache\r\n${allow}${named}Connection: close\r\n\r\n${body}`);
}

/**
 * The live snapshot: dist/current resolved to its directory, with its revision. `previous` is
 * kept (with its pack) when dist/current still leads to the very same snapshot: the same
 * directory and the same REVISION file, not one rebuilt at the same path.
 */
function openSnapshot(distPath: string, notice: (line: string) => void, previous?: Snapshot): Snapshot {
  const current = join(distPath, CURRENT);
  let dir: string | undefined;
  try {
    dir = realpathSync(current);
  } catch { /* no build */ }
  const opened = dir === undefined ? undefined : openRevision(join(dir, REVISION_FILE));
  if (!dir || !opened) {
    throw new SourceError(`no build in ${distPath}`, { hint: 'run `bootcfg build` first, or pass --data-path so serve builds before it listens' });
  }
  if (previous && previous.dir === dir && previous.alive() && sameFile(previous, opened.fd)) {
    closeSync(opened.fd);
    return previous;
  }
  let shapes: readonly ShapeKeys[];
  try {
    shapes = readShapes(dir);
  } catch (error) {
    closeSync(opened.fd);
    throw error;
  }
  // The snapshot it replaces, if still served, lends its pack's answers of shared store dirs.
  const lender = previous?.alive() ? previous.pack : undefined;
  return snapshotOf(dir, opened.revision, shapes, opened.fd, notice, lender);
}

/** REVISION opened and read (a few bytes); undefined when it is not a small regular file. */
function openRevision(path: string): { fd: number; revision: string } | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const stats = fstatSync(fd);
    const text = Buffer.alloc(256);
    const length = stats.isFile() ? readSync(fd, text, 0, text.length, 0) : 0;
    const revision = text.toString('utf8', 0, length).trim();
    if (revision !== '' && length < text.length) return { fd, revision };
  } catch { /* unreadable: no build */ }
  closeSync(fd);
  return undefined;
}

const identities = new WeakMap<Snapshot, string>();
const identity = (fd: number) => { const s = fstatSync(fd); return `${s.dev}:${s.ino}`; };
function sameFile(snapshot: Snapshot, fd: number): boolean {
  return identities.get(snapshot) === identity(fd);
}

/** Answers a fill reads past which what it dropped is worth a full collection (collect.ts). */
const MANY_READ = 10_000;

/**
 * A snapshot served through an answer pack. Its REVISION file stays open: once the snapshot is
 * removed (rm -rf dist, or rebuilt at the same path) that file has no links left, so one fstat
 * tells. It is asked at most once per event-loop turn: every request in a turn arrived after
 * the turn began, so an answer never outlives a removal that finished before it was asked for.
 */
function snapshotOf(dir: string, revision: string, shapes: readonly ShapeKeys[], revisionFd: number, notice: (line: string) => void, previous?: AnswerPack): Snapshot {
  const started = performance.now();
  let closed = false;
  let known: boolean | undefined;
  const snapshot: Snapshot = {
    revision,
    dir,
    shapes,
    pack: new AnswerPack(dir, previous),
    plainRevision: /^[\x21-\x7e]+$/.test(revision),
    alive: () => {
      if (closed) return false;
      if (known === undefined) {
        try {
          known = fstatSync(revisionFd).nlink > 0;
        } catch {
          known = false;
        }
        setImmediate(() => { known = undefined; });
      }
      return known;
    },
    close: () => {
      if (closed) return;
      closed = true;
      closeSync(revisionFd);
      snapshot.pack.close();
    },
  };
  identities.set(snapshot, identity(revisionFd));
  // In the background; until it is done, answers not carried over are read on demand.
  void snapshot.pack.fill().then(() => {
    const { answers, carried, read, complete } = snapshot.pack.stats();
    const ms = Math.round(performance.now() - started);
    if (complete) notice(`packed revision ${revision}: ${answers} answers (${carried} carried over, ${read} read) in ${ms} ms`);
    if (read >= MANY_READ) collectAtRest(); // what reading them left behind
  }, () => {});
  return snapshot;
}

/**
 * The selector shapes of the build live in dist/ now (what `bootcfg nginx` generates a block
 * for), or undefined when there is no build yet.
 */
export async function liveShapes(distPath: string): Promise<readonly ShapeKeys[] | undefined> {
  const dir = await realpath(join(distPath, CURRENT)).catch(() => undefined);
  return dir === undefined ? undefined : readShapes(dir);
}

/** shapes.json is a few hundred bytes; anything much bigger is not one bootcfg wrote. */
const MAX_SHAPES_FILE = 64 * 1024;

/** A snapshot's shapes.json (a small regular file), or the legacy shapes when it has none. */
function readShapes(dir: string): readonly ShapeKeys[] {
  const path = join(dir, SHAPES_FILE);
  const stats = statSync(path, { throwIfNoEntry: false });
  if (!stats) return LEGACY_SHAPES;
  if (!stats.isFile() || stats.size > MAX_SHAPES_FILE) throw new SourceError('shapes.json is not a small regular file', { file: path, hint: 'rebuild with `bootcfg build`' });
  try {
    return parseShapes(readFileSync(path, 'utf8'));
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
