// The kept build's data files (src/build/incremental.ts): each file's size, and which answers it
// owns (the answers a change to it takes out). Held by number in typed arrays rather than in
// maps of strings: at 100k machines serve --watch kept two maps over 200k file names (sizes,
// owned lists; ~7 MB of hash table each), 200k arrays of answer paths (~16 MB) and a third map
// of 100k iPXE origins (~3.5 MB). Here one index gives each file a number; its size and its first
// answer are arrays by that number, and each answer, by its slot in the kept hashes (Digests),
// names its owner and the owner's next answer: ~9 MB in all, the index (path-index.ts) 1 MB of
// it where a Map was 7 MB. The names themselves are bytes (path-store.ts): ~3 MB for 200k, where
// their strings were ~13 MB.

import { grown, type Digests } from './digests.js';
import { PathIndex } from './path-index.js';
import { PathStore } from './path-store.js';

/** No slot, no file. */
const NONE = -1;

export class DataFiles {
  /** Number → file (none: free). */
  private readonly names = new PathStore();
  /** Numbers handed out so far (used or freed). */
  private numbered = 0;
  /** File → its number. */
  private readonly ids = new PathIndex(this.names);
  private readonly freeIds: number[] = [];
  /** Number → the file's size; NONE for an owner the build did not read (a source it names). */
  private sizes = new Int32Array(0);
  /** Number → the slot of the first answer it owns. */
  private heads = new Int32Array(0);
  /** Answer slot → the number of the file owning it. */
  private owners = new Int32Array(0);
  /** Answer slot → the slot of its owner's next answer. */
  private nexts = new Int32Array(0);
  private sized = 0;
  private bytes = 0;

  /** `answers` gives each answer path its slot; the same Digests (or one sorted from it) is passed to every call. */
  constructor(private answers: Digests) {}

  /** The Digests to use from now on (sorted() hands the same slots to a new one). */
  follow(answers: Digests): void {
    this.answers = answers;
  }

  /** Files with a size: the data files the build read. */
  get count(): number {
    return this.sized;
  }

  /** Their sizes' sum. */
  get total(): number {
    return this.bytes;
  }

  size(file: string): number | undefined {
    const id = this.ids.get(file);
    const size = id === undefined ? NONE : this.sizes[id]!;
    return size === NONE ? undefined : size;
  }

  /** Sets a file's size, or forgets it (undefined: the file is gone). */
  setSize(file: string, size: number | undefined): void {
    if (size !== undefined && (!Number.isInteger(size) || size < 0 || size > 0x7fffffff)) throw new Error(`bug: ${size} is not a file size`);
    const id = size === undefined ? this.ids.get(file) : this.idOf(file);
    if (id === undefined) return;
    const before = this.sizes[id]!;
    if (before !== NONE) (this.sized--, (this.bytes -= before));
    this.sizes[id] = size ?? NONE;
    if (size !== undefined) (this.sized++, (this.bytes += size));
    this.release(id);
  }

  /** Whether the file owns an answer. */
  owns(file: string): boolean {
    const id = this.ids.get(file);
    return id !== undefined && this.heads[id] !== NONE;
  }

  /** The answers the file owns. */
  owned(file: string): string[] {
    const paths: string[] = [];
    const id = this.ids.get(file);
    if (id === undefined) return paths;
    for (let slot = this.heads[id]!; slot !== NONE; slot = this.nexts[slot]!) paths.push(this.answers.pathAt(slot)!);
    return paths;
  }

  /** The file owning an answer. */
  ownerOf(path: string): string | undefined {
    const slot = this.answers.slotOf(path);
    const id = slot === undefined || slot >= this.owners.length ? NONE : this.owners[slot]!;
    return id === NONE ? undefined : this.names.at(id);
  }

  /**
   * Makes `paths` the file's answers, every one of them in the Digests already. Those it owned
   * before are let go first: call it for a file before deleting the answers it no longer has
   * from the Digests (a deleted answer's slot is given to the next path set).
   */
  setOwned(file: string, paths: Iterable<string>): void {
    const id = this.idOf(file);
    for (let slot = this.heads[id]!; slot !== NONE; ) {
      const next = this.nexts[slot]!;
      this.owners[slot] = NONE;
      this.nexts[slot] = NONE;
      slot = next;
    }
    this.heads[id] = NONE;
    let last = NONE;
    for (const path of paths) {
      const slot = this.answers.slotOf(path);
      if (slot === undefined) throw new Error(`bug: ${path} is not a kept answer`);
      this.growSlots(slot);
      if (this.owners[slot] === id) throw new Error(`bug: ${path} is named twice`);
      if (this.owners[slot] !== NONE) this.unlink(slot);
      this.owners[slot] = id;
      if (last === NONE) this.heads[id] = slot;
      else this.nexts[last] = slot;
      last = slot;
    }
    this.release(id);
  }

  /** Lets go of the room kept for more files' names and answers but a sixteenth (once filled from a full build). */
  trim(): void {
    this.names.trim();
    let last = this.owners.length - 1;
    while (last >= 0 && this.owners[last] === NONE) last--;
    const length = last + 1 + Math.max((last + 1) >> 4, 64);
    if (length >= this.owners.length) return;
    this.owners = this.owners.slice(0, length);
    this.nexts = this.nexts.slice(0, length);
  }

  /** The file's number, given one if it has none. */
  private idOf(file: string): number {
    let id = this.ids.get(file);
    if (id !== undefined) return id;
    id = this.freeIds.pop() ?? this.numbered++;
    if (id >= this.sizes.length) {
      const length = Math.max(2 * this.sizes.length, 1024);
      this.sizes = grown(this.sizes, length);
      this.heads = grown(this.heads, length);
    }
    this.names.set(id, file);
    this.ids.add(id, file);
    this.sizes[id] = NONE;
    this.heads[id] = NONE;
    return id;
  }

  /** Forgets a number that has neither a size nor an answer. */
  private release(id: number): void {
    if (this.sizes[id] !== NONE || this.heads[id] !== NONE) return;
    this.ids.delete(this.names.at(id)!);
    this.names.delete(id);
    this.freeIds.push(id);
  }

  /** Takes an answer out of its owner's list (another file owns it now). */
  private unlink(slot: number): void {
    const id = this.owners[slot]!;
    if (this.heads[id] === slot) this.heads[id] = this.nexts[slot]!;
    else {
      let at = this.heads[id]!;
      while (this.nexts[at] !== slot) at = this.nexts[at]!;
      this.nexts[at] = this.nexts[slot]!;
    }
    this.owners[slot] = NONE;
    this.nexts[slot] = NONE;
    this.release(id);
  }

  private growSlots(slot: number): void {
    if (slot < this.owners.length) return;
    const length = Math.max(this.owners.length + (this.owners.length >> 1), slot + 1, 1024);
    this.owners = grown(this.owners, length);
    this.nexts = grown(this.nexts, length);
  }
}
