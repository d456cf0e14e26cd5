// Stage: serve. Answers a request from one regular file the way nginx's static module and its
// not-modified and range filters do, so that `bootcfg serve` and the generated nginx block give
// one answer to conditional and range requests (docs/http.md, "Conditional requests and
// ranges"): nginx's ETag (`"<mtime hex>-<size hex>"`), `If-None-Match` (`*`, lists, weak
// comparison), `If-Match`, `If-(Un)Modified-Since` (exact dates), `If-Range`, and one range per
// request (the block sets `max_ranges 1`: several ranges get the whole file, never multipart).
// filePlan() is the pure decision; sendFound() answers from bytes already found (the answer
// pack's, the hot path), sendFile() from a file on disk (images, large files: streamed).

import { closeSync, constants, createReadStream, fstatSync, openSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readExactly } from '../build/private-file.js';
import { SMALL_ANSWER } from './pack.js';

export interface FileStat {
  size: number;
  /** Modification time in whole seconds, as nginx keeps it. */
  mtime: number;
}

/** The request headers a file answer depends on: the first occurrence of each, by lowercase name. */
export type HeaderOf = (name: string) => string | undefined;

export type FilePlan =
  | { kind: 'bytes'; status: 200 | 206; start: number; end: number; headers: Record<string, string | number> }
  | { kind: 'not modified'; status: 304; headers: Record<string, string> }
  | { kind: 'refused'; status: 412 | 416; message: string; headers: Record<string, string> };

/** nginx's ETag for a file: strong, mtime and size in lowercase hex. */
export function etagOf(stat: FileStat): string {
  return `"${stat.mtime.toString(16)}-${stat.size.toString(16)}"`;
}

/**
 * What to answer for this file: nginx's not-modified filter first, then its range filter
 * (unless `ranges` is false: a rewritten body, whose length nginx no longer knows).
 */
export function filePlan(header: HeaderOf, stat: FileStat, ranges = true): FilePlan {
  const etag = etagOf(stat);
  const validators = { ETag: etag, 'Last-Modified': httpDate(stat.mtime) };
  const unmodifiedSince = header('if-unmodified-since');
  const ifMatch = header('if-match');
  if ((unmodifiedSince !== undefined && !((parseHttpTime(unmodifiedSince) ?? -1) >= stat.mtime)) || (ifMatch !== undefined && !etagListMatches(ifMatch, etag, false))) {
    return { kind: 'refused', status: 412, message: 'precondition failed', headers: {} };
  }
  const modifiedSince = header('if-modified-since');
  const noneMatch = header('if-none-match');
  if (modifiedSince !== undefined || noneMatch !== undefined) {
    const modified = modifiedSince !== undefined && parseHttpTime(modifiedSince) !== stat.mtime;
    const changed = noneMatch !== undefined && !etagListMatches(noneMatch, etag, true);
    if (!modified && !changed) return { kind: 'not modified', status: 304, headers: validators };
  }
  const whole = { kind: 'bytes' as const, status: 200 as const, start: 0, end: stat.size, headers: { ...validators, 'Accept-Ranges': 'bytes', 'Content-Length': stat.size } };
  const range = header('range');
  if (!ranges || range === undefined || range.length < 7 || range.slice(0, 6).toLowerCase() !== 'bytes=' || !ifRangeHolds(header('if-range'), etag, stat)) return whole;
  const chosen = parseRange(range.slice(6), stat.size);
  if (chosen === 'whole') return whole;
  if (chosen === 'unsatisfiable') return { kind: 'refused', status: 416, message: 'range not satisfiable', headers: { 'Content-Range': `bytes */${stat.size}` } };
  const [start, end] = chosen;
  return { kind: 'bytes', status: 206, start, end, headers: { ...validators, 'Content-Range': `bytes ${start}-${end - 1}/${stat.size}`, 'Content-Length': end - start } };
}

/**
 * An HTTP date for a modification time in seconds. The last one is kept: a snapshot's answers
 * mostly share their build's second, and a Date per request was a few per cent of serve's time.
 */
function httpDate(seconds: number): string {
  if (seconds !== lastDate.seconds) lastDate = { seconds, text: new Date(seconds * 1000).toUTCString() };
  return lastDate.text;
}
let lastDate = { seconds: NaN, text: '' };

/** If-Range: an exact (strong) ETag or exactly the Last-Modified date; absent always holds. */
function ifRangeHolds(ifRange: string | undefined, etag: string, stat: FileStat): boolean {
  if (ifRange === undefined) return true;
  if (ifRange.length >= 2 && ifRange.endsWith('"')) return ifRange === etag;
  return parseHttpTime(ifRange) === stat.mtime;
}

/** nginx's ngx_http_test_if_match: `*`, or the ETag among a comma-separated list (W/ ignored when weak). */
function etagListMatches(list: string, etag: string, weak: boolean): boolean {
  if (list === '*') return true;
  return list.split(',').some((item) => {
    const tag = item.trim();
    return (weak && tag.startsWith('W/') ? tag.slice(2) : tag) === etag;
  });
}

/**
 * A `bytes=` range set as nginx parses it with max_ranges 1: spaces allowed around numbers;
 * a malformed set is unsatisfiable; ranges starting past the end are dropped; more than one
 * satisfiable range, or a range from 0 of an empty file, means the whole file. The end is exclusive.
 */
export function parseRange(spec: string, size: number): [number, number] | 'whole' | 'unsatisfiable' {
  const found: [number, number][] = [];
  for (const part of spec.split(',')) {
    const m = /^ *(?:(\d+) *- *(\d*)|-(\d+)) *$/.exec(part);
    if (!m || (m[1] ?? m[3])!.length > 18 || (m[2] ?? '').length > 18) return 'unsatisfiable';
    let start: number;
    let end: number;
    if (m[3] !== undefined) {
      const suffix = Number(m[3]);
      [start, end] = [suffix < size ? size - suffix : 0, size];
    } else {
      start = Number(m[1]);
      end = m[2] === '' ? size : Math.min(Number(m[2]) + 1, size);
    }
    if (start < end) {
      found.push([start, end]);
      if (found.length > 1) return 'whole';
    } else if (start === 0) return 'whole';
  }
  return found[0] ?? 'unsatisfiable';
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const HTTP_DATES = [
  /^[A-Za-z]+, (?<day>\d\d) (?<month>[A-Za-z]{3}) (?<year>\d{4}) (?<h>\d\d):(?<m>\d\d):(?<s>\d\d)/, // RFC 1123
  /^[A-Za-z]+, (?<day>\d\d)-(?<month>[A-Za-z]{3})-(?<year>\d\d) (?<h>\d\d):(?<m>\d\d):(?<s>\d\d)/, // RFC 850
  /^[A-Za-z]+ (?<month>[A-Za-z]{3}) (?<day>[ \d]\d) (?<h>\d\d):(?<m>\d\d):(?<s>\d\d) (?<year>\d{4})/, // asctime
];

/** An HTTP date in seconds since the epoch, in any of HTTP's three formats; undefined if none. */
export function parseHttpTime(text: string): number | undefined {
  for (const format of HTTP_DATES) {
    const g = format.exec(text)?.groups;
    if (!g) continue;
    const month = MONTHS.indexOf(g.month!);
    let year = Number(g.year);
    if (g.year!.length === 2) year += year < 70 ? 2000 : 1900;
    const [day, h, m, s] = [Number(g.day), Number(g.h), Number(g.m), Number(g.s)];
    const monthDays = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    if (month < 0 || day < 1 || day > monthDays || h > 23 || m > 59 || s > 59) return undefined;
    return Date.UTC(year, month, day, h, m, s) / 1000;
  }
  return undefined;
}

// ---------------------------------------------------------------- I/O

export type Sent = 'sent' | 'missing' | { status: 412 | 416; message: string };

/**
 * Answers from the regular file at `path` (Content-Type already set by the caller). 'missing'
 * when there is none (directories, sockets and FIFOs included, as nginx says 404 to them);
 * a 412/416 for the caller to send as its one-line error, with the headers already set.
 * `rewrite` changes the body (the chainload script's pass-on), as nginx's sub_filter does:
 * conditionals still hold (nginx checks them first), but no range, ETag or Last-Modified.
 * Compiled answers come through the answer pack (pack.ts, sendFound); this is for images and
 * anything too large to pack.
 */
export function sendFile(req: IncomingMessage, res: ServerResponse, path: string | Buffer, rewrite?: (body: Buffer) => Buffer): Sent {
  let fd: number;
  try {
    if (!statSync(path, { throwIfNoEntry: false })?.isFile()) return 'missing';
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK); // a FIFO put in place after the stat must not hang us
  } catch {
    return 'missing'; // too long a name, no permission: a 404, as from nginx
  }
  let handedOff = false;
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) return 'missing';
    const stat = { size: opened.size, mtime: Math.floor(opened.mtimeMs / 1000) };
    return sendFound(req, res, stat, (start, length) => readExactly(fd, start, length), rewrite, (start, end) => {
      handedOff = true;
      stream(res, fd, start, end);
    });
  } catch {
    res.destroy(); // the file went away or became unreadable mid-answer: end this one, not the server
    return 'sent';
  } finally {
    if (!handedOff) closeSync(fd);
  }
}

/**
 * Answers from a file already found, of this size and mtime: `read` gives its bytes, and
 * `stream` (for large files) sends bytes [start, end) itself. What conditionals, ranges and
 * HEAD decide is filePlan's, so the pack and the snapshot answer alike.
 */
export function sendFound(req: IncomingMessage, res: ServerResponse, stat: FileStat, read: (start: number, length: number) => Buffer, rewrite?: (body: Buffer) => Buffer, stream?: (start: number, end: number) => void): Sent {
  const plan = filePlan(firstHeader(req), stat, rewrite === undefined);
  if (rewrite && plan.kind === 'bytes') {
    const body = rewrite(read(0, stat.size));
    res.writeHead(200, { 'Content-Length': body.length }).end(req.method === 'HEAD' ? undefined : body);
    return 'sent';
  }
  for (const [name, value] of Object.entries(plan.headers)) res.setHeader(name, value);
  if (plan.kind === 'refused') return plan;
  if (plan.kind === 'not modified') {
    res.removeHeader('Content-Type');
    res.writeHead(304).end();
    return 'sent';
  }
  res.writeHead(plan.status);
  if (req.method === 'HEAD' || plan.end === plan.start) res.end();
  else if (plan.end - plan.start <= SMALL_ANSWER || !stream) res.end(read(plan.start, plan.end - plan.start));
  else stream(plan.start, plan.end);
  return 'sent';
}

/** Streams bytes [start, end) of the open file; it is closed when the stream ends, fails or the client leaves. */
function stream(res: ServerResponse, fd: number, start: number, end: number): void {
  const source = createReadStream('', { fd, start, end: end - 1, autoClose: true });
  source.on('error', () => res.destroy());
  res.on('close', () => source.destroy());
  source.pipe(res);
}

/**
 * The first occurrence of a request header, as nginx keeps it (node joins some repeats with
 * ", "). Most requests (a boot storm's all) carry none of the five filePlan asks for: one pass
 * over the names tells, instead of five.
 */
function firstHeader(req: IncomingMessage): HeaderOf {
  const raw = req.rawHeaders;
  let asked = false;
  for (let i = 0; i < raw.length && !asked; i += 2) {
    const first = raw[i]!.charCodeAt(0) | 0x20; // if-… and range, in any case
    asked = first === 0x69 || first === 0x72;
  }
  if (!asked) return () => undefined;
  return (name) => {
    for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) return raw[i + 1];
    return undefined;
  };
}
