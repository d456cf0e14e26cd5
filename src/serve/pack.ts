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
// Filled two ways: on demand, as requests name files, and by fill(), which walks the whole
// snapshot in the background (yielding to requests between batches) as soon as it is live. A
// boot storm asks for every machine once, so without the walk each first answer would still
// pay the stat/open/read/close; with it, once the walk is done, the index is the snapshot, and
// a path not in it is a miss without asking the disk at all.
//
// Why a file and not memory: at 100k machines the answers are ~90 MB, over the RSS budget of a
// serve (150 MB at rest). The file is created with O_EXCL in the temp directory and unlinked at
// once: nobody else can open it, nothing is left behind, and its pages are the kernel's page
// cache, not the process's RSS. Only the index (pack-index.ts: ~34 bytes an answer) is in
// memory, and it is bounded: answers by what the snapshot holds and MAX_ENTRIES, misses by
// MAX_MISSES until the walk is done, and none after.

import { closeSync, constants, fstatSync, opendirSync, openSync, readSync, statSync, unlinkSync, writeSync, type Dir, type Dirent } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { forEachYielding } from '../build/pool.js';
import { PackIndex, hashOf } from './pack-index.js';

/** Answers up to this size are packed (and read in one call); larger ones are streamed from the snapshot. */
export const SMALL_ANSWER = 64 * 1024;
/** Bounds of one pack: answers kept, bytes kept, and misses remembered (then forgotten all at once). */
const MAX_ENTRIES = 1_000_000;
const MAX_BYTES = 1024 ** 3;
const MAX_MISSES = 100_000;
/** How deep fill() walks (a snapshot is a few levels: kind/shape/id, maybe a shard). */
const MAX_DEPTH = 8;
/** Files fill() reads between two yields to the event loop. */
const FILL_BATCH = 64;

/** Longest path kept in the index (the pack index keeps key lengths in 16 bits). */
const MAX_KEY = 4096;

/** A file as the answer's headers need it: its size and mtime (whole seconds). */
export interface PackedFile {
  size: number;
  mtime: number;
}

/** An answer as found: its file's size and mtime, and its bytes. */
export type Found = { file: PackedFile; read: (start: number, length: number) => Buffer };

export class AnswerPack {
  private fd: number | undefined;
  private end = 0;
  private readonly index = new PackIndex();
  private misses = new Set<string>();
  /** Every file of the snapshot is in the index (fill() walked it all): anything else is missing. */
  private complete = false;
  private closed = false;

  /** `dir` is the snapshot's directory; the pack file is made on the first answer. */
  constructor(private readonly dir: string) {}

  /**
   * The snapshot's regular file at `path` (dist-relative, validated by route.ts) if it is
   * small; 'missing' if there is none (directories, FIFOs and sockets count as none, as for
   * nginx); 'large' for the caller to stream from the snapshot itself.
   */
  find(path: string): Found | 'missing' | 'large' {
    const hash = hashOf(path);
    const known = this.lookup(path, hash);
    if (known) return known;
    if (this.complete || this.misses.has(path)) return 'missing';
    const found = readSmall(join(this.dir, path));
    if (found === 'missing') {
      if (this.misses.size >= MAX_MISSES) this.misses = new Set();
      this.misses.add(path);
      return 'missing';
    }
    if (found === 'large') return 'large';
    this.keep(path, hash, found.body, found.size, found.mtime);
    const { body } = found;
    return { file: found, read: (start, length) => body.subarray(start, start + length) };
  }

  /**
   * Reads every file of the snapshot into the pack, a batch at a time between requests. The
   * index becomes complete only if every file made it in: a snapshot that vanishes or changes
   * under the walk, a full pack or temp disk, or too many files leave it to on-demand reads.
   */
  async fill(): Promise<void> {
    let whole = true;
    const stop = new Error('stop');
    await forEachYielding(walk(this.dir, () => { whole = false; }), (path) => {
      if (this.closed) throw stop;
      const hash = hashOf(path);
      if (this.lookup(path, hash)) return;
      const found = readSmall(join(this.dir, path), true);
      if (found === 'missing') throw stop; // listed a moment ago: the snapshot is going away
      const kept = found === 'large' ? this.keepLarge(path, hash) : this.keep(path, hash, found.body, found.size, found.mtime);
      if (!kept) whole = false;
    }, FILL_BATCH).catch((error: unknown) => {
      whole = false;
      if (error !== stop) throw error;
    });
    if (whole && !this.closed) {
      this.complete = true;
      this.misses = new Set();
    }
  }

  /** How many files the index holds, and whether it is the whole snapshot (for tests and the bench). */
  stats(): { answers: number; complete: boolean } {
    return { answers: this.index.size, complete: this.complete };
  }

  /** Closes the pack file; the snapshot is no longer served. */
  close(): void {
    this.closed = true;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.misses.clear();
  }

  /** The packed answer at `path`: one pread of its record (path, then bytes), the path compared. */
  private lookup(path: string, hash: number): Found | 'large' | undefined {
    if (this.fd === undefined) return undefined;
    const { index } = this;
    let record: Buffer | undefined;
    const slot = index.find(hash, (candidate) => {
      const keyLength = index.keyLengths[candidate]!;
      const size = index.sizes[candidate]!;
      const read = readExactly(this.fd!, index.offsets[candidate]!, keyLength + (size > SMALL_ANSWER ? 0 : size));
      if (read.toString('utf8', 0, keyLength) !== path) return false;
      record = read;
      return true;
    });
    if (slot === -1) return undefined;
    const size = index.sizes[slot]!;
    if (size > SMALL_ANSWER) return 'large';
    const body = record!.subarray(index.keyLengths[slot]!);
    return { file: { size, mtime: index.mtimes[slot]! }, read: (start, length) => body.subarray(start, start + length) };
  }

  /** Appends an answer's record to the pack and indexes it; false when the pack is full or cannot be made. */
  private keep(path: string, hash: number, body: Buffer, size: number, mtime: number): boolean {
    const key = Buffer.from(path);
    if (key.length > MAX_KEY || this.index.size >= MAX_ENTRIES || this.end + key.length + body.length > MAX_BYTES) return false;
    const record = body.length === 0 ? key : Buffer.concat([key, body]);
    try {
      this.fd ??= openPackFile();
      let written = 0;
      while (written < record.length) written += writeSync(this.fd, record, written, record.length - written, this.end + written);
    } catch {
      return false; // a full temp disk: keep serving from the snapshot
    }
    this.index.add(hash, this.end, key.length, size, mtime);
    this.end += record.length;
    return true;
  }

  /** Indexes a large file (its path only: it is streamed from the snapshot). */
  private keepLarge(path: string, hash: number): boolean {
    const stats = statSync(join(this.dir, path), { throwIfNoEntry: false });
    return stats !== undefined && this.keep(path, hash, Buffer.alloc(0), stats.size, Math.floor(stats.mtimeMs / 1000));
  }
}

/**
 * The snapshot's files, dist-relative with '/', depth first; directories (and symlinks to
 * them: a build may share directories between snapshots) up to MAX_DEPTH levels. Anything it
 * cannot list, or deeper, or more than MAX_ENTRIES files, calls `partial`.
 */
function* walk(root: string, partial: () => void): Generator<string> {
  const pending: Array<{ rel: string; depth: number }> = [{ rel: '', depth: 0 }];
  let count = 0;
  while (pending.length > 0) {
    const { rel, depth } = pending.pop()!;
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
        const kind = kindOf(entry, join(root, path));
        if (kind === 'directory' && depth + 1 < MAX_DEPTH) pending.push({ rel: path, depth: depth + 1 });
        else if (kind === 'directory') partial();
        else if (kind === 'file' && ++count > MAX_ENTRIES) return partial();
        else if (kind === 'file') yield path;
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

/** A private temp file: created exclusively, unlinked at once, open for read and write. */
function openPackFile(): number {
  const path = join(tmpdir(), `bootcfg-answers-${process.pid}-${randomBytes(8).toString('hex')}`);
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
  unlinkSync(path);
  return fd;
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

export function readExactly(fd: number, position: number, length: number): Buffer {
  const body = Buffer.allocUnsafe(length);
  let read = 0;
  while (read < length) {
    const n = readSync(fd, body, read, length - read, position + read);
    if (n === 0) throw new Error('file shrank while it was read');
    read += n;
  }
  return body;
}
