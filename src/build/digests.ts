// The kept build's answer hashes (src/build/incremental.ts): answer path → sha256, read as a
// Map of hex strings by everything that takes one (the write, the revision sum), but held as 32
// bytes a hash in one buffer. A hex string is ~80 bytes of heap: at 100k machines, 350k of them
// were 28 MB of serve --watch's ~125 MB of live heap; the buffer is 11 MB.

import { forEachYielding } from './pool.js';

/** Bytes of one sha256. */
const DIGEST = 32;
/** Hex digits by value, as bytes. */
const HEX = Buffer.from('0123456789abcdef', 'latin1');

export class Digests implements ReadonlyMap<string, string> {
  /** Slots given up by deleted paths, taken again before the buffer grows. */
  private readonly free: number[] = [];

  private constructor(
    /** Path → its slot in `bytes`, in the order the paths were put in (sorted(): sorted). */
    private readonly slots: Map<string, number>,
    /** Slot → its path (undefined: free), for what keeps answers by slot (data-files.ts). */
    private readonly paths: (string | undefined)[],
    private bytes: Buffer,
    /** Slots handed out so far (used or freed). */
    private used: number,
  ) {}

  /** `paths[i]`'s hash is bytes i × 32 to (i + 1) × 32 of `digests` (kept as given, not copied). */
  static of(paths: readonly string[], digests: Buffer): Digests {
    if (digests.length !== paths.length * DIGEST) throw new Error(`bug: ${paths.length} paths but ${digests.length} bytes of hashes`);
    return new Digests(new Map(paths.map((path, i) => [path, i])), paths.slice(), digests, paths.length);
  }

  /** Digests.of, a turn of the event loop after every `perTurn` paths (550k at 100k machines as groups). */
  static async yielding(paths: readonly string[], digests: Buffer, perTurn: number): Promise<Digests> {
    if (digests.length !== paths.length * DIGEST) throw new Error(`bug: ${paths.length} paths but ${digests.length} bytes of hashes`);
    const slots = new Map<string, number>();
    await forEachYielding(paths.keys(), (i) => slots.set(paths[i]!, i), perTurn);
    return new Digests(slots, paths.slice(), digests, paths.length);
  }

  get size(): number {
    return this.slots.size;
  }

  has(path: string): boolean {
    return this.slots.has(path);
  }

  get(path: string): string | undefined {
    const slot = this.slots.get(path);
    return slot === undefined ? undefined : this.hex(slot);
  }

  /** Sets a path's hash (64 hex digits). */
  set(path: string, hash: string): this {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`bug: ${JSON.stringify(hash)} is not a sha256 in hex`);
    let slot = this.slots.get(path);
    if (slot === undefined) {
      slot = this.free.pop() ?? this.grow();
      this.slots.set(path, slot);
      this.paths[slot] = path;
    }
    this.bytes.write(hash, slot * DIGEST, DIGEST, 'hex');
    return this;
  }

  delete(path: string): boolean {
    const slot = this.slots.get(path);
    if (slot === undefined) return false;
    this.slots.delete(path);
    this.paths[slot] = undefined;
    this.free.push(slot);
    return true;
  }

  /** A path's slot: a number that stays its own until the path is deleted (sorted() keeps it). */
  slotOf(path: string): number | undefined {
    return this.slots.get(path);
  }

  /** The path in a slot, if it is in use. */
  pathAt(slot: number): string | undefined {
    return this.paths[slot];
  }

  /**
   * The same hashes with the paths in code-unit order (the order a full build lists them). It
   * takes this one's buffer over: only the result is used after.
   */
  sorted(): Digests {
    const slots = new Map([...this.slots].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const sorted = new Digests(slots, this.paths, this.bytes, this.used);
    sorted.free.push(...this.free);
    return sorted;
  }

  keys(): MapIterator<string> {
    return this.slots.keys();
  }

  *entries(): MapIterator<[string, string]> {
    for (const [path, slot] of this.slots) yield [path, this.hex(slot)];
  }

  *values(): MapIterator<string> {
    for (const slot of this.slots.values()) yield this.hex(slot);
  }

  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }

  forEach(callback: (hash: string, path: string, map: ReadonlyMap<string, string>) => void, thisArg?: unknown): void {
    for (const [path, hash] of this.entries()) callback.call(thisArg, hash, path, this);
  }

  /**
   * Writes `path`'s hash as 64 lowercase hex digits into `out` at `at` (no string made: a 1% edit
   * at 100k machines writes ~350k of them into store dir pieces); false when it has none.
   */
  hexInto(path: string, out: Buffer, at: number): boolean {
    const slot = this.slots.get(path);
    if (slot === undefined) return false;
    const { bytes } = this;
    for (let i = slot * DIGEST, end = i + DIGEST; i < end; i++) {
      out[at++] = HEX[bytes[i]! >> 4]!;
      out[at++] = HEX[bytes[i]! & 15]!;
    }
    return true;
  }

  private hex(slot: number): string {
    return this.bytes.toString('hex', slot * DIGEST, slot * DIGEST + DIGEST);
  }

  /** A new slot at the end, doubling the buffer when it is full. */
  private grow(): number {
    if ((this.used + 1) * DIGEST > this.bytes.length) {
      const bigger = Buffer.alloc(Math.max(2 * this.bytes.length, 64 * DIGEST));
      this.bytes.copy(bigger, 0, 0, this.used * DIGEST);
      this.bytes = bigger;
    }
    return this.used++;
  }
}
