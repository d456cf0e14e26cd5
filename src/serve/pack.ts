// Stage: serve. The answer pack: a per-snapshot index of the compiled answers a server has
// already read, with their bytes copied into one private temp file, so that a repeated answer
// costs a Map lookup and one pread instead of a stat per candidate tried and then open, fstat,
// read and close (measured with make bench: ~5 synchronous calls, each a Node binding on top of
// a VM's syscall, were half of serve's time per request).
//
// Why this is safe: a snapshot never changes once published (write.ts), so what was read from
// it once is what it holds for as long as it lives, misses included; a new snapshot gets a new
// pack. Whether the snapshot still exists at all is the caller's question (server.ts checks the
// snapshot's REVISION inode once per event-loop turn).
//
// Why a file and not memory: at 100k machines the answers are ~90 MB, over the RSS budget of a
// serve (150 MB at rest). The file is created with O_EXCL in the temp directory and unlinked at
// once: nobody else can open it, nothing is left behind, and its pages are the kernel's page
// cache, not the process's RSS. Only the index (path → offset, size, mtime) is in memory, and it
// is bounded: answers only by what the snapshot holds and MAX_ENTRIES, misses by MAX_MISSES.

import { closeSync, constants, fstatSync, openSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Answers up to this size are packed (and read in one call); larger ones are streamed from the snapshot. */
export const SMALL_ANSWER = 64 * 1024;
/** Bounds of one pack: answers kept, bytes kept, and misses remembered (then forgotten all at once). */
const MAX_ENTRIES = 1_000_000;
const MAX_BYTES = 1024 ** 3;
const MAX_MISSES = 100_000;

/** One packed answer: where its bytes are in the pack, and the file's size and mtime (whole seconds). */
export interface Packed {
  offset: number;
  size: number;
  mtime: number;
}

/** An answer as found: packed, or read just now (the pack is full or unavailable). */
export type Found = { file: Packed; read: (start: number, length: number) => Buffer };

export class AnswerPack {
  private fd: number | undefined;
  private end = 0;
  private readonly answers = new Map<string, Packed>();
  private misses = new Set<string>();

  /** `dir` is the snapshot's directory; the pack file is made on the first answer. */
  constructor(private readonly dir: string) {}

  /**
   * The snapshot's regular file at `path` (dist-relative, validated by route.ts) if it is
   * small; 'missing' if there is none (directories, FIFOs and sockets count as none, as for
   * nginx); 'large' for the caller to stream from the snapshot itself.
   */
  find(path: string): Found | 'missing' | 'large' {
    const known = this.answers.get(path);
    if (known) return { file: known, read: (start, length) => this.read(known.offset + start, length) };
    if (this.misses.has(path)) return 'missing';
    const found = readSmall(join(this.dir, path));
    if (found === 'missing') {
      if (this.misses.size >= MAX_MISSES) this.misses = new Set();
      this.misses.add(path);
      return 'missing';
    }
    if (found === 'large') return 'large';
    const packed = this.keep(path, found);
    const { body } = found;
    return { file: packed ?? { offset: 0, size: found.size, mtime: found.mtime }, read: (start, length) => body.subarray(start, start + length) };
  }

  /** Closes the pack file; the snapshot is no longer served. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.answers.clear();
    this.misses.clear();
  }

  /** Appends an answer to the pack; undefined when the pack is full or cannot be made. */
  private keep(path: string, found: { body: Buffer; size: number; mtime: number }): Packed | undefined {
    if (this.answers.size >= MAX_ENTRIES || this.end + found.size > MAX_BYTES) return undefined;
    try {
      this.fd ??= openPackFile();
      let written = 0;
      while (written < found.size) written += writeSync(this.fd, found.body, written, found.size - written, this.end + written);
    } catch {
      return undefined; // a full temp disk: keep serving from the snapshot
    }
    const packed = { offset: this.end, size: found.size, mtime: found.mtime };
    this.end += found.size;
    this.answers.set(path, packed);
    return packed;
  }

  private read(position: number, length: number): Buffer {
    return readExactly(this.fd!, position, length);
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
 * A small regular file read whole with one synchronous stat/open/fstat/read/close. Most
 * requests miss a candidate or two: a stat that returns undefined is much cheaper than an open
 * that throws. O_NONBLOCK: a FIFO put in place after the stat must not hang us. Any failure to
 * find or open it (too long a name, no permission) is 'missing', a 404 as from nginx.
 */
export function readSmall(path: string | Buffer): { body: Buffer; size: number; mtime: number } | 'missing' | 'large' {
  let fd: number;
  try {
    if (!statSync(path, { throwIfNoEntry: false })?.isFile()) return 'missing';
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
