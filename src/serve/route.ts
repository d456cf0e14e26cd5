// The rewrite shim's brain, pure: a request's method and raw URL → which files may answer it,
// in selection order, or the error to send. Selecting parameters are validated and normalized
// here, at the edge, so no query text ever becomes part of a file path. docs/http.md is the
// contract; the generated nginx block implements the same rules.

import { CHAIN_FILE, REVISION_FILE, TEXT } from '../compile/outputs.js';
import { LEGACY_SHAPES, answerPath, invalidValueMessage, isLabel, keysOf, parseSelectorValue, shapeDir, type ShapeKeys } from '../compile/shapes.js';
import { INVALID_FORMAT, METADATA_JSON, PIXIECORE_PREFIX, QUERY_ROUTES, ANSWER_KINDS, type AnswerKind } from './answers.js';

export interface Candidate {
  /** dist-relative file path. */
  path: string;
  /** Which selector shape it is: "uuid", "mac.os", "default"… (for the access log). */
  shape: string;
}

export type Route =
  | { type: 'file'; candidates: Candidate[]; contentType: string; notFound: string; passOn?: string }
  | { type: 'image'; path: string }
  | { type: 'error'; status: number; message: string };

const BAD_REQUEST: Route = { type: 'error', status: 400, message: 'bad request' };
const NOT_FOUND: Route = { type: 'error', status: 404, message: 'not found' };

/** nginx's request-line buffer: a longer target is a 414 from both servers. */
export const MAX_TARGET = 8192;

/**
 * `shapes` are the live build's, in try order (shapes.json); a snapshot without that file is
 * read as LEGACY_SHAPES. Only uuid, mac and the keys some shape uses are read from the query.
 */
export function route(method: string, target: string, shapes: readonly ShapeKeys[] = LEGACY_SHAPES): Route {
  if (method !== 'GET' && method !== 'HEAD') return { type: 'error', status: 405, message: 'method not allowed' };
  if (target.length > MAX_TARGET) return { type: 'error', status: 414, message: 'request too long' };
  const rawUrl = originForm(target);
  if (rawUrl === undefined || rawUrl.includes('#')) return BAD_REQUEST; // a fragment is never sent by a real client
  const queryAt = rawUrl.indexOf('?');
  const path = normalizePath(queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt));
  const query = queryAt === -1 ? '' : rawUrl.slice(queryAt + 1);
  if (path === undefined) return BAD_REQUEST;
  if (path === '/boot.ipxe' || path === '/boot.ipxe.0') return chain(query, shapes);
  if (path === '/-/revision') {
    return { type: 'file', candidates: [{ path: REVISION_FILE, shape: 'revision' }], contentType: TEXT, notFound: 'not found' };
  }
  if (Object.hasOwn(QUERY_ROUTES, path)) return select(QUERY_ROUTES[path as keyof typeof QUERY_ROUTES], query, shapes);
  if (path.startsWith(PIXIECORE_PREFIX)) return pixiecore(path.slice(PIXIECORE_PREFIX.length), shapes);
  if (path.startsWith('/images/')) return image(path.slice('/images/'.length));
  return NOT_FOUND;
}

/** `http://host/path?q` → `/path?q` (RFC 9112 says servers must accept the absolute form). */
function originForm(target: string): string | undefined {
  if (target.startsWith('/')) return target;
  const absolute = /^https?:\/\/[^/?#]*(.*)$/i.exec(target);
  if (!absolute) return undefined;
  return absolute[1]!.startsWith('/') ? absolute[1] : `/${absolute[1]}`;
}

/**
 * Percent-decodes a path and resolves `.`, `..` and repeated slashes, as nginx does before it
 * matches a location; undefined for a path nginx would refuse (bad escape, NUL, above root).
 */
export function normalizePath(raw: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  if (!decoded.startsWith('/') || decoded.includes('\0')) return undefined;
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

/**
 * The chainload script, with the extra label parameters the request carries (labels some shape
 * uses, valid, in canonical order) to pass on: `/boot.ipxe?os=installed` chains with `&os=installed`.
 */
function chain(query: string, shapes: readonly ShapeKeys[]): Route {
  const values = readKeys(query, requestKeys(shapes).labels);
  if (typeof values === 'string') return { type: 'error', status: 400, message: values };
  const passOn = Object.entries(values).map(([key, value]) => `&${key}=${value}`).join('');
  return { type: 'file', candidates: [{ path: CHAIN_FILE, shape: 'chain' }], contentType: TEXT, notFound: 'not found', passOn };
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
    if (path !== undefined) candidates.push({ path, shape: shapeDir(shape) });
  }
  return { type: 'file', candidates, contentType: kind.contentType, notFound: kind.notFound };
}

/** A path under the images directory, or 404 for dotfiles and empty names (directories). */
function image(rest: string): Route {
  const segments = rest.split('/');
  // sirv decodes the path it is given once more: a `%` left after our decoding (a double
  // encoding such as %252e) must not become a second, unchecked decoding; `?` and `#` would be
  // read as a query or fragment.
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
