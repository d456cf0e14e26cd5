// The fleet's groups as serve --watch keeps them between builds (src/build/incremental.ts): each
// group's file, id, name and profile, sorted by file, for the manifest (the fleet view reads
// it) and for finding the groups a profile's edit reaches. As 100k objects of four strings the
// list was ~13 MB of serve's heap at rest at 100k machines as groups (5.6 MB of objects, 4 MB of
// file names, 3.2 MB of ids); here it is one buffer of text and three typed arrays, ~3 MB.
// A group's file is kept only when it is not `groups/<id>.json` (matchbox's layout names each
// group's file for its id), its name only when it is not its id, and its profile as a number
// into the list's few profile names.
//
// A list never changes: an edit that changes a group's entry makes a new one (with()), as
// slicing the array did, and a list kept whole keeps the manifest's text of it (write.ts).

import { forEachYielding } from './pool.js';

/** A group's entry, as the full build lists it and the manifest records it. */
export interface GroupEntry {
  file: string;
  id: string;
  name: string;
  profile: string;
}

/** Fields kept per group in `text`: its file, its id, its name (a field a flag stands for is empty). */
const FIELDS = 3;
/**
 * Flags: the group's file is `groups/<id>.json`; its name is its id; its fields are UTF-16 (one
 * of them has a character past U+00FF), else Latin-1 (one byte a character). Both give back
 * exactly the string put in, a lone surrogate from a JSON escape included, as UTF-8 would not.
 */
const DEFAULT_FILE = 1;
const NAME_IS_ID = 2;
const WIDE = 4;
const PAST_LATIN1 = /[^\u0000-\u00ff]/;

export class GroupList implements Iterable<GroupEntry> {
  private constructor(
    /** Each group's fields, one after another, as Latin-1 or UTF-16 (WIDE). */
    private readonly text: Buffer,
    /** Where each field starts in `text`, FIELDS a group, and the end. */
    private readonly starts: Int32Array,
    private readonly flags: Uint8Array,
    /** Each group's profile, by its number in `profileNames`. */
    private readonly profiles: Uint32Array,
    /** The profile names the list has used (a name no group uses any more may stay). */
    private readonly profileNames: readonly string[],
  ) {}

  /** The list of these entries, which must be sorted by file (as a full build lists them). */
  static of(entries: readonly GroupEntry[]): GroupList {
    const builder = new Builder(entries.length, []);
    for (const entry of entries) builder.add(entry);
    return new GroupList(...builder.done());
  }

  /** GroupList.of, a turn of the event loop after every `perTurn` entries (serve takes a full build in while it answers). */
  static async yielding(entries: readonly GroupEntry[], perTurn: number): Promise<GroupList> {
    const builder = new Builder(entries.length, []);
    await forEachYielding(entries, (entry) => builder.add(entry), perTurn);
    return new GroupList(...builder.done());
  }

  get length(): number {
    return this.flags.length;
  }

  at(i: number): GroupEntry {
    const id = this.field(i, 1);
    return { file: this.fileAt(i, id), id, name: this.flags[i]! & NAME_IS_ID ? id : this.field(i, 2), profile: this.profileAt(i) };
  }

  fileAt(i: number, id?: string): string {
    return this.flags[i]! & DEFAULT_FILE ? defaultFile(id ?? this.field(i, 1)) : this.field(i, 0);
  }

  profileAt(i: number): string {
    return this.profileNames[this.profiles[i]!]!;
  }

  /** Where `file` is, or would go, in the list. */
  indexOf(file: string): number {
    let low = 0;
    let high = this.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.fileAt(middle) < file) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** The entry for `file`, if the list has one. */
  get(file: string): GroupEntry | undefined {
    const at = this.indexOf(file);
    return at < this.length && this.fileAt(at) === file ? this.at(at) : undefined;
  }

  /** The files of the groups whose profile is one of `profiles`. */
  filesWith(profiles: ReadonlySet<string>): string[] {
    const numbers = new Set(this.profileNames.flatMap((name, n) => (profiles.has(name) ? [n] : [])));
    const files: string[] = [];
    for (let i = 0; i < this.length; i++) if (numbers.has(this.profiles[i]!)) files.push(this.fileAt(i));
    return files;
  }

  /** How many groups name each profile (profiles no group names are left out). */
  profileCounts(): Map<string, number> {
    const counts = new Array<number>(this.profileNames.length).fill(0);
    for (const n of this.profiles) counts[n]!++;
    return new Map(this.profileNames.flatMap((name, n) => (counts[n]! > 0 ? [[name, counts[n]!] as const] : [])));
  }

  /**
   * A new list: this one with each changed file's entry put in its place (undefined: taken
   * out). The unchanged groups' bytes are copied a run at a time: a group added to 100k costs
   * copies of ~2 MB, not 100k entries made and encoded again.
   */
  with(changed: ReadonlyMap<string, GroupEntry | undefined>): GroupList {
    const edits = [...changed].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([file, entry]) => {
      const at = this.indexOf(file);
      return { file, entry, at, present: at < this.length && this.fileAt(at) === file };
    });
    const count = this.length + edits.reduce((n, { entry, present }) => n + (entry ? 1 : 0) - (present ? 1 : 0), 0);
    const builder = new Builder(count, this.profileNames);
    const run = (from: number, to: number) => builder.copy(this.text, this.starts, this.flags, this.profiles, from, to);
    let next = 0;
    for (const { file, entry, at, present } of edits) {
      run(next, at);
      if (entry) builder.add({ ...entry, file });
      next = present ? at + 1 : at;
    }
    run(next, this.length);
    return new GroupList(...builder.done());
  }

  *[Symbol.iterator](): Iterator<GroupEntry> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }

  /**
   * The entries, for JSON.stringify: the same text an array of them gives (the manifest's
   * list, made again when a group is added, taken out or renamed). The text is read as Latin-1
   * once and each field taken from it: at 100k groups 66 ms against 99 ms for decoding each
   * field as the iterator does (medians of 21).
   */
  toJSON(): GroupEntry[] {
    const whole = this.text.toString('latin1');
    const entries = new Array<GroupEntry>(this.length);
    for (let i = 0; i < this.length; i++) {
      if (this.flags[i]! & WIDE) {
        entries[i] = this.at(i);
        continue;
      }
      const at = i * FIELDS;
      const id = whole.slice(this.starts[at + 1]!, this.starts[at + 2]!);
      const file = this.flags[i]! & DEFAULT_FILE ? defaultFile(id) : whole.slice(this.starts[at]!, this.starts[at + 1]!);
      const name = this.flags[i]! & NAME_IS_ID ? id : whole.slice(this.starts[at + 2]!, this.starts[at + 3]!);
      entries[i] = { file, id, name, profile: this.profileAt(i) };
    }
    return entries;
  }

  private field(i: number, k: number): string {
    const at = i * FIELDS + k;
    return this.text.toString(this.flags[i]! & WIDE ? 'utf16le' : 'latin1', this.starts[at]!, this.starts[at + 1]!);
  }
}

/** A new list of `count` groups, made of runs of another list's groups and entries added, in order. */
class Builder {
  /** The text so far: bytes 0 to `bytes`, grown as needed. */
  private text = Buffer.allocUnsafe(4096);
  private bytes = 0;
  private readonly starts: Int32Array;
  private readonly flags: Uint8Array;
  private readonly profiles: Uint32Array;
  private readonly numbers: Map<string, number>;
  private made = 0;

  constructor(private readonly count: number, profileNames: readonly string[]) {
    this.starts = new Int32Array(count * FIELDS + 1);
    this.flags = new Uint8Array(count);
    this.profiles = new Uint32Array(count);
    this.numbers = new Map(profileNames.map((name, n) => [name, n]));
  }

  add({ file, id, name, profile }: GroupEntry): void {
    let flags = (file === defaultFile(id) ? DEFAULT_FILE : 0) | (name === id ? NAME_IS_ID : 0);
    const own = flags & DEFAULT_FILE ? '' : file;
    const named = flags & NAME_IS_ID ? '' : name;
    if (PAST_LATIN1.test(id) || PAST_LATIN1.test(own) || PAST_LATIN1.test(named)) flags |= WIDE;
    const at = this.made * FIELDS;
    this.starts[at] = this.bytes;
    this.write(own, flags);
    this.starts[at + 1] = this.bytes;
    this.write(id, flags);
    this.starts[at + 2] = this.bytes;
    this.write(named, flags);
    let n = this.numbers.get(profile);
    if (n === undefined) this.numbers.set(profile, (n = this.numbers.size));
    this.flags[this.made] = flags;
    this.profiles[this.made++] = n;
  }

  private write(field: string, flags: number): void {
    if (field === '') return;
    this.room(field.length * 2);
    this.bytes += this.text.write(field, this.bytes, flags & WIDE ? 'utf16le' : 'latin1');
  }

  /** Groups `from` to `to` (not included) of a list given as its parts, whose profile names this builder started from. */
  copy(text: Buffer, starts: Int32Array, flags: Uint8Array, profiles: Uint32Array, from: number, to: number): void {
    if (to <= from) return;
    const [first, end] = [starts[from * FIELDS]!, starts[to * FIELDS]!];
    const shift = this.bytes - first;
    for (let k = from * FIELDS, out = this.made * FIELDS; k < to * FIELDS; k++, out++) this.starts[out] = starts[k]! + shift;
    this.room(end - first);
    this.bytes += text.copy(this.text, this.bytes, first, end);
    this.flags.set(flags.subarray(from, to), this.made);
    this.profiles.set(profiles.subarray(from, to), this.made);
    this.made += to - from;
  }

  /** The new list's parts, in GroupList's constructor's order. */
  done(): [Buffer, Int32Array, Uint8Array, Uint32Array, string[]] {
    if (this.made !== this.count) throw new Error(`bug: a list of ${this.count} groups made with ${this.made}`);
    this.starts[this.count * FIELDS] = this.bytes;
    return [Buffer.copyBytesFrom(this.text, 0, this.bytes), this.starts, this.flags, this.profiles, [...this.numbers.keys()]];
  }

  /** Makes room for `more` bytes of text. */
  private room(more: number): void {
    if (this.bytes + more <= this.text.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.text.length, this.bytes + more));
    this.text.copy(grown, 0, 0, this.bytes);
    this.text = grown;
  }
}

/** Where a group with this id is kept unless the repo names it otherwise (matchbox's layout). */
function defaultFile(id: string): string {
  return `groups/${id}.json`;
}
