// Stage: serve. The answer pack's file (pack.ts): a private temp file of records (an answer's
// path, then its bytes), appended to and read by offset. One file may back several packs: a new
// snapshot's pack carries the old pack's records of unchanged store dirs over by offset instead
// of reading those answers again, so the file is counted by reference and closed when the last
// pack using it closes. Records are never rewritten: what a pack no longer uses is garbage,
// bounded by the pack starting a fresh file (pack.ts decides when).
//
// Created with O_EXCL in the temp directory and unlinked at once: nobody else can open it,
// nothing is left behind, and its pages are the kernel's page cache, not the process's RSS.

import { closeSync, constants, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Bytes one pack file holds at most (the index keeps offsets in 32 bits). */
export const MAX_BYTES = 1024 ** 3;

export class PackFile {
  /** Where the next record goes: every byte before it was written once and never changes. */
  private size = 0;
  private users = 1;

  private constructor(private readonly fd: number) {}

  /** A new private file, held by its caller; undefined when none can be made (no temp dir, no space). */
  static create(): PackFile | undefined {
    try {
      return new PackFile(openPackFile());
    } catch {
      return undefined;
    }
  }

  /** Bytes written so far, live or not. */
  get end(): number {
    return this.size;
  }

  /** One more pack uses the file. */
  retain(): this {
    this.users++;
    return this;
  }

  /** A pack no longer uses the file; the last one closes it. */
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
      return undefined; // a full temp disk: the caller keeps serving from the snapshot
    }
    this.size += record.length;
    return offset;
  }

  read(offset: number, length: number): Buffer {
    return readExactly(this.fd, offset, length);
  }
}

/** A private temp file: created exclusively, unlinked at once, open for read and write. */
function openPackFile(): number {
  const path = join(tmpdir(), `bootcfg-answers-${process.pid}-${randomBytes(8).toString('hex')}`);
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
  unlinkSync(path);
  return fd;
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
