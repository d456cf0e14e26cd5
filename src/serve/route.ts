// The rewrite shim's brain, pure: a request's method and raw URL → which files may answer it,
// in selection order, or the error to send. Selecting parameters are validated and normalized
// here, at the edge, so no query text ever becomes part of a file path. docs/http.md is the
// contract; the generated nginx block implements the same rules.

import { CHAIN_FILE, REVISION_FILE, TEXT } from '../compile/outputs.js';
import { LEGACY_SHAPES, answerPath, distFile, invalidValueMessage, isLabel, keysOf, parseSelectorValue, shapeDir, type ShapeKeys } from '../compile/shapes.js';
import { INVALID_FORMAT, METADATA_JSON, PIXIECORE_PREFIX, QUERY_ROUTES, ANSWER_KINDS, type AnswerKind } from './answers.js';

export interface Candidate {
  /** dist-relative file path (`ipxe/uuid/<xx>/<uuid>`: distFile). */
  path: string;
  /** The answer path it holds, as the manifest and access log name it (`ipxe/uuid/<uuid>`). */
  answer: string;
  /** Which selector shape it is: "uuid", "mac.os", "default"… (for the access log). */
  shape: string;
}

export type Route =
  | { type: 'file'; candidates: Candidate[]; contentType: string; notFound: string; passOn?: string }
  | { type: 'image'; path: string }
  | { type: 'error'; status: number; message: string };

type RouteError = Extract<Route, { type: 'error' }>;

const BAD_REQUEST: RouteError = { type: 'error', status: 400, message: 'bad request' };
const NOT_FOUND: Route = { type: 'error', status: 404, message: 'not found' };

/** nginx's request-line buffer: a longer target is a 414 from both servers. */
export const MAX_TARGET = 8192;

/** nginx's client_max_body_size: a request declaring a longer body is a 413. */
export const MAX_BODY = 1024 * 1024;

/**
 * `shapes` are the live build's, in try order (shapes.json); a snapshot without that file is
 * read as LEGACY_SHAPES. Only uuid, mac and the keys some shape uses are read from the query.
 * `bodyLength` is the request's Content-Length.
 */
export function route(method: string, target: string, shapes: readonly ShapeKeys[] = LEGACY_SHAPES, bodyLength = 0): Route {
  // nginx's order: the request line is parsed (414, 400) before any method check (405).
  if (target.length > MAX_TARGET) return { type: 'error', status: 414, message: 'request too long' };
  const rawUrl = originForm(target);
  if (rawUrl === undefined || rawUrl.includes('#')) return BAD_REQUEST; // a fragment is never sent by a real client
  if (method !== 'GET' && method !== 'HEAD') return { type: 'error', status: 405, message: 'method not allowed' };
  const queryAt = rawUrl.indexOf('?');
  const path = normalizePath(queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt));
  const query = queryAt === -1 ? '' : rawUrl.slice(queryAt + 1);
  if (path === undefined) return BAD_REQUEST;
  // nginx checks the body's size after its server-level rules (the Pixiecore MAC is one) and
  // before any location's (every other selecting parameter).
  const badPixiecoreMac = path.startsWith(PIXIECORE_PREFIX) && parseSelectorValue('mac', path.slice(PIXIECORE_PREFIX.length)) === undefined;
  if (bodyLength > MAX_BODY && !badPixiecoreMac) return { type: 'error', status: 413, message: 'request body too large' };
  if (path === '/boot.ipxe' || path === '/boot.ipxe.0') return chain(query, shapes);
  if (path === '/-/revision') {
    return { type: 'file', candidates: [{ path: REVISION_FILE, answer: REVISION_FILE, shape: 'revision' }], contentType: TEXT, notFound: 'not found' };
  }
  if (Object.hasOwn(QUERY_ROUTES, path)) return select(QUERY_ROUTES[path as keyof typeof QUERY_ROUTES], query, shapes);
  if (path.startsWith(PIXIECORE_PREFIX)) return pixiecore(path.slice(PIXIECORE_PREFIX.length), shapes);
  if (path.startsWith('/images/')) return image(path.slice('/images/'.length));
  return NOT_FOUND;
}

/**
 * `http://host[:port]/path?q` → `/path?q` (RFC 9112 says servers must accept the absolute
 * form), with nginx's grammar for the host: letters, digits, `.` and `-`, or an IP literal in
 * brackets, never userinfo. Only http and https, in any case: node's parser refuses most other
 * schemes, and the generated block refuses them all to match. `*` and anything else: undefined (400).
 */
function originForm(target: string): string | undefined {
  if (target.startsWith('/')) return target;
  const absolute = /^https?:\/\/(\[[0-9a-z:._~!$&'()*+,;=-]*\]|[a-z0-9.-]*)(?::[0-9]*)?([/?].*)?$/is.exec(target);
  if (!absolute || !validHost(absolute[1]!)) return undefined;
  const rest = absolute[2] ?? '';
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/**
 * nginx's check of a host name (from the Host header or an absolute-form target): not empty
 * once a port and one trailing dot are dropped, no "..", no "/", NUL, space or control character.
 */
export function validHost(host: string): boolean {
  let dot = -2;
  let length = host.length;
  let state: 'name' | 'literal' | 'port' = 'name';
  for (let i = 0; i < host.length; i++) {
    const ch = host[i]!;
    const code = host.charCodeAt(i);
    if (ch === '.') {
      if (dot === i - 1) return false;
      dot = i;
    } else if (ch === ':') {
      if (state === 'name') [length, state] = [i, 'port'];
    } else if (ch === '[') {
      if (i === 0) state = 'literal';
    } else if (ch === ']') {
      if (state === 'literal') [length, state] = [i + 1, 'port'];
    } else if (ch === '/' || code <= 0x20 || code === 0x7f) return false;
  }
  if (dot === length - 1) length--;
  return length > 0;
}

/**
 * Percent-decodes a path byte by byte and resolves `.`, `..` and repeated slashes, as nginx
 * does before it matches a location; undefined for a path nginx would refuse (bad escape, NUL,
 * above root). The result is a "binary" string, one character per byte (latin1): `%c3%a9` is
 * two characters, and `%c0%ae` is two bytes, never a dot.
 */
export function normalizePath(raw: string): string | undefined {
  const decoded = percentDecode(raw);
  if (decoded === undefined || !decoded.startsWith('/') || decoded.includes('\0')) return undefined;
  const out: string[] = [];
  const segments = decoded.split('/').slice(1);
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    if (segment === '..') {
      if (out.length === 0) return undefined;
      out.pop();
      if (last) out.push('');
    } else if (segment === '.' || (segment === '' && !last)) {
      if (last) out.push('');
    } else out.push(segment);
  }
  return `/${out.join('/')}`;
}

/** `%XX` → the byte XX (as one latin1 character); undefined for a `%` without two hex digits. */
function percentDecode(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  if (/%(?![0-9a-f]{2})/i.test(raw)) return undefined;
  return raw.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * The chainload script, with the extra label parameters the request carries (labels some shape
 * uses, valid, in canonical order) to pass on: `/boot.ipxe?os=installed` chains with `&os=installed`.
 */
function chain(query: string, shapes: readonly ShapeKeys[]): Route {
  const values = readKeys(query, requestKeys(shapes).labels);
  if (typeof values === 'string') return { type: 'error', status: 400, message: values };
  const passOn = Object.entries(values).map(([key, value]) => `&${key}=${value}`).join('');
  return { type: 'file', candidates: [{ path: CHAIN_FILE, answer: CHAIN_FILE, shape: 'chain' }], contentType: TEXT, notFound: 'not found', passOn };
}

function select(kind: AnswerKind, query: string, shapes: readonly ShapeKeys[]): Route {
  const values = readKeys(query, requestKeys(shapes).all);
  if (typeof values === 'string') return { type: 'error', status: 400, message: values };
  if (kind.dir === 'metadata') {
    const format = queryArg(query, 'format');
    if (format !== undefined && format.toLowerCase() !== 'json') return { type: 'error', status: 400, message: INVALID_FORMAT };
    if (format !== undefined) kind = METADATA_JSON;
  }
  return fileRoute(kind, shapes, values);
}

// The keys a build reads, worked out once per snapshot's shapes rather than per request.
const KEYS = new WeakMap<readonly ShapeKeys[], { all: string[]; labels: string[] }>();

function requestKeys(shapes: readonly ShapeKeys[]): { all: string[]; labels: string[] } {
  let keys = KEYS.get(shapes);
  if (!keys) {
    const all = keysOf(shapes);
    KEYS.set(shapes, (keys = { all, labels: all.filter(isLabel) }));
  }
  return keys;
}

/**
 * The canonical value of each of `keys` the query carries, in the order given (the first bad
 * one wins: its message is returned). Absent and empty parameters are left out.
 */
function readKeys(query: string, keys: readonly string[]): Record<string, string> | string {
  const values: Record<string, string> = {};
  for (const key of keys) {
    const raw = queryArg(query, key);
    if (raw === undefined) continue;
    const value = parseSelectorValue(key, (key === 'uuid' || key === 'mac' ? unescapeColons(raw) : raw) ?? '');
    if (value === undefined) return invalidValueMessage(key);
    values[key] = value;
  }
  return values;
}

function pixiecore(segment: string, shapes: readonly ShapeKeys[]): Route {
  const mac = parseSelectorValue('mac', segment);
  return mac ? fileRoute(ANSWER_KINDS.pixiecore, shapes, { mac }) : { type: 'error', status: 400, message: invalidValueMessage('mac') };
}

/** Every shape of the build this kind accepts, in try order, whose keys the request all has. */
function fileRoute(kind: AnswerKind, shapes: readonly ShapeKeys[], values: Readonly<Record<string, string>>): Route {
  const candidates: Candidate[] = [];
  for (const shape of shapes) {
    if (!kind.accepts(shape)) continue;
    const path = answerPath(kind.dir, shape, values);
    if (path !== undefined) candidates.push({ path: distFile(path), answer: path, shape: shapeDir(shape) });
  }
  return { type: 'file', candidates, contentType: kind.contentType, notFound: kind.notFound };
}

/** A path under the images directory, or 404 for dotfiles and empty names (directories). */
function image(rest: string): Route {
  const segments = rest.split('/');
  // A `%` left after the one decoding (a double encoding such as %252e) stays refused, as it
  // was when sirv decoded again; so do `?` and `#`, which no image name needs.
  if (segments.some((s) => s === '' || s.startsWith('.') || /[%?#]/.test(s))) return NOT_FOUND;
  return { type: 'image', path: `/${rest}` };
}

/**
 * The raw value of the first `name=` parameter, matched in any case, as nginx's `$arg_name`;
 * undefined when absent or empty (iPXE sends `uuid=` on machines without one).
 */
export function queryArg(query: string, name: string): string | undefined {
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq === -1 || pair.slice(0, eq).toLowerCase() !== name) continue;
    const value = pair.slice(eq + 1);
    return value === '' ? undefined : value;
  }
  return undefined;
}

/** `%3A` → `:` (iPXE encodes the colons of a MAC); undefined if any other escape or `+` remains. */
function unescapeColons(raw: string): string | undefined {
  const value = raw.replace(/%3a/gi, ':');
  return /[%+]/.test(value) ? undefined : value;
}

// ---------------------------------------------------------------- the request head

/** What nginx checks of a request's head before any location runs. */
export interface Head {
  httpVersionMajor: number;
  httpVersionMinor: number;
  /** Alternating names and values, as received (node's `rawHeaders`). */
  rawHeaders: readonly string[];
}

/** nginx's large_client_header_buffers size: a longer header line is refused. */
export const MAX_HEADER_LINE = 8192;
/** ...and its four buffers bound the whole head (node's maxHeaderSize). */
export const MAX_HEAD = 4 * MAX_HEADER_LINE;

/** Headers nginx refuses to see twice (its "unique" header handlers). */
const UNIQUE_HEADERS = new Set(['host', 'content-length', 'content-range', 'transfer-encoding', 'expect', 'authorization', 'if-modified-since', 'if-unmodified-since', 'if-match', 'if-none-match', 'if-range']);

/**
 * The answer nginx gives a request before routing it, in its order: a version it does not
 * speak (505; 1.x other than 1.0/1.1 is 400), an over-long header line, a repeated header it
 * keeps one of, a missing or invalid Host, a Transfer-Encoding other than chunked (501, and
 * any in HTTP/1.0: 400); undefined when routing goes ahead.
 */
export function checkHead(head: Head): RouteError | undefined {
  if (head.httpVersionMajor > 1) return { type: 'error', status: 505, message: 'http version not supported' };
  if (head.httpVersionMajor === 1 && head.httpVersionMinor > 1) return BAD_REQUEST;
  if (head.httpVersionMajor === 0 && head.rawHeaders.length > 0) return BAD_REQUEST; // "HTTP/0.9" spelled out
  const seen = new Map<string, string>();
  for (let i = 0; i + 1 < head.rawHeaders.length; i += 2) {
    const name = head.rawHeaders[i]!.toLowerCase();
    const value = head.rawHeaders[i + 1]!;
    if (name.length + value.length + 4 > MAX_HEADER_LINE) return HEADER_TOO_LARGE;
    if (seen.has(name) && UNIQUE_HEADERS.has(name)) return BAD_REQUEST;
    if (!seen.has(name)) seen.set(name, value);
  }
  const host = seen.get('host');
  if (host === undefined ? head.httpVersionMajor === 1 && head.httpVersionMinor >= 1 : !validHost(host)) return BAD_REQUEST;
  const encoding = seen.get('transfer-encoding');
  if (encoding !== undefined) {
    if (head.httpVersionMajor === 1 && head.httpVersionMinor === 0) return BAD_REQUEST;
    if (encoding.toLowerCase() !== 'chunked') return { type: 'error', status: 501, message: 'not implemented' };
  }
  return undefined;
}

export const HEADER_TOO_LARGE: RouteError = { type: 'error', status: 400, message: 'request header too large' };
