// Where a tree is published: a local directory or an rclone remote (rclone's own syntax,
// `name:bucket/prefix` or `:backend:path`), behind one small interface so that publish.ts says
// the order of writes once for both. Paths given to a destination are relative to its root and
// come from bootcfg's own tree (checked names), never from a request.

import { LocalDestination } from './local.js';
import { RcloneDestination } from './rclone.js';

export interface PutOptions {
  dryRun: boolean;
  /** Cache-Control stored with each file, on backends that keep headers (object stores). */
  cacheControl?: string;
  /** Told how a long copy is going (bytes so far, rate, time left), every few seconds. */
  progress?: (line: string) => void;
}

export interface CopyOptions extends PutOptions {
  /** The files to copy, relative to the source directory. */
  files: readonly string[];
}

export interface CopyResult {
  /** Files written (or that would be, in a dry run). */
  copied: number;
  /** Files already there, the same. */
  skipped: number;
}

export interface Destination {
  /** How messages name it. */
  readonly description: string;
  /**
   * Copies files of a local directory (images) to `prefix`, skipping those already there of the
   * same size and modification time; all are there when it returns.
   */
  copy(localDir: string, prefix: string, options: CopyOptions): Promise<CopyResult>;
  /** Writes files (path → contents) under `prefix`, skipping those already there with the same contents. */
  put(prefix: string, files: ReadonlyMap<string, Buffer>, options: PutOptions): Promise<CopyResult>;
  /** Writes one small file whole (atomically where the backend can: a rename on a local disk). */
  writeFile(path: string, content: Buffer, cacheControl?: string): Promise<void>;
  /** A small file's contents, or undefined when there is none. */
  readFile(path: string): Promise<Buffer | undefined>;
  /** Names of the directories directly under `prefix` (none when it does not exist). */
  listDirs(prefix: string): Promise<string[]>;
  /** Every file under `prefix`, relative to it (none when it does not exist). */
  listFiles(prefix: string): Promise<string[]>;
  /** Deletes these files under `prefix`, all of them before it returns. */
  deleteFiles(prefix: string, files: readonly string[]): Promise<void>;
  /** Deletes `prefix` and everything under it. */
  deleteTree(prefix: string): Promise<void>;
}

/**
 * rclone's rule for what is a remote: a name before the first `:` with no `/` in it (or a
 * leading `:` for an on-the-fly backend). Anything else is a local path; `./a:b` stays local.
 */
export function isRemote(to: string): boolean {
  return /^:?[^/:]*:/.test(to) && !to.startsWith('.') && !to.startsWith('/');
}

export function destinationFor(to: string): Destination {
  return isRemote(to) ? new RcloneDestination(to) : new LocalDestination(to);
}
