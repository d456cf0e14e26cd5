// Stage: serve. The answer pack: a per-snapshot index of the compiled answers a server has
// already read, with their bytes copied into one private temp file, so that a repeated answer
// costs a lookup in memory and one pread instead of a stat per candidate tried and then open, fstat,
// read and close (measured with make bench: ~5 synchronous calls, each a Node binding on top of
// a VM's syscall, were half of serve's time per request).
//
// Why this is safe: a snapshot never changes once published (write.ts), so what was read from
// it once is what it holds for as long as it lives, misses included; a new snapshot gets a new
// pack. Whether the snapshot still exists at all is the caller's question (server.ts checks the
// snapshot's REVISION inode once per event-loop turn).
//
// Filled three ways: carried over from the previous snapshot's pack, on demand as requests
// name files, and by fill(), which walks the snapshot in the background (yielding to requests
// between batches) as soon as it is live. A boot storm asks for every machine once, so without
// the walk each first answer would still pay the stat/open/read/close; with it, once the walk
// is done, the index is the snapshot, and a path not in it is a miss without asking the disk.
//
// Carried over: most answers live in store dirs (write.ts), shared by snapshots through links
// and never changed once named, and a one-machine edit at 100k machines gives a snapshot that
// links all but one or two of the old one's ~1,500 store dirs. Reading all ~350k files again
// took ~5 s of CPU after every build, competing with the next edit's build under serve
// --watch. So each index entry keeps the store link it was read under (its group:
// pack-links.ts), and a new pack takes over, by offset in the same file, every entry whose link
// the new snapshot has too with the same target (read from the new snapshot); fill() skips
// those links when the old pack had them whole, and reads only the rest (changed groups, loose
// files such as ipxe/default and shapes.json). Its first step, the turn after the pack goes
// live, looks at each carried group's store dir: one written again under its name since this
// process read it (write.ts repairStore: the same bytes, other mtimes) is dropped and read.
// Misses and completeness are never carried: each pack learns its own. When this process wrote the new snapshot from
// the old one (serve --watch, serve --repo), the write's delta (src/build/deltas.ts) names the
// files that changed, and a changed group's other answers are carried too: a 1% edit at 100k
// machines, which touches nearly every group, reads ~2,500 answers instead of ~350k.
//
// Why a file and not memory: at 100k machines the answers are ~90 MB, over the RSS budget of a
// serve (150 MB at rest). The file (src/build/private-file.ts) is private, unlinked, and its pages are the
// kernel's page cache. It is shared by the packs that carried from it and append to it; when
// more of it is garbage (records no entry of the new pack uses) than live (MIN_GARBAGE aside), the
// new pack starts a fresh file and reads everything, so the file stays under twice what it serves. Only the
// index (pack-index.ts: ~29 bytes an answer) is in memory, and it is bounded: answers by what
// the snapshot holds and MAX_ENTRIES, misses by MAX_MISSES until the walk is done, and none after.

import { closeSync, constants, fstatSync, opendirSync, openSync, statSync, type Dir, type Dirent } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { deltaBetween, linksWritten } from '../build/deltas.js';
import { forEachYielding } from '../build/pool.js';
import { MAX_FIELD, PackIndex, SMALL_ANSWER } from './pack-index.js';
import { hashOf } from '../build/path-index.js';
import { PrivateFile, readExactly } from '../build/private-file.js';
import { StoreLinks, readStoreLinks, storeDirIdentity, writtenStoreLinks } from './pack-links.js';


export { SMALL_ANSWER }; // answers up to this size are packed (and read in one call); larger ones are streamed from the snapshot
/** Bounds of one pack: answers kept, and misses remembered (then forgotten all at once); bytes: private-file.ts's MAX_BYTES. */
const MAX_ENTRIES = 1_000_000;
const MAX_MISSES = 100_000;
/**
 * A new pack shares the old one's file unless more of it would be garbage than live, and more
 * than this: the file stays under twice what a pack serves (plus this), at the price of one
 * full read of the snapshot when it starts afresh (after some hundreds of one-machine edits at 100k).
 */
const MIN_GARBAGE = 16 * 1024 * 1024;
/** How deep fill() walks (a snapshot is a few levels: kind/shape/id, maybe a shard). */
const MAX_DEPTH = 8;
/** Files fill() reads between two yields to the event loop. */
const FILL_BATCH = 64;
/** Store dirs fill() looks at (one stat each) between two yields. */
const CHECK_BATCH = 512;

/** Longest path kept in the index (the pack index keeps key lengths in 16 bits). */
const MAX_KEY = 4096;

/** A file as the answer's headers need it: its size and mtime (whole seconds). */
export interface PackedFile {
  size: number;
  mtime: number;
}

/** An answer as found: its file's size and mtime, and its bytes. */
export type Found = { file: PackedFile; read: (start: number, length: number) => Buffer };

/** What a pack holds: answers in all, how many carried over and how many read from the snapshot. */
export interface PackStats {
  answers: number;
  carried: number;
  read: number;
  /** Every file of the snapshot is in the index. */
  complete: boolean;
}

export class AnswerPack {
  private file: PrivateFile | undefined;
  private index = new PackIndex();
  /** The snapshot's store links (the groups of index entries), listed on first need. */
  private linksRead: StoreLinks | undefined;
  /** By group id: every file under that link is in the index (carried whole), so fill() skips it. */
  private whole = new Uint8Array(0);
  private misses = new Set<string>();
  /** Every file of the snapshot is in the index (fill() walked it all): anything else is missing. */
  private complete = false;
  private closed = false;
  private carried = 0;
  private read = 0;
  /** Changed files of partly carried groups (carryFrom), read by fill() before its walk skips those groups. */
  private pending: { path: string; group: number }[] = [];
  /** By group id: its store dir's identity when the answers under it were read (pack-links.ts), if known. */
  private identities: (string | undefined)[] = [];
  /** Groups carried over whose store dir fill() has yet to look at again. */
  private unchecked: number[] = [];

  /**
   * `dir` is the snapshot's directory; the pack file is made on the first answer. With
   * `previous` (the pack of the snapshot this one replaces), its entries under store links this
   * snapshot shares are carried over at once.
   */
  constructor(private readonly dir: string, previous?: AnswerPack) {
    if (previous) this.carryFrom(previous);
  }

  /**
   * The snapshot's regular file at `path` (dist-relative, validated by route.ts) if it is
   * small; 'missing' if there is none (directories, FIFOs and sockets count as none, as for
   * nginx); 'large' for the caller to stream from the snapshot itself.
   */
  find(path: string): Found | 'missing' | 'large' {
    const hash = hashOf(path);
    const known = this.lookup(path, hash);
    if (known) return known.found;
    if (this.complete || this.misses.has(path)) return 'missing';
    const found = readSmall(join(this.dir, path));
    if (found === 'missing') {
      if (this.misses.size >= MAX_MISSES) this.misses = new Set();
      this.misses.add(path);
      return 'missing';
    }
    if (found === 'large') return 'large';
    this.keep(path, hash, found.body, found.size, found.mtime, 0); // its group is set if the walk meets it
    const { body } = found;
    return { file: found, read: (start, length) => body.subarray(start, start + length) };
  }

  /**
   * Reads every file of the snapshot not carried over into the pack, a batch at a time between
   * requests. The index becomes complete only if every file made it in: a snapshot that
   * vanishes or changes under the walk, a full pack or temp disk, or too many files leave it to
   * on-demand reads.
   */
  async fill(): Promise<void> {
    let whole = true;
    const stop = new Error('stop');
    const links = this.links();
    const skip = (group: number) => this.whole[group] === 1;
    const enter = (group: number) => void (this.identities[group] = storeDirIdentity(links.dirOf(group))); // what it is read from
    await new Promise<void>((resolve) => setImmediate(resolve)); // the requests waiting on this snapshot first
    await this.check(links);
    const pending = this.pending;
    this.pending = [];
    const dir = this.dir;
    const files = function* (): Generator<{ path: string; group: number; listed: boolean }> {
      for (const { path, group } of pending) yield { path, group, listed: false };
      for (const found of walk(dir, links, skip, enter, () => { whole = false; })) yield { ...found, listed: true };
    };
    await forEachYielding(files(), ({ path, group, listed }) => {
      if (this.closed) throw stop;
      const hash = hashOf(path);
      const known = this.lookup(path, hash);
      if (known) {
        this.index.setGroup(known.slot, group); // read on demand before the walk came by
        return;
      }
      const found = readSmall(join(this.dir, path), listed);
      if (found === 'missing' && !listed) return; // a changed file the write removed
      if (found === 'missing') throw stop; // listed a moment ago: the snapshot is going away
      const kept = found === 'large' ? this.keepLarge(path, hash, group) : this.keep(path, hash, found.body, found.size, found.mtime, group);
      if (!kept) whole = false;
    }, FILL_BATCH).catch((error: unknown) => {
      whole = false;
      if (error !== stop) throw error;
    });
    if (whole && !this.closed) {
      this.complete = true;
      this.misses = new Set();
      this.index.trim();
    }
  }

  /**
   * Looks at the store dir of every group carried over: one written again under its name since
   * its answers were read (repairStore after a concurrent prune: the same bytes, other mtimes)
   * loses what was carried of it, and the walk reads it. Until then (the turn after the pack
   * went live) its answers are the old dir's bytes with the old mtimes.
   */
  private async check(links: StoreLinks): Promise<void> {
    const groups = this.unchecked;
    this.unchecked = [];
    await forEachYielding(groups, (group) => {
      if (this.closed) return;
      const [then, now] = [this.identities[group], storeDirIdentity(links.dirOf(group))];
      this.identities[group] = now ?? then; // gone: written again later, it is another
      if (then === undefined || now === undefined || now === then) return; // unknown before (a dir the write just made), or gone: its bytes are still right
      this.carried -= this.index.dropGroup(group);
      this.whole[group] = 0;
    }, CHECK_BATCH);
  }

  /** What the index holds, and whether it is the whole snapshot (for the log, tests and the bench). */
  stats(): PackStats {
    return { answers: this.index.live, carried: this.carried, read: this.read, complete: this.complete };
  }

  /** Lets go of the pack file (closed when no other pack carried from it); the snapshot is no longer served. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.file?.release();
    this.file = undefined;
    this.misses.clear();
  }

  /** The snapshot's store links: as this process wrote them if it did, else read. */
  private links(): StoreLinks {
    if (this.linksRead) return this.linksRead;
    const written = linksWritten(basename(this.dir), resolve(this.dir));
    return (this.linksRead = written ? writtenStoreLinks(this.dir, written) : readStoreLinks(this.dir));
  }

  /**
   * Takes over `previous`'s entries under every store link this snapshot has too, with the same
   * target (read now, from this snapshot; fill() checks the store dir behind it is the one they
   * were read from): same files, so same bytes, size and mtime, and the records stay where they
   * are in the shared file. When this process wrote this snapshot from that one (deltas.ts), a
   * link with a new target is taken over too, but for the files the write says changed: fill()
   * reads those alone. Nothing is carried when the old file is mostly garbage or holds nothing
   * carried: this pack then starts afresh.
   */
  private carryFrom(previous: AnswerPack): void {
    const file = previous.file;
    const before = previous.linksRead;
    if (previous.closed || !file || !before || dirname(previous.dir) !== dirname(this.dir)) return;
    const links = this.links();
    const delta = deltaBetween(basename(previous.dir), basename(this.dir));
    const to = new Uint16Array(before.count + 1); // old group id -> new, 0 when not carried
    const partly = new Uint8Array(links.count + 1); // new groups carried but for the delta's files
    for (let group = 1; group <= before.count; group++) {
      const id = links.idOf(before.paths[group]!);
      if (id === undefined) continue;
      if (links.targets[id] === before.targets[group]) to[group] = id; // fill() checks it is the same dir (check())
      // A new store dir the write made, its unchanged answers hard links of the old ones.
      else if (delta) partly[(to[group] = id)] = 1;
    }
    const old = previous.index;
    // The delta's files in partly carried groups: their old answers are not this snapshot's.
    const drop = new Set<number>();
    const pending: { path: string; group: number }[] = [];
    for (const path of delta ?? []) {
      const group = groupOfFile(links, path);
      if (group === 0 || partly[group] === 0) continue; // loose, new or shared groups: the walk and the carry have them right
      pending.push({ path, group });
      const slot = old.find(hashOf(path), (candidate) => keyAt(file, old, candidate) === path);
      if (slot !== -1) drop.add(slot);
    }
    const bytes = old.carriedBytes(to, drop);
    if (bytes === 0 || file.end - bytes > Math.max(bytes, MIN_GARBAGE)) return;
    this.file = file.retain();
    this.index = PackIndex.carry(old, to, drop); // takes the old index's arrays: only once the carry is sure
    this.carried = this.index.live;
    for (let group = 1; group < to.length; group++) {
      if (to[group] === 0) continue;
      this.unchecked.push(to[group]!);
      if (partly[to[group]!] === 0) this.identities[to[group]!] = previous.identities[group]; // the same store dir, as far as the old pack knew
    }
    // Only a complete pack had every file of its groups: from an incomplete one the walk still looks.
    this.whole = new Uint8Array(links.count + 1);
    if (previous.complete) for (const group of to) if (group > 0) this.whole[group] = 1;
    if (previous.complete) this.pending = pending; // else the walk reads them with the rest
  }

  /** The packed answer at `path` and its slot: one pread of its record (path, then bytes), the path compared. */
  private lookup(path: string, hash: number): { found: Found | 'large'; slot: number } | undefined {
    const { file, index } = this;
    if (file === undefined) return undefined;
    let record: Buffer | undefined;
    const slot = index.find(hash, (candidate) => {
      const keyLength = index.keyLengths[candidate]!;
      const read = file.read(index.offsets[candidate]!, index.recordLength(candidate));
      if (read.toString('utf8', 0, keyLength) !== path) return false;
      record = read;
      return true;
    });
    if (slot === -1) return undefined;
    const size = index.sizes[slot]!;
    if (size > SMALL_ANSWER) return { found: 'large', slot };
    const body = record!.subarray(index.keyLengths[slot]!);
    return { found: { file: { size, mtime: index.mtimes[slot]! }, read: (start, length) => body.subarray(start, start + length) }, slot };
  }

  /** Appends an answer's record to the pack and indexes it; false when the pack is full or cannot be made. */
  private keep(path: string, hash: number, body: Buffer, size: number, mtime: number, group: number): boolean {
    if (!fitsIndex(size) || !fitsIndex(mtime)) return false; // before 1970, after 2106, 4 GB or more: read from the snapshot each time
    const key = Buffer.from(path);
    if (key.length > MAX_KEY || this.index.size >= MAX_ENTRIES || this.closed) return false;
    this.file ??= PrivateFile.create('bootcfg-answers');
    const offset = this.file?.append(body.length === 0 ? key : Buffer.concat([key, body]));
    if (offset === undefined) return false;
    this.index.add(hash, offset, key.length, size, mtime, group);
    this.read++;
    return true;
  }

  /** Indexes a large file (its path only: it is streamed from the snapshot). */
  private keepLarge(path: string, hash: number, group: number): boolean {
    const stats = statSync(join(this.dir, path), { throwIfNoEntry: false });
    return stats !== undefined && this.keep(path, hash, Buffer.alloc(0), stats.size, Math.floor(stats.mtimeMs / 1000), group);
  }
}

function fitsIndex(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= MAX_FIELD;
}

/** The path of the record at `slot` (one read of its key). */
function keyAt(file: PrivateFile, index: PackIndex, slot: number): string {
  return file.read(index.offsets[slot]!, index.keyLengths[slot]!).toString('utf8');
}

/** The group of the store link a dist file lies under (links sit at `kind/shape` or `kind/shape/<shard>`), 0 for none. */
function groupOfFile(links: StoreLinks, path: string): number {
  const second = path.indexOf('/', path.indexOf('/') + 1);
  if (second < 0) return 0;
  const third = path.indexOf('/', second + 1);
  return links.idOf(path.slice(0, second)) ?? (third < 0 ? undefined : links.idOf(path.slice(0, third))) ?? 0;
}

/**
 * The snapshot's files not under a link `skip`s, dist-relative with '/', depth first, each with
 * its group: the store link (listed in `links`) it lies under, 0 for loose files and for
 * anything under a link or file symlink that is not a listed store link. Directories (and
 * symlinks to them: store dirs) up to MAX_DEPTH levels. Anything it cannot list, or deeper, or
 * more than MAX_ENTRIES files, calls `partial`.
 */
function* walk(root: string, links: StoreLinks, skip: (group: number) => boolean, enter: (group: number) => void, partial: () => void): Generator<{ path: string; group: number }> {
  const pending: Array<{ rel: string; depth: number; group: number }> = [{ rel: '', depth: 0, group: 0 }];
  let count = 0;
  while (pending.length > 0) {
    const { rel, depth, group: parent } = pending.pop()!;
    let dir;
    try {
      dir = opendirSync(rel === '' ? root : join(root, rel), { bufferSize: 256 }); // not readdir: 50k entries at once is a 50k-object burst of RSS
    } catch {
      partial();
      continue;
    }
    try {
      for (let entry = readEntry(dir, partial); entry !== null; entry = readEntry(dir, partial)) {
        const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
        // A symlink starts a group only where write.ts puts store links: outside any group.
        const group = !entry.isSymbolicLink() ? parent : parent === 0 ? (links.idOf(path) ?? 0) : 0;
        if (group !== parent && skip(group)) continue; // carried over whole: not even a stat
        if (group !== parent) enter(group);
        const kind = kindOf(entry, join(root, path));
        if (kind === 'directory' && depth + 1 < MAX_DEPTH) pending.push({ rel: path, depth: depth + 1, group });
        else if (kind === 'directory') partial();
        else if (kind === 'file' && ++count > MAX_ENTRIES) return partial();
        else if (kind === 'file') yield { path, group };
      }
    } finally {
      dir.closeSync();
    }
  }
}

/** A directory entry as the walk sees it: a symlink counts as what it leads to. */
function kindOf(entry: Dirent, path: string): 'file' | 'directory' | undefined {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'directory';
  if (!entry.isSymbolicLink()) return undefined;
  try {
    const target = statSync(path, { throwIfNoEntry: false });
    return target?.isFile() ? 'file' : target?.isDirectory() ? 'directory' : undefined;
  } catch {
    return undefined; // a loop, no permission: none, as for readSmall and nginx
  }
}

/** The next entry of an open directory; null at its end, or when it cannot be read further. */
function readEntry(dir: Dir, partial: () => void): Dirent | null {
  try {
    return dir.readSync();
  } catch {
    partial();
    return null;
  }
}

/**
 * A small regular file read whole with one synchronous stat/open/fstat/read/close (no stat
 * when the walk has just `listed` it: the fstat still checks it is a regular file). Most
 * requests miss a candidate or two: a stat that returns undefined is much cheaper than an open
 * that throws. O_NONBLOCK: a FIFO put in place after the stat must not hang us. Any failure to
 * find or open it (too long a name, no permission) is 'missing', a 404 as from nginx.
 */
export function readSmall(path: string | Buffer, listed = false): { body: Buffer; size: number; mtime: number } | 'missing' | 'large' {
  let fd: number;
  try {
    if (!listed && !statSync(path, { throwIfNoEntry: false })?.isFile()) return 'missing'; // a listed file exists: open at once
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return 'missing';
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) return 'missing';
    if (opened.size > SMALL_ANSWER) return 'large';
    return { body: readExactly(fd, 0, opened.size), size: opened.size, mtime: Math.floor(opened.mtimeMs / 1000) };
  } catch {
    return 'missing'; // it went away or became unreadable between the calls
  } finally {
    closeSync(fd);
  }
}
