// Stage: serve. The answer pack's index (pack.ts) in typed arrays: an open-addressing hash
// table of 32-bit path hashes, and per answer where its record is in the pack, how long its key
// is, the file's size and mtime, and which store link it lies under (its group, for carrying it
// over to the next snapshot's pack). ~30 bytes an answer, where a Map of path strings to
// objects measured ~240 (250k answers at 100k machines: 59 MB of heap, over serve's RSS
// budget on its own). The paths themselves are not kept here: each record in the pack starts
// with its path, and the pack compares it on every hit, so a hash collision costs a second
// read, never a wrong answer. The hash is the kept build's (hashOf in src/build/path-index.ts,
// seeded per process): answer paths come from the config repo.

import { overFull } from '../build/path-index.js';

/** Answers up to this size are packed (their bytes follow the path in the record); larger ones are streamed from the snapshot. */
export const SMALL_ANSWER = 64 * 1024;

/** The largest size or mtime the index keeps (32 bits each: 4 bytes an answer less than doubles, ~4–8 MB at 100k machines). */
export const MAX_FIELD = 0xffff_ffff;

export class PackIndex {
  /** slot + 1 per table position; 0 is empty. Kept at most three quarters full, as path-index.ts keeps its own. */
  private table = new Int32Array(1024);
  private count = 0;
  hashes = new Uint32Array(512);
  /** Where the answer's record (its path, then its bytes) starts in the pack. */
  offsets = new Uint32Array(512);
  keyLengths = new Uint16Array(512);
  /** Bytes; 32 bits, as an answer the index takes must fit (MAX_FIELD). */
  sizes = new Uint32Array(512);
  /** Whole seconds since 1970, as nginx keeps them; 32 bits (to 2106), as for sizes. */
  mtimes = new Uint32Array(512);
  /** The store link (pack-links.ts group id) the file lies under; 0 for none or not known. */
  groups = new Uint16Array(512);
  /** 1 for an answer taken over from a pack before this one that this pack must not serve (see carry). */
  private dead = new Uint8Array(512);
  private deadCount = 0;
  /** Bytes of the live answers' records, by group: what a carry keeps of the pack file, without a pass over every answer. */
  private groupBytes = new Float64Array(16);

  /** Slots in use, dead ones included (what MAX_ENTRIES bounds). */
  get size(): number {
    return this.count;
  }

  /** Whether the answer at `slot` is served (not one a carry left dead). */
  isLive(slot: number): boolean {
    return slot < this.count && this.dead[slot] === 0;
  }

  /** Answers this index serves. */
  get live(): number {
    return this.count - this.deadCount;
  }

  /** Bytes of the record at `slot` in the pack file: its path, then its bytes unless it is large. */
  recordLength(slot: number): number {
    const size = this.sizes[slot]!;
    return this.keyLengths[slot]! + (size > SMALL_ANSWER ? 0 : size);
  }

  /** Bytes of the records of the live answers under `group`. */
  bytesOf(group: number): number {
    return this.groupBytes[group] ?? 0;
  }

  /** Puts the answer at `slot` under `group` (one read on demand before the walk came by). */
  setGroup(slot: number, group: number): void {
    if (this.dead[slot]) return;
    const bytes = this.recordLength(slot);
    this.groupBytes[this.groups[slot]!]! -= bytes;
    this.groups[slot] = group;
    this.addBytes(group, bytes);
  }

  /**
   * The index of a new pack that takes `old`'s answers over, each under its group in the new
   * pack (`groups[old group]`; 0: not taken over), but for the slots in `drop` (answers the
   * build changed, pack.ts). It takes `old`'s arrays themselves, which
   * leaves `old` empty: the pack it belongs to is closed as the new one goes live, in the same
   * synchronous step (server.ts), and never asked again. No copy of ~20 MB of arrays per edit
   * at 100k machines, and no full garbage collection that such a copy set off after each edit
   * (`--trace-gc`, docs/BENCHMARKS.md). Entries not taken over stay in the table, dead, and find() passes
   * over them. They go with the pack file (pack.ts starts afresh when most of it is garbage).
   */
  static carry(old: PackIndex, groups: Uint16Array, drop: ReadonlySet<number> = new Set()): PackIndex {
    const next = new PackIndex();
    next.table = old.table;
    next.count = old.count;
    next.hashes = old.hashes;
    next.offsets = old.offsets;
    next.keyLengths = old.keyLengths;
    next.sizes = old.sizes;
    next.mtimes = old.mtimes;
    next.groups = old.groups;
    next.dead = old.dead;
    next.deadCount = old.deadCount;
    for (const slot of drop) next.kill(slot);
    // One pass over every answer (550k at 100k machines as groups).
    let most = 0;
    for (const group of groups) most = Math.max(most, group);
    const bytes = new Float64Array(most + 1);
    const { dead } = next;
    const slots = next.groups;
    let killed = 0;
    for (let slot = 0; slot < next.count; slot++) {
      if (dead[slot]) continue;
      const group = groups[slots[slot]!]!;
      slots[slot] = group;
      if (group === 0) {
        dead[slot] = 1;
        killed++;
        continue;
      }
      bytes[group]! += next.recordLength(slot);
    }
    next.deadCount += killed;
    next.groupBytes = bytes;
    Object.assign(old, new PackIndex()); // empty: it finds nothing
    return next;
  }

  /** Stops serving every answer under `group` (its store dir is not the one they were read from); how many went. One pass over every answer. */
  dropGroup(group: number): number {
    let dropped = 0;
    for (let slot = 0; slot < this.count; slot++) {
      if (this.groups[slot] !== group || this.dead[slot]) continue;
      this.kill(slot);
      dropped++;
    }
    if (group < this.groupBytes.length) this.groupBytes[group] = 0;
    return dropped;
  }

  /**
   * Bytes of the records `carry(this, groups, drop)` would keep: by group, less the dropped
   * slots (each read once). Where carrying pays is decided on this before the carry takes the arrays.
   */
  carriedBytes(groups: Uint16Array, drop: ReadonlySet<number>): number {
    let bytes = 0;
    for (let group = 1; group < groups.length; group++) if (groups[group]! > 0) bytes += this.bytesOf(group);
    for (const slot of drop) if (this.isLive(slot) && groups[this.groups[slot]!]! > 0) bytes -= this.recordLength(slot);
    return bytes;
  }

  /** The first slot with this hash for which `match` holds (it reads and compares the path), or -1. */
  find(hash: number, match: (slot: number) => boolean): number {
    const mask = this.table.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const stored = this.table[i]!;
      if (stored === 0) return -1;
      if (this.hashes[stored - 1] === hash && this.dead[stored - 1] === 0 && match(stored - 1)) return stored - 1;
    }
  }

  add(hash: number, offset: number, keyLength: number, size: number, mtime: number, group: number): number {
    if (this.count === this.hashes.length) this.growSlots();
    if (overFull(this.count + 1, this.table.length)) this.growTable();
    const slot = this.count++;
    this.hashes[slot] = hash;
    this.offsets[slot] = offset;
    this.keyLengths[slot] = keyLength;
    this.sizes[slot] = size;
    this.mtimes[slot] = mtime;
    this.groups[slot] = group;
    this.addBytes(group, this.recordLength(slot));
    this.place(hash, slot);
    return slot;
  }

  private kill(slot: number): void {
    if (slot >= this.count || this.dead[slot]) return;
    this.dead[slot] = 1;
    this.deadCount++;
  }

  private addBytes(group: number, bytes: number): void {
    if (group >= this.groupBytes.length) {
      const grown = new Float64Array(Math.max(group + 1, this.groupBytes.length * 2));
      grown.set(this.groupBytes);
      this.groupBytes = grown;
    }
    this.groupBytes[group]! += bytes;
  }

  private place(hash: number, slot: number): void {
    const mask = this.table.length - 1;
    let i = hash & mask;
    while (this.table[i] !== 0) i = (i + 1) & mask;
    this.table[i] = slot + 1;
  }

  /**
   * Lets go of the room past the slots in use but an eighth, when more than a quarter is
   * empty (pack.ts, once a walk is done: 550k answers at 100k machines as groups had filled
   * arrays of 2^20 slots, ~10 MB of them empty). The carries after it add a few slots an edit,
   * so it copies the arrays again only after the next growth.
   */
  trim(): void {
    if (this.hashes.length <= 512 || 4 * this.hashes.length <= 5 * this.count) return;
    this.resizeSlots(Math.max(512, this.count + (this.count >> 3)));
  }

  private growSlots(): void {
    this.resizeSlots(Math.ceil(this.hashes.length * 1.5));
  }

  private resizeSlots(length: number): void {
    const resized = <T extends Uint32Array | Uint16Array | Uint8Array>(old: T): T => {
      const next = new (old.constructor as new (length: number) => T)(length);
      next.set(old.subarray(0, this.count));
      return next;
    };
    this.hashes = resized(this.hashes);
    this.offsets = resized(this.offsets);
    this.keyLengths = resized(this.keyLengths);
    this.sizes = resized(this.sizes);
    this.mtimes = resized(this.mtimes);
    this.groups = resized(this.groups);
    this.dead = resized(this.dead);
  }

  private growTable(): void {
    this.table = new Int32Array(this.table.length * 2);
    for (let slot = 0; slot < this.count; slot++) this.place(this.hashes[slot]!, slot);
  }
}
