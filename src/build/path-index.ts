// A string → number index in one typed array, for the kept build's hundreds of thousands of
// paths (digests.ts: answer path → slot; data-files.ts: data file → number). The caller keeps
// the strings by number (a PathStore, path-store.ts); this keeps only numbers. V8's Map<string, number>
// of 350k paths is a 14 MB hash table (an ordered table of 2^19 entries, three words each, and
// its buckets); this one is an Int32Array of 2^19 entries, 2 MB, and 1 MB for 200k data files
// where the Map took 7 MB.
//
// Open addressing with linear probing, at most three quarters full: a look-up that finds its
// path tries ~2.5 entries on average at the fullest, a miss ~8.5, each an Int32 read and a
// comparison that another path fails on its length or first bytes. (At most half full, the
// 550k answers of 100k machines as groups took 2^21 entries, 8 MB, a quarter of them used.)
// Deletion is by shifting the entries after it back (no tombstones: a long-running serve
// deletes and adds paths for weeks). The hash is seeded per process, as V8 seeds its own: a config repo cannot choose names that all
// land on one probe chain. The answer pack's index (src/serve/pack-index.ts) hashes by it too.

import { randomBytes } from 'node:crypto';

/** Hash seed, one per process. */
const SEED = randomBytes(4).readUInt32LE(0);
/** Smallest table (entries). */
const MIN_CAPACITY = 1024;

/** A string's hash: FNV-1a from the seed over its UTF-16 code units, then murmur3's finalizer. */
export function hashOf(key: string): number {
  let h = SEED ^ 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return finish(h);
}

/** hashOf of a latin1 string given as its first `length` bytes (one code unit each). */
export function hashOfLatin1(bytes: Uint8Array, length: number): number {
  let h = SEED ^ 0x811c9dc5;
  for (let i = 0; i < length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return finish(h);
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The strings by number that an index looks its keys up in (PathStore). */
export interface Keys {
  /** Whether number `id`'s string is `key`. */
  equals(id: number, key: string): boolean;
  /** hashOf(number `id`'s string). */
  hashAt(id: number): number;
}

export class PathIndex {
  /** Number + 1 by hash position; 0 is empty. */
  private table: Int32Array;
  private count = 0;

  /** `names` holds number n's string for as long as n is in the index (the caller sets it first). */
  constructor(private readonly names: Keys, expected = 0) {
    this.table = new Int32Array(capacityFor(expected));
  }

  get size(): number {
    return this.count;
  }

  get(key: string): number | undefined {
    const at = this.positionOf(key);
    return at === undefined ? undefined : this.table[at]! - 1;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Indexes number `id`'s string (`key`, when the caller has it at hand); it must not be in the index already. */
  add(id: number, key?: string): void {
    if (overFull(this.count + 1, this.table.length)) this.resize(this.table.length * 2);
    this.place(id, key === undefined ? this.names.hashAt(id) : hashOf(key));
    this.count++;
  }

  /** Takes `key` out; its number, or undefined when it was not in. Call before its name is cleared. */
  delete(key: string): number | undefined {
    const at = this.positionOf(key);
    if (at === undefined) return undefined;
    const { table, names } = this;
    const mask = table.length - 1;
    const id = table[at]! - 1;
    // Shift back each entry after the hole that may not stay past it (its home is not between).
    for (let hole = at, next = (at + 1) & mask; ; next = (next + 1) & mask) {
      const entry = table[next]!;
      if (entry === 0) {
        table[hole] = 0;
        break;
      }
      const home = names.hashAt(entry - 1) & mask;
      if (((next - home) & mask) >= ((next - hole) & mask)) {
        table[hole] = entry;
        hole = next;
      }
    }
    this.count--;
    return id;
  }

  /** Where `key` is in the table, if it is in. */
  private positionOf(key: string): number | undefined {
    const { table, names } = this;
    const mask = table.length - 1;
    for (let at = hashOf(key) & mask; ; at = (at + 1) & mask) {
      const entry = table[at]!;
      if (entry === 0) return undefined;
      if (names.equals(entry - 1, key)) return at;
    }
  }

  private place(id: number, hash: number): void {
    const { table } = this;
    const mask = table.length - 1;
    let at = hash & mask;
    while (table[at] !== 0) at = (at + 1) & mask;
    table[at] = id + 1;
  }

  private resize(capacity: number): void {
    const old = this.table;
    this.table = new Int32Array(capacity);
    for (const entry of old) if (entry !== 0) this.place(entry - 1, this.names.hashAt(entry - 1));
  }
}

/** Whether `count` entries fill a table of `capacity` past its bound (three quarters); the answer pack's index keeps the same bound. */
export function overFull(count: number, capacity: number): boolean {
  return count * 4 > capacity * 3;
}

/** The smallest power of two (MIN_CAPACITY at least) that holds `count` entries within the bound. */
function capacityFor(count: number): number {
  let capacity = MIN_CAPACITY;
  while (overFull(count, capacity)) capacity *= 2;
  return capacity;
}
