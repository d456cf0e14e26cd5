// A private temp file: created exclusively in the temp directory and unlinked at once, so that
// nobody else can open it and nothing is left behind whatever happens to the process. Its pages
// are the kernel's page cache, not a process's RSS. serve's answer pack keeps its records in one
// (src/serve/pack.ts), a build the store dir pieces it has yet to write (write.ts), a kept build
// its manifest's list of groups (write.ts), and a full build's child hands its state back
// through one (child.ts).

import { closeSync, constants, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A new private file, open for read and write (its name starts with `prefix`); throws when none can be made. */
function openPrivateFile(prefix: string): number {
  const path = join(tmpdir(), `${prefix}-${process.pid}-${randomBytes(8).toString('hex')}`);
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
  unlinkSync(path);
  return fd;
}

/** Bytes one PrivateFile holds at most (the answer pack's index keeps offsets in 32 bits). */
export const MAX_BYTES = 1024 ** 3;

/**
 * A private file appended to and read by offset. One file may be shared (the answer pack's
 * records are carried from one snapshot's pack to the next), so it is counted by reference and
 * closed when its last user lets go. Bytes are never rewritten.
 */
export class PrivateFile {
  /** Where the next record goes: every byte before it was written once and never changes. */
  private size = 0;
  private users = 1;

  /** Its descriptor: a child process can be given it (child.ts). */
  private constructor(readonly fd: number) {}

  /** A new private file, held by its caller; undefined when none can be made (no temp dir, no space). */
  static create(prefix: string): PrivateFile | undefined {
    try {
      return new PrivateFile(openPrivateFile(prefix));
    } catch {
      return undefined;
    }
  }

  /** Bytes written so far, live or not. */
  get end(): number {
    return this.size;
  }

  /** One more user of the file. */
  retain(): this {
    this.users++;
    return this;
  }

  /** A user lets go of the file; the last one closes it. */
  release(): void {
    if (--this.users === 0) closeSync(this.fd);
  }

  /** Appends a record; its offset, or undefined when the file is full or the disk is. */
  append(record: Buffer): number | undefined {
    const offset = this.size;
    if (offset + record.length > MAX_BYTES) return undefined;
    try {
      let written = 0;
      while (written < record.length) written += writeSync(this.fd, record, written, record.length - written, offset + written);
    } catch {
      return undefined; // a full temp disk: the caller keeps the bytes elsewhere
    }
    this.size += record.length;
    return offset;
  }

  read(offset: number, length: number): Buffer {
    return readExactly(this.fd, offset, length);
  }

  /** Writes `length` bytes from `offset` to `fd` at its position, through a buffer of COPY_CHUNK (no copy of it all in memory). */
  copyTo(fd: number, offset: number, length: number): void {
    const chunk = (copyBuffer ??= Buffer.allocUnsafe(COPY_CHUNK));
    for (let done = 0; done < length; ) {
      const n = readSync(this.fd, chunk, 0, Math.min(COPY_CHUNK, length - done), offset + done);
      if (n === 0) throw new Error('file shrank while it was read');
      for (let written = 0; written < n; ) written += writeSync(fd, chunk, written, n - written);
      done += n;
    }
  }
}

/** copyTo's buffer, made on first use and kept (nothing here awaits between its reads and writes). */
const COPY_CHUNK = 256 * 1024;
let copyBuffer: Buffer | undefined;

/** `length` bytes at `position`, read whole (a short file is an error, not a short buffer). */
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
