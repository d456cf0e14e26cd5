// The kept build's answer hashes (src/build/incremental.ts): answer path → sha256, read as a
// Map of hex strings by everything that takes one (the write, the revision sum), but held as 32
// bytes a hash in one buffer. A hex string is ~80 bytes of heap: at 100k machines, 350k of them
// were 28 MB of serve --watch's ~125 MB of live heap; the buffer is 11 MB. The paths are held
// as bytes by slot (a PathStore: ~5 MB at 350k, where the strings were ~25 MB), found by a
// PathIndex (4 MB, where a Map<string, number> was 14 MB) and listed in their order by slot in
// one Int32Array.

import { PathIndex } from './path-index.js';
import { PathStore } from './path-store.js';

/** No slot. */
const NONE = -1;
/** Bytes of one sha256. */
const DIGEST = 32;
/** Hex digits by value, as bytes. */
const HEX = Buffer.from('0123456789abcdef', 'latin1');

export class Digests implements ReadonlyMap<string, string> {
  /** Slots given up by deleted paths, taken again before the buffer grows. */
  private readonly free: number[] = [];
  /** Path → its slot. */
  private readonly slots: PathIndex;
  /** Slots in the order the paths were put in (sorted(): sorted), NONE where one was deleted. */
  private order: Int32Array;
  private ordered: number;
  /** Slot → its place in `order`. */
  private places: Int32Array;

  private constructor(
    /** Slot → its path (none: free), for what keeps answers by slot (data-files.ts). */
    private readonly paths: PathStore,
    private bytes: Buffer,
    /** Slots handed out so far (used or freed). */
    private used: number,
    order: Int32Array,
    /** Over `paths`: indexed already, or by Digests.index before use. */
    slots: PathIndex,
    /** `order`'s first places, in code-unit order of their paths (sorted() merges the rest in). */
    private readonly inSortedOrder: number,
  ) {
    this.slots = slots;
    this.order = order;
    this.ordered = order.length;
    this.places = new Int32Array(Math.max(used, 1)).fill(NONE);
    for (let place = 0; place < order.length; place++) this.places[order[place]!] = place;
  }

  /** `paths[i]`'s hash is bytes i × 32 to (i + 1) × 32 of `digests` (kept as given, not copied); each path once. */
  static of(paths: readonly string[], digests: Buffer): Digests {
    const kept = Digests.unindexed(paths, digests);
    kept.index(paths, 0, paths.length);
    kept.paths.trim();
    return kept;
  }

  /** Digests.of, a turn of the event loop after every `perTurn` paths (550k at 100k machines as groups). */
  static async yielding(paths: readonly string[], digests: Buffer, perTurn: number): Promise<Digests> {
    const kept = Digests.unindexed(paths, digests);
    for (let from = 0; from < paths.length; from += perTurn) {
      if (from > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      kept.index(paths, from, Math.min(paths.length, from + perTurn));
    }
    kept.paths.trim();
    return kept;
  }

  /** Digests.of before its paths are indexed (Digests.index). */
  private static unindexed(paths: readonly string[], digests: Buffer): Digests {
    if (digests.length !== paths.length * DIGEST) throw new Error(`bug: ${paths.length} paths but ${digests.length} bytes of hashes`);
    const store = new PathStore();
    let inOrder = true;
    for (let i = 1; i < paths.length && inOrder; i++) inOrder = paths[i - 1]! < paths[i]!;
    return new Digests(store, digests, paths.length, identity(paths.length), new PathIndex(store, paths.length), inOrder ? paths.length : 0);
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
      this.paths.set(slot, path);
      this.slots.add(slot, path);
      this.append(slot);
    }
    this.bytes.write(hash, slot * DIGEST, DIGEST, 'hex');
    return this;
  }

  delete(path: string): boolean {
    const slot = this.slots.delete(path);
    if (slot === undefined) return false;
    this.paths.delete(slot);
    this.order[this.places[slot]!] = NONE;
    this.places[slot] = NONE;
    this.free.push(slot);
    return true;
  }

  /** A path's slot: a number that stays its own until the path is deleted (sorted() keeps it). */
  slotOf(path: string): number | undefined {
    return this.slots.get(path);
  }

  /** The path in a slot, if it is in use. */
  pathAt(slot: number): string | undefined {
    return this.paths.at(slot);
  }

  /**
   * The same hashes with the paths in code-unit order (the order a full build lists them). It
   * takes this one's buffer and index over: only the result is used after. The paths set since
   * the last sort are merged into the sorted rest, each by a binary search: an edit adding a
   * machine's answers reads ~20 paths back each, not the fleet's.
   */
  sorted(): Digests {
    const { paths } = this;
    const head: number[] = [];
    const tail: [string, number][] = [];
    for (let place = 0; place < this.ordered; place++) {
      const slot = this.order[place]!;
      if (slot !== NONE && place < this.inSortedOrder) head.push(slot);
      else if (slot !== NONE) tail.push([paths.at(slot)!, slot]);
    }
    tail.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const order = new Int32Array(head.length + tail.length);
    if (tail.length * 32 > head.length) {
      // Most of it new: one sort of all, each path read back once.
      const all = [...head.map((slot): [string, number] => [paths.at(slot)!, slot]), ...tail];
      all.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      all.forEach(([, slot], i) => (order[i] = slot));
    } else {
      let at = 0;
      let from = 0;
      for (const [path, slot] of tail) {
        // The first of head[from…] whose path sorts after `path`.
        let [low, high] = [from, head.length];
        while (low < high) {
          const middle = (low + high) >> 1;
          if (paths.at(head[middle]!)! < path) low = middle + 1;
          else high = middle;
        }
        while (from < low) order[at++] = head[from++]!;
        order[at++] = slot;
      }
      while (from < head.length) order[at++] = head[from++]!;
    }
    const sorted = new Digests(paths, this.bytes, this.used, order, this.slots, order.length);
    sorted.free.push(...this.free);
    return sorted;
  }

  *keys(): MapIterator<string> {
    for (const slot of this.inOrder()) yield this.paths.at(slot)!;
  }

  *entries(): MapIterator<[string, string]> {
    for (const slot of this.inOrder()) yield [this.paths.at(slot)!, this.hex(slot)];
  }

  *values(): MapIterator<string> {
    for (const slot of this.inOrder()) yield this.hex(slot);
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

  /** The slots in use, in order; one set meanwhile comes last, one deleted is skipped (as a Map's iterator does). */
  private *inOrder(): Generator<number> {
    for (let place = 0; place < this.ordered; place++) {
      const slot = this.order[place]!;
      if (slot !== NONE) yield slot;
    }
  }

  /** Keeps and indexes `paths` `from` to `to`, in their slots (Digests.of). */
  private index(paths: readonly string[], from: number, to: number): void {
    for (let slot = from; slot < to; slot++) {
      this.paths.set(slot, paths[slot]!);
      this.slots.add(slot, paths[slot]);
    }
  }

  /** Puts a new slot last in the order. */
  private append(slot: number): void {
    if (this.ordered === this.order.length) this.order = grown(this.order, Math.max(2 * this.order.length, 1024));
    if (slot >= this.places.length) this.places = grown(this.places, Math.max(2 * this.places.length, slot + 1));
    this.places[slot] = this.ordered;
    this.order[this.ordered++] = slot;
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

/** 0, 1, … count - 1. */
function identity(count: number): Int32Array {
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return order;
}

/** A copy `length` long, the new part -1 (no slot, no file: here and in data-files.ts). */
export function grown(array: Int32Array, length: number): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(length).fill(NONE);
  bigger.set(array);
  return bigger;
}
