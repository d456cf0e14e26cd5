// Path strings by number, held as bytes: the kept build's answer paths (digests.ts) and data
// file names (data-files.ts), 350k and 200k of them at 100k machines. As V8 strings they were
// ~33 MB of serve's heap at rest (a 48-character path is a 64-byte string, and the array slot
// holding it 8 bytes more). Here a path is the number of its first two directories
// (`ipxe/uuid/`, `boot/mac/`: a handful in a fleet) and its rest: a lowercase UUID in 16 bytes,
// a lowercase MAC in 6, anything else byte for byte (UTF-16 for the rare path with a character
// past U+00FF). A path read back is a new string, equal to the one put in.
//
// A PathStore lays its entries one after another in one buffer. A deleted entry's bytes stay
// until the dead bytes outweigh the live ones; then the live entries are copied into a fresh
// buffer (numbers do not change): a long-running serve adds and deletes paths for weeks.
// packPaths() lays a list the same way, for the write's plan of each store dir (write.ts).

import { hashOf, hashOfLatin1 } from './path-index.js';

/** No entry. */
const NONE = -1;
/** The rest of the path, byte for byte: a 4-byte length, then latin1 bytes. */
const RAW = 0;
/** The whole path in UTF-16 (prefix 0): a 4-byte length in code units, then 2 bytes each. */
const WIDE = 1;
/** A lowercase UUID (`0b00c0f6-0000-4000-8000-00000000380e`): 16 bytes. */
const UUID = 2;
/** A lowercase MAC with dashes (`52-54-00-01-69-e9`, as answer paths have it): 6 bytes. */
const MAC_DASHES = 3;
/** A lowercase MAC with colons (`52:54:00:01:69:e9`, as data files name it): 6 bytes. */
const MAC_COLONS = 4;
/** An entry's head: its prefix's number (2 bytes) and its form (1 byte). */
const HEAD = 3;
/** Prefixes kept at most (one table for the process), and their longest; a path past either is kept whole (prefix 0, ''). */
const MAX_PREFIXES = 4096;
const MAX_PREFIX_LENGTH = 64;
/** Dead bytes tolerated before compacting, however few the live ones. */
const MIN_DEAD = 64 * 1024;

const UUID_FORM = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAC_DASHES_FORM = /^[0-9a-f]{2}(?:-[0-9a-f]{2}){5}$/;
const MAC_COLONS_FORM = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;
const LATIN1 = /^[\0-\xff]*$/;
/** Hex digits by value, as bytes. */
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** Where a path is decoded (latin1 forms), grown as needed; shared, since nothing here awaits. */
let scratch = Buffer.alloc(256);
const prefixes: string[] = [''];
const prefixIds = new Map<string, number>([['', 0]]);
/** The last prefix looked up: paths come in runs of one prefix. */
let lastPrefix = 0;

export class PathStore {
  private bytes = Buffer.alloc(1024);
  /** Bytes laid so far (live and dead). */
  private end = 0;
  /** Bytes of the entries in use. */
  private live = 0;
  /** Number → where its entry starts; NONE for none. */
  private starts = new Int32Array(0);

  /** Whether number `id` holds a path. */
  has(id: number): boolean {
    return id < this.starts.length && this.starts[id] !== NONE;
  }

  /** Makes `path` number `id`'s (replacing any it had). */
  set(id: number, path: string): void {
    this.delete(id);
    const entry = encoding(path);
    const length = entryLength(entry);
    if (this.end + length > this.bytes.length) this.makeRoom(length);
    if (id >= this.starts.length) {
      const bigger = new Int32Array(Math.max(2 * this.starts.length, id + 1, 1024)).fill(NONE);
      bigger.set(this.starts);
      this.starts = bigger;
    }
    this.starts[id] = this.end;
    this.end = writeEntry(this.bytes, this.end, entry);
    this.live += length;
  }

  /** Forgets number `id`'s path, if it has one. */
  delete(id: number): void {
    if (!this.has(id)) return;
    this.live -= lengthAt(this.bytes, this.starts[id]!);
    this.starts[id] = NONE;
  }

  /** Number `id`'s path. */
  at(id: number): string | undefined {
    return this.has(id) ? readEntry(this.bytes, this.starts[id]!) : undefined;
  }

  /** Whether number `id`'s path is `key` (made into no string). */
  equals(id: number, key: string): boolean {
    return this.has(id) && matches(this.bytes, this.starts[id]!, key);
  }

  /** hashOf(number `id`'s path). */
  hashAt(id: number): number {
    const start = this.starts[id]!;
    return this.bytes[start + 2] === WIDE ? hashOf(readEntry(this.bytes, start)) : hashOfLatin1(scratch, decode(this.bytes, start));
  }

  /** Lets go of the room kept for more paths (after a store is filled at once: a full build's). */
  trim(): void {
    let last = this.starts.length - 1;
    while (last >= 0 && this.starts[last] === NONE) last--;
    this.starts = this.starts.slice(0, last + 1);
    this.relay(this.live + Math.max(this.live >> 4, 1024));
  }

  /** Bytes held, for the tests. */
  get footprint(): { live: number; laid: number } {
    return { live: this.live, laid: this.end };
  }

  /** Room for `length` more bytes: the live entries compacted into a buffer twice their size or more. */
  private makeRoom(length: number): void {
    const dead = this.end - this.live;
    const size = dead > Math.max(this.live, MIN_DEAD) ? this.bytes.length : 2 * this.bytes.length;
    this.relay(Math.max(size, 2 * (this.live + length)));
  }

  /** The live entries, one after another, into a new buffer of `size` bytes. */
  private relay(size: number): void {
    const bytes = Buffer.alloc(size);
    let end = 0;
    for (let id = 0; id < this.starts.length; id++) {
      const start = this.starts[id]!;
      if (start === NONE) continue;
      const entry = lengthAt(this.bytes, start);
      this.bytes.copy(bytes, end, start, start + entry);
      this.starts[id] = end;
      end += entry;
    }
    this.bytes = bytes;
    this.end = end;
  }
}

/** A list of paths as bytes, each as a PathStore holds it: a store dir's ~200 paths in ~2-4 kB. */
export function packPaths(paths: readonly string[]): Buffer {
  const entries = paths.map(encoding);
  const bytes = Buffer.allocUnsafeSlow(entries.reduce((sum, entry) => sum + entryLength(entry), 0));
  let at = 0;
  for (const entry of entries) at = writeEntry(bytes, at, entry);
  return bytes;
}

/** The paths packPaths() laid, in their order. */
export function unpackPaths(bytes: Buffer): string[] {
  const paths: string[] = [];
  for (let at = 0; at < bytes.length; at += lengthAt(bytes, at)) paths.push(readEntry(bytes, at));
  return paths;
}

interface Entry {
  prefix: number;
  form: number;
  rest: string;
}

/** How `path` is laid: its prefix's number, its form, the rest of it. */
function encoding(path: string): Entry {
  if (!LATIN1.test(path)) return { prefix: 0, form: WIDE, rest: path };
  const first = path.indexOf('/');
  const second = first < 0 ? -1 : path.indexOf('/', first + 1);
  const cut = (second < 0 ? first : second) + 1;
  const last = prefixes[lastPrefix]!;
  let prefix = last.length === cut && path.startsWith(last) ? lastPrefix : cut > MAX_PREFIX_LENGTH ? 0 : prefixIds.get(path.slice(0, cut));
  if (prefix === undefined && prefixes.length < MAX_PREFIXES) {
    prefix = prefixes.push(path.slice(0, cut)) - 1;
    prefixIds.set(prefixes[prefix]!, prefix);
  }
  lastPrefix = prefix ?? 0;
  const rest = prefix ? path.slice(cut) : path;
  const form = UUID_FORM.test(rest) ? UUID : MAC_DASHES_FORM.test(rest) ? MAC_DASHES : MAC_COLONS_FORM.test(rest) ? MAC_COLONS : RAW;
  return { prefix: prefix ?? 0, form, rest };
}

/** The bytes an entry takes. */
function entryLength({ form, rest }: Entry): number {
  return sizeOf(form, rest.length);
}

/** The bytes an entry of `form` takes, `count` the code units of a RAW or WIDE one's rest. */
function sizeOf(form: number, count: number): number {
  return HEAD + (form === RAW ? 4 + count : form === WIDE ? 4 + 2 * count : form === UUID ? 16 : 6);
}

/** Lays an entry at `at`; where it ends. */
function writeEntry(bytes: Buffer, at: number, { prefix, form, rest }: Entry): number {
  bytes[at] = prefix & 255;
  bytes[at + 1] = prefix >> 8;
  bytes[at + 2] = form;
  at += HEAD;
  if (form === RAW || form === WIDE) {
    bytes.writeUInt32LE(rest.length, at);
    return at + 4 + bytes.write(rest, at + 4, form === RAW ? 'latin1' : 'utf16le');
  }
  // Two hex digits a byte, a separator after each (a MAC's) or after the 4th, 6th, 8th and 10th (a UUID's).
  for (let i = 0, k = 0, end = form === UUID ? 16 : 6; i < end; i++) {
    bytes[at++] = (hexValue(rest.charCodeAt(k)) << 4) | hexValue(rest.charCodeAt(k + 1));
    k += form !== UUID || i === 3 || i === 5 || i === 7 || i === 9 ? 3 : 2;
  }
  return at;
}

/** A lowercase hex digit's value (the forms were checked before). */
function hexValue(code: number): number {
  return code <= 0x39 ? code - 0x30 : code - 0x57;
}

/** Whether the entry at `start` holds `key` (compared where it lies, no string made). */
function matches(bytes: Buffer, start: number, key: string): boolean {
  const form = bytes[start + 2]!;
  if (form === WIDE) return readEntry(bytes, start) === key;
  const prefix = prefixes[bytes[start]! | (bytes[start + 1]! << 8)]!;
  if (key.length !== pathLength(bytes, start) || !key.startsWith(prefix)) return false;
  let at = start + HEAD;
  let k = prefix.length;
  if (form === RAW) {
    for (let i = at + 4, end = i + key.length - k; i < end; i++) if (bytes[i] !== key.charCodeAt(k++)) return false;
    return true;
  }
  const separator = form === MAC_COLONS ? 0x3a : 0x2d;
  for (let i = 0, end = form === UUID ? 16 : 6; i < end; i++) {
    if ((form === UUID ? i === 4 || i === 6 || i === 8 || i === 10 : i > 0) && key.charCodeAt(k++) !== separator) return false;
    const byte = bytes[at++]!;
    if (key.charCodeAt(k) !== HEX[byte >> 4] || key.charCodeAt(k + 1) !== HEX[byte & 15]) return false;
    k += 2;
  }
  return true;
}

/** The bytes the entry at `start` takes. */
function lengthAt(bytes: Buffer, start: number): number {
  const form = bytes[start + 2]!;
  return sizeOf(form, form === RAW || form === WIDE ? bytes.readUInt32LE(start + HEAD) : 0);
}

/** The path the entry at `start` holds, as a new string. */
function readEntry(bytes: Buffer, start: number): string {
  if (bytes[start + 2] === WIDE) return bytes.toString('utf16le', start + HEAD + 4, start + HEAD + 4 + 2 * bytes.readUInt32LE(start + HEAD));
  return scratch.toString('latin1', 0, decode(bytes, start));
}

/** The length of the path the entry at `start` holds (code units). */
function pathLength(bytes: Buffer, start: number): number {
  const form = bytes[start + 2]!;
  const prefix = prefixes[bytes[start]! | (bytes[start + 1]! << 8)]!.length;
  if (form === RAW || form === WIDE) return prefix + bytes.readUInt32LE(start + HEAD);
  return prefix + (form === UUID ? 36 : 17);
}

/** Decodes the latin1 entry at `start` into `scratch`; its length. */
function decode(bytes: Buffer, start: number): number {
  const prefix = prefixes[bytes[start]! | (bytes[start + 1]! << 8)]!;
  const form = bytes[start + 2]!;
  const at = start + HEAD;
  const length = pathLength(bytes, start);
  if (length > scratch.length) scratch = Buffer.alloc(Math.max(2 * scratch.length, length));
  let out = scratch.write(prefix, 0, 'latin1');
  if (form === RAW) {
    for (let i = at + 4, end = i + bytes.readUInt32LE(at); i < end; i++) scratch[out++] = bytes[i]!;
  } else if (form === UUID) {
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) scratch[out++] = 0x2d;
      out = hexByte(bytes[at + i]!, out);
    }
  } else {
    const separator = form === MAC_DASHES ? 0x2d : 0x3a;
    for (let i = 0; i < 6; i++) {
      if (i > 0) scratch[out++] = separator;
      out = hexByte(bytes[at + i]!, out);
    }
  }
  return length;
}

/** A byte as two lowercase hex digits into `scratch` at `out`; where it ends. */
function hexByte(byte: number, out: number): number {
  scratch[out] = HEX[byte >> 4]!;
  scratch[out + 1] = HEX[byte & 15]!;
  return out + 2;
}
