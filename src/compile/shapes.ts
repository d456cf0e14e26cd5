// Selector keys, values and shapes as both the compiler and the servers see them (the issue-9
// contract, /work/prompts/groups-contract.md, and docs/http.md). Pure, and the one place these
// rules live: a data file's selector and a request's query go through the same checks, so no
// value can name a file in one and not the other, and nothing from a query reaches a path
// unchecked. A shape is a sorted set of keys; its directory name, its answer paths and the try
// order of a build's shapes are derived here and nowhere else.

import { createHash } from 'node:crypto';
import { MAC_HINT, UUID_HINT, parseMac, parseUuid } from './ids.js';

/** Keys with a fixed place in the canonical order; labels follow them alphabetically. */
export const FIXED_KEYS = ['uuid', 'mac', 'hostname', 'serial', 'arch'] as const;
/** Query parameters that are never selectors: /boot.ipxe sends ip and domain, /metadata reads format. */
export const NOT_KEYS = ['format', 'ip', 'domain'] as const;

const LABEL = /^[a-z][a-z0-9_]{0,31}$/;
// No leading dot, so a value is never `.` or `..`; no `/`, `%` or anything a path would read.
const VALUE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,62}$/;

// No quotes: the nginx block carries these messages inside quoted strings.
export const VALUE_HINT = 'expected 1 to 63 of A-Z a-z 0-9 . _ -, not starting with a dot';
export const KEY_HINT = 'selector keys are uuid, mac, hostname, serial, arch or a label of a-z, 0-9 and _ (up to 32, starting with a letter); format, ip and domain are not selectors';

/** A shape: the sorted set of a selector's keys, in canonical order. */
export type ShapeKeys = readonly string[];

/** The file every snapshot holds listing its shapes in try order. */
export const SHAPES_FILE = 'shapes.json';
/** Directory of the marker file named for a snapshot's shape set (the nginx block checks it). */
export const SHAPES_MARKER_DIR = 'shapes';
/** What a snapshot without shapes.json (built before profiles and groups) is read as. */
export const LEGACY_SHAPES: readonly ShapeKeys[] = [['uuid'], ['mac'], []];

/** Bounds on shapes.json, which servers read per snapshot. */
export const MAX_SHAPES = 256;
export const MAX_SHAPE_KEYS = 16;

export function isSelectorKey(key: string): boolean {
  return (FIXED_KEYS as readonly string[]).includes(key) || (LABEL.test(key) && !(NOT_KEYS as readonly string[]).includes(key));
}

export function isLabel(key: string): boolean {
  return isSelectorKey(key) && !(FIXED_KEYS as readonly string[]).includes(key);
}

/** A value's canonical form (uuid lowercased, mac lowercase hyphenated), or undefined when invalid. */
export function parseSelectorValue(key: string, text: string): string | undefined {
  if (key === 'uuid') return parseUuid(text);
  if (key === 'mac') return parseMac(text);
  return VALUE.test(text) ? text : undefined;
}

export function valueHint(key: string): string {
  return key === 'uuid' ? UUID_HINT : key === 'mac' ? MAC_HINT : VALUE_HINT;
}

/** The one-line reason a server gives for a bad value: `invalid <key>: <hint>`. */
export function invalidValueMessage(key: string): string {
  return `invalid ${key}: ${valueHint(key)}`;
}

/** Canonical key order: uuid, mac, hostname, serial, arch, then labels alphabetically. */
export function compareKeys(a: string, b: string): number {
  const rank = (key: string) => {
    const i = (FIXED_KEYS as readonly string[]).indexOf(key);
    return i === -1 ? FIXED_KEYS.length : i;
  };
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

export function canonicalShape(keys: Iterable<string>): string[] {
  return [...new Set(keys)].sort(compareKeys);
}

/** Try order: more keys first; among equal counts, key by key in canonical order (uuid before mac). */
export function compareShapes(a: ShapeKeys, b: ShapeKeys): number {
  if (a.length !== b.length) return b.length - a.length;
  for (let i = 0; i < a.length; i++) {
    const order = compareKeys(a[i]!, b[i]!);
    if (order !== 0) return order;
  }
  return 0;
}

/** Shapes in try order, each in canonical key order, each once. */
export function sortShapes(shapes: Iterable<ShapeKeys>): ShapeKeys[] {
  const unique = new Map<string, ShapeKeys>();
  for (const shape of shapes) {
    const canonical = canonicalShape(shape);
    unique.set(shapeDir(canonical), canonical);
  }
  return [...unique.values()].sort(compareShapes);
}

/** `mac.os` for [mac, os] (keys hold no dot); the empty shape is the file `default`. */
export function shapeDir(shape: ShapeKeys): string {
  return shape.length === 0 ? 'default' : shape.join('.');
}

/**
 * `<kind>/<shape-dir>/<value1>/<value2>…` for canonical values in the shape's key order,
 * `<kind>/default` for the empty shape; undefined when a key has no value.
 */
export function answerPath(kindDir: string, shape: ShapeKeys, values: Readonly<Record<string, string | undefined>>): string | undefined {
  if (shape.length === 0) return `${kindDir}/default`;
  const parts = [kindDir, shapeDir(shape)];
  for (const key of shape) {
    const value = values[key];
    if (value === undefined) return undefined;
    parts.push(value);
  }
  return parts.join('/');
}

/** Hex digits of a uuid or mac value that name its answer's shard directory under dist/. */
export const SHARD_DIGITS = 2;

/** The key whose value shards a shape's answers in dist/: its first uuid or mac key, if any. */
export function shardKey(shape: ShapeKeys): string | undefined {
  return shape.find((key) => key === 'uuid' || key === 'mac');
}

/** A canonical uuid or mac value's shard: its last hex digits (`56` for `52-54-00-12-34-56`). */
export function shardOf(value: string): string {
  return value.slice(-SHARD_DIGITS);
}

/**
 * Where an answer path's file lives under a dist snapshot: `ipxe/uuid/<xx>/<uuid>` for
 * `ipxe/uuid/<uuid>`, the shard inserted after the shape directory of every shape with a uuid
 * or mac key, so that one machine's edit rewrites a directory of ~1/256 of the fleet (docs/dist-layout.md).
 * Other paths (defaults, label-only shapes, fixed files) are where the answer path says.
 * `shard` stands in for shardOf where the value is not known here (nginx's variables).
 */
export function distFile(path: string, shard: (key: string, value: string) => string = (_, value) => shardOf(value)): string {
  const first = path.indexOf('/');
  const second = first < 0 ? -1 : path.indexOf('/', first + 1);
  if (second < 0) return path;
  const shape = path.slice(first + 1, second).split('.');
  const key = shardKey(shape);
  if (key === undefined) return path;
  const value = path.slice(second + 1).split('/')[shape.indexOf(key)] ?? '';
  return `${path.slice(0, second)}/${shard(key, value)}${path.slice(second)}`;
}

/**
 * The answer path of a dist file (the inverse of distFile); any other path, an answer path
 * included (an access log from before shards), is returned unchanged.
 */
export function answerOfDistFile(path: string): string {
  const parts = path.split('/');
  if (parts.length < 3) return path;
  const shape = parts[1]!.split('.');
  const key = shardKey(shape);
  if (key === undefined || parts.length !== shape.length + 3) return path;
  const rest = parts.slice(3);
  if (parts[2] !== shardOf(rest[shape.indexOf(key)]!)) return path;
  return [parts[0], parts[1], ...rest].join('/');
}

/**
 * The request parameters a build reads and validates, in canonical order: every key some shape
 * uses, and always uuid and mac (as before groups, so a build's set of seed shapes never
 * changes what a request is refused for).
 */
export function keysOf(shapes: readonly ShapeKeys[]): string[] {
  return canonicalShape(['uuid', 'mac', ...shapes.flat()]);
}

/**
 * The shapes a generated nginx block covers for a build: the build's, plus always the seed's
 * [uuid], [mac] and [] (a candidate whose file does not exist costs one lookup). So a seed
 * build gaining or losing its uuid, mac or default files never makes a block out of date.
 */
export function servedShapes(shapes: Iterable<ShapeKeys>): ShapeKeys[] {
  return sortShapes([...shapes, ...LEGACY_SHAPES]);
}

/** The shapes.json text for a set of shapes (sorted into try order here). */
export function formatShapes(shapes: Iterable<ShapeKeys>): string {
  return `${JSON.stringify({ shapes: sortShapes(shapes) })}\n`;
}

/**
 * The marker path for a build's shape set: `shapes/<first 16 hex of sha256 of the shapes.json
 * text of its servedShapes()>`, so all seed-only builds share one marker.
 */
export function shapesMarker(shapes: Iterable<ShapeKeys>): string {
  return `${SHAPES_MARKER_DIR}/${createHash('sha256').update(formatShapes(servedShapes(shapes))).digest('hex').slice(0, 16)}`;
}

/**
 * The files a snapshot holds for its shape set: shapes.json, and the marker a generated nginx
 * block looks for to know it was generated for this set. The compiler writes both.
 */
export function shapesFiles(shapes: Iterable<ShapeKeys>): Map<string, string> {
  const list = sortShapes(shapes);
  return new Map([[SHAPES_FILE, formatShapes(list)], [shapesMarker(list), formatShapes(servedShapes(list))]]);
}

/**
 * shapes.json text → its shapes in try order; throws an Error saying what is wrong. Every key
 * is checked, so a tampered file cannot make a server build a path from an odd key.
 */
export function parseShapes(text: string): ShapeKeys[] {
  const data = JSON.parse(text) as unknown;
  const list = (data as { shapes?: unknown } | null)?.shapes;
  if (!Array.isArray(list) || list.length > MAX_SHAPES) throw new Error(`"shapes" must be a list of at most ${MAX_SHAPES} shapes`);
  return sortShapes(list.map((shape: unknown) => {
    if (!Array.isArray(shape) || shape.length > MAX_SHAPE_KEYS) throw new Error(`a shape must be a list of at most ${MAX_SHAPE_KEYS} keys`);
    for (const key of shape) if (typeof key !== 'string' || !isSelectorKey(key)) throw new Error(`${JSON.stringify(key)} is not a selector key`);
    const canonical = canonicalShape(shape as string[]);
    if (canonical.length !== shape.length) throw new Error(`shape ${JSON.stringify(shape)} repeats a key`);
    return canonical;
  }));
}
