// Reads a data directory from disk into memory, so that load, resolve and render can be pure
// functions of its contents. Only the parts bootcfg compiles are read (boot/, cloud/,
// templates/, profiles/, groups/, generic/, ignition/, and files/ for Butane's contents.local); dotfiles such as .git or .gitkeep are
// skipped.
//
// The data directory may be hostile (a config repo anyone can push to, a directory other users
// can write), so every walk and every read is bounded, and only regular files inside the tree
// are ever read: a symlink loop, a FIFO, /dev/zero, a hard link to /etc/shadow or a file swapped
// for a symlink while the build runs is an error naming the file, never a hang or a leak. The
// limits are the constants below; README ("Data layout") and docs/dist-layout.md ("What a build
// reads") state them.

import { closeSync, constants, fstatSync, lstatSync, opendirSync, openSync, readlinkSync, readSync, realpathSync, statSync, type Dir, type Stats } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ErrorList, LoadError, SourceError } from '../compile/errors.js';
import type { SourceFiles } from '../compile/load.js';

export const SOURCE_ROOTS = ['boot', 'cloud', 'templates', 'profiles', 'groups', 'generic', 'ignition', 'files'] as const;

/** Largest data file read (boot config, cloud config, template): 1 MiB. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Largest data directory read, all files together: 2 GiB (a 100k-machine fleet is ~100 MB). */
export const MAX_TOTAL_BYTES = 2 * 1024 ** 3;
/** Directory levels below the data directory (the layout needs 3: boot/mac/<mac>). */
export const MAX_DEPTH = 8;
/** Directory entries looked at in one walk (a 100k-machine fleet has ~200k). */
export const MAX_ENTRIES = 1_000_000;

export interface ReadOptions {
  /** Stops the walk and the reads (serve shutting down); the build then fails. */
  signal?: AbortSignal;
}

export async function readSource(dataPath: string, options: ReadOptions = {}): Promise<SourceFiles> {
  if (options.signal?.aborted) throw buildStopped();
  await assertDirectory(dataPath);
  const walk = await walkData(dataPath, options.signal);
  const files = await readFiles(walk, options.signal); // adds its problems to the walk's: all at once
  if (walk.errors.length > 0) throw new ErrorList(walk.errors);
  return files;
}

/**
 * Reads again only the given data-relative files, for an incremental build: each one's new
 * contents, or null when it is gone. The same checks as a full read apply on the open
 * descriptor (regular file, one name, size); undefined means the change cannot be read one
 * file at a time (a directory or a symlink on the way, a dotfile, a path outside the roots),
 * and the caller reads everything instead.
 */
export async function readChanged(dataPath: string, rels: readonly string[], options: ReadOptions = {}): Promise<Map<string, Buffer | null> | undefined> {
  if (options.signal?.aborted) throw buildStopped();
  const root = await realpath(dataPath).catch(() => undefined);
  if (root === undefined) return undefined;
  const files = new Map<string, Buffer | null>();
  const opener = new Opener(root);
  // What each directory on the way is, looked at once per call: a change reaching 25k groups
  // names groups/ 25k times. Plain sync calls, with a turn of the event loop every 256 files.
  const dirs = new Map<string, Stats | null | Error>();
  try {
    for (const [index, rel] of rels.entries()) {
      if (index % 256 === 255) await checkpoint(options.signal);
      const parts = rel.split('/');
      if (!(SOURCE_ROOTS as readonly string[]).includes(parts[0]!) || parts.length > MAX_DEPTH || parts.some((part) => part === '' || part.startsWith('.'))) return undefined;
      // Every directory on the way must be a plain directory: a symlink there is the walk's to judge.
      let info: Stats | null | Error = null;
      for (let i = 1; i <= parts.length; i++) {
        const path = join(root, ...parts.slice(0, i));
        const known = i < parts.length ? dirs.get(path) : undefined;
        info = known !== undefined ? known : lstatOrNull(path);
        if (i < parts.length) dirs.set(path, info);
        if (i < parts.length && info !== null && !(info instanceof Error) && !info.isDirectory()) return undefined;
        if (info === null || info instanceof Error) break;
      }
      if (info === null) {
        files.set(rel, null);
        continue;
      }
      if (info instanceof Error || !info.isFile()) return undefined;
      const read = readChecked({ rel, path: join(root, ...parts) }, opener);
      if (read instanceof LoadError) throw new ErrorList([read]);
      files.set(rel, read);
    }
  } finally {
    opener.close();
  }
  return files;
}

/**
 * The directories a build reads (real paths, each once, within the walk's bounds, loops cut):
 * what a watcher of the data directory needs to watch, found the way the build finds them.
 */
export async function dataDirectories(dataPath: string, options: ReadOptions = {}): Promise<string[]> {
  await assertDirectory(dataPath);
  return (await walkData(dataPath, options.signal)).dirs;
}

async function assertDirectory(dataPath: string): Promise<void> {
  const info = await stat(dataPath).catch((error: NodeJS.ErrnoException) => error);
  if (info instanceof Error) {
    if (info.code === 'ENOENT' || info.code === 'ENOTDIR') throw notADirectory(dataPath);
    throw fsError(info, '.', 'read the data directory'); // '.': the data directory itself
  }
  if (!info.isDirectory()) throw notADirectory(dataPath);
}

function notADirectory(dataPath: string): LoadError {
  return new LoadError(`data directory ${dataPath} does not exist or is not a directory`, {
    hint: 'pass --data-path DIR (or set BOOTCFG_DATA_PATH) to the folder holding boot/ and cloud/',
  });
}

// ---- the walk: which files to read ---------------------------------------------------------

/** A data file found by the walk: its data-relative name and the path to open. */
interface Found {
  rel: string;
  /** The file itself, or for a symlink the real path it was checked to resolve to. */
  path: string;
}

interface Walk {
  /** The data directory's real path: everything read must be inside it. */
  root: string;
  files: Found[];
  /** The real path of every directory listed. */
  dirs: string[];
  errors: LoadError[];
  /** Every directory walked, by dev:ino: each is walked once. */
  seen: Map<string, Walked>;
  entries: number;
  signal?: AbortSignal;
}

/** A directory walked: its data-relative name, and the symlink it was reached through, if any. */
interface Walked {
  rel: string;
  via?: string;
}

async function walkData(dataPath: string, signal?: AbortSignal): Promise<Walk> {
  const [root, info] = await Promise.all([realpath(dataPath), stat(dataPath)]).catch((error: NodeJS.ErrnoException) => {
    throw fsError(error, '.', 'read the data directory');
  });
  const walk: Walk = { root, files: [], dirs: [], errors: [], seen: new Map(), entries: 0, signal };
  walk.seen.set(identity(info), { rel: '.' }); // a link back to the data directory is a loop
  for (const name of SOURCE_ROOTS) {
    const path = join(root, name);
    const info = await lstat(path).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : error));
    if (info instanceof Error) walk.errors.push(fsError(info, name, 'read'));
    else if (info) await visit({ path, rel: name, depth: 1 }, info, walk);
  }
  return walk;
}

/** Where the walk is: the path to list, its data-relative name, its depth, the link it came through. */
interface At {
  path: string;
  rel: string;
  depth: number;
  via?: string;
}

/** One entry of the tree: a file is noted, a directory walked, a symlink checked and followed. */
async function visit(at: At, info: EntryType, walk: Walk): Promise<void> {
  if (info.isSymbolicLink()) return visitLink(at, walk);
  if (info.isFile()) walk.files.push({ rel: at.rel, path: at.path });
  else if (info.isDirectory()) await walkDirectory(at, undefined, walk);
  else walk.errors.push(notRegular(at.rel, info));
}

/** The part of fs.Stats and fs.Dirent that says what an entry is. */
type EntryType = Pick<Stats, 'isFile' | 'isDirectory' | 'isSymbolicLink' | 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice'>;

/**
 * A symlink may point within the data directory only (a config repo must not be able to
 * publish /etc/shadow as somebody's cloud config), and at a regular file or a directory.
 */
async function visitLink(at: At, walk: Walk): Promise<void> {
  const { rel } = at;
  const target = await realpath(at.path).catch((error: NodeJS.ErrnoException) => error);
  if (target instanceof Error) {
    if (target.code === 'ENOENT') walk.errors.push(new LoadError('broken symlink', { file: rel, hint: 'point it at a file that exists, or remove it' }));
    else if (target.code === 'ELOOP') walk.errors.push(new LoadError('symlink loop (the link resolves back to itself)', { file: rel, hint: 'point it at a file, or remove it' }));
    else walk.errors.push(fsError(target, rel, 'follow the symlink'));
    return;
  }
  if (!inside(walk.root, target)) {
    walk.errors.push(new LoadError(`symlink points outside the data directory (to ${target})`, { file: rel, hint: 'copy the file into the data directory instead' }));
    return;
  }
  const info = await stat(target).catch((error: NodeJS.ErrnoException) => error);
  if (info instanceof Error) walk.errors.push(fsError(info, rel, 'follow the symlink'));
  else if (info.isFile()) walk.files.push({ rel, path: target });
  else if (info.isDirectory()) await walkDirectory({ ...at, path: target, via: rel }, info, walk);
  else walk.errors.push(notRegular(rel, info, target));
}

/**
 * Lists a directory, at most once per walk and at most MAX_DEPTH levels down. Reaching a
 * directory a second time means a symlink loops or aliases a directory: that link is the error.
 */
async function walkDirectory(at: At, known: Stats | undefined, walk: Walk): Promise<void> {
  const { rel } = at;
  const info = known ?? (await stat(at.path).catch((error: NodeJS.ErrnoException) => error));
  if (info instanceof Error) return void walk.errors.push(fsError(info, rel, 'read the directory'));
  const key = identity(info);
  const earlier = walk.seen.get(key);
  if (earlier !== undefined) return void walk.errors.push(readTwice(at, earlier));
  if (at.depth > MAX_DEPTH) {
    walk.errors.push(new LoadError(`directories nested deeper than ${MAX_DEPTH} levels`, { file: rel, hint: 'the data layout is a few levels deep (boot/mac/<mac>): move the files up' }));
    return;
  }
  walk.seen.set(key, { rel, via: at.via });
  walk.dirs.push(at.path);
  // Listed with sync calls, a batch of entries per getdents, with a turn of the event loop every
  // 1,024 entries: a libuv round trip per batch made the walk of a 100k-machine tree 3× slower.
  let dir: Dir;
  try {
    dir = opendirSync(at.path, { bufferSize: 1024 });
  } catch (error) {
    return void walk.errors.push(fsError(error as NodeJS.ErrnoException, rel, 'read the directory'));
  }
  try {
    for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
      if (++walk.entries > MAX_ENTRIES) throw tooManyEntries(rel);
      if (walk.entries % 1024 === 0) await checkpoint(walk.signal);
      if (entry.name.startsWith('.')) continue;
      const next = { path: `${at.path}${sep}${entry.name}`, rel: `${rel}/${entry.name}`, depth: at.depth + 1, via: at.via };
      if (entry.isFile()) walk.files.push(next); // most entries: no await per file
      else await visit(next, await typeOf(entry, at.path), walk);
    }
  } catch (error) {
    if (error instanceof LoadError || error instanceof SourceError) throw error;
    walk.errors.push(fsError(error as NodeJS.ErrnoException, rel, 'read the directory'));
  } finally {
    dir.closeSync();
  }
}

/** A directory reached twice: only a symlink can do that, so the error names the link. */
function readTwice(at: At, earlier: Walked): LoadError {
  const link = at.via ?? earlier.via ?? at.rel;
  const loop = earlier.rel === '.' || at.rel.startsWith(`${earlier.rel}/`);
  const message = loop
    ? `symlink loop: it leads back to ${earlier.rel === '.' ? 'the data directory' : earlier.rel}`
    : `symlink to a directory that is read twice (as ${[earlier.rel, at.rel].sort().join(' and as ')})`;
  return new LoadError(message, { file: link, hint: 'a directory is read once: remove the link, or link the files in it one by one' });
}

/** A Dirent says what it is on most file systems; on the rest (DT_UNKNOWN), ask lstat. */
async function typeOf(entry: EntryType & { name: string }, dir: string): Promise<EntryType> {
  const known = entry.isFile() || entry.isDirectory() || entry.isSymbolicLink() || entry.isFIFO() || entry.isSocket() || entry.isCharacterDevice() || entry.isBlockDevice();
  return known ? entry : lstat(join(dir, entry.name));
}

function tooManyEntries(rel: string): LoadError {
  return new LoadError(`the data directory holds more than ${MAX_ENTRIES.toLocaleString('en')} entries (stopped in ${rel})`, {
    hint: `bootcfg reads ${SOURCE_ROOTS.join('/, ')}/ only: keep other files out of them`,
  });
}

/** lstat, with a missing entry (or a file where a directory was) as null. */
function lstatOrNull(path: string): Stats | null | Error {
  try {
    return lstatSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? null : (error as Error);
  }
}

/** Yields to the event loop (a process that also serves keeps answering) and honours a stop. */
async function checkpoint(signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (signal?.aborted) throw buildStopped();
}

/** A build given up because the process is stopping (serve got SIGTERM). */
export function buildStopped(): SourceError {
  return new SourceError('build stopped: bootcfg is shutting down', { hint: 'the last good build stays live' });
}

// ---- the reads: what each file holds ---------------------------------------------------------

/**
 * Reads every file the walk found, checking what was opened rather than what the walk saw: the
 * tree can change in between. Plain sync calls in batches: for many small files they beat a
 * libuv round trip per call several times over, and the yields keep a serving process answering.
 * A large tree is read on two threads (readInWorker): this one reads the first half while a
 * worker reads the second, and the result is what one thread reading in order would give: the
 * same files in the same order, the same problems, the same stop at the total's bound.
 */
async function readFiles(walk: Walk, signal?: AbortSignal): Promise<SourceFiles> {
  const files = new Map<string, Buffer>();
  const split = walk.files.length >= READ_THREAD_MIN ? Math.ceil(walk.files.length / 2) : walk.files.length;
  const total = new BigInt64Array(new SharedArrayBuffer(8)); // bytes read by both threads, for the bound
  const later = split < walk.files.length ? readInWorker(walk.root, walk.files.slice(split), total) : undefined;
  try {
    const here = await readRange(walk.root, walk.files, 0, split, total, signal);
    let sum = 0;
    // Takes one thread's reads of walk.files from `first` on, in order. Either thread stops
    // after the file that took both threads' bytes past the bound; one that stopped short is that.
    const take = (first: number, reads: (Buffer | LoadError)[], count: number): void => {
      for (const [i, read] of reads.entries()) {
        const found = walk.files[first + i]!;
        if (read instanceof LoadError) {
          walk.errors.push(read);
          continue;
        }
        sum += read.length;
        if (sum > MAX_TOTAL_BYTES || (reads.length < count && i === reads.length - 1)) throw overTotal(found.rel);
        files.set(found.rel, read);
      }
    };
    take(0, here, split);
    if (later === undefined) return files;
    // The worker's half; a worker that could not start or failed leaves it to this thread.
    let there = await later.result;
    if (there === undefined) {
      Atomics.store(total, 0, BigInt(sum)); // the bytes the failed worker counted are not here
      there = await readRange(walk.root, walk.files, split, walk.files.length, total, signal);
    }
    take(split, there, walk.files.length - split);
    return files;
  } finally {
    later?.stop();
  }
}

/** Below this many data files one thread reads them all: a worker takes ~40 ms to start. */
export const READ_THREAD_MIN = 16_384;

/**
 * Reads found[from, to) in order, each one's contents or problem. Stops early, after the file
 * that takes `total` (both threads' bytes) past MAX_TOTAL_BYTES: the caller then throws.
 */
async function readRange(root: string, found: readonly Found[], from: number, to: number, total: BigInt64Array, signal?: AbortSignal): Promise<(Buffer | LoadError)[]> {
  const reads: (Buffer | LoadError)[] = [];
  const opener = new Opener(root);
  try {
    for (let i = from; i < to; i++) {
      if (i % 256 === 255) await checkpoint(signal);
      const read = readChecked(found[i]!, opener);
      reads.push(read);
      if (!(read instanceof LoadError) && Atomics.add(total, 0, BigInt(read.length)) + BigInt(read.length) > MAX_TOTAL_BYTES) break;
    }
  } finally {
    opener.close();
  }
  return reads;
}

/** What the read worker is sent: the tree's real path, the files to read, the shared byte count. */
export interface ReadRequest {
  root: string;
  found: Found[];
  total: BigInt64Array;
}

/**
 * What it answers: the contents packed in one transferred buffer (`ends[i]` is where file i
 * ends in it; a file with a problem ends where the one before did), and the problems by index.
 */
export interface ReadReply {
  ends: Uint32Array;
  bytes: Uint8Array;
  problems: [number, { message: string; hint?: string }][];
}

/** The worker's side: reads its files as this thread would, and packs them (read-worker.ts). */
export async function readPacked({ root, found, total }: ReadRequest): Promise<ReadReply> {
  const reads = await readRange(root, found, 0, found.length, total);
  let size = 0;
  for (const read of reads) if (!(read instanceof LoadError)) size += read.length;
  const bytes = new Uint8Array(size);
  const ends = new Uint32Array(reads.length);
  const problems: ReadReply['problems'] = [];
  let at = 0;
  for (const [i, read] of reads.entries()) {
    if (read instanceof LoadError) problems.push([i, { message: read.message, hint: read.hint }]);
    else {
      bytes.set(read, at);
      at += read.length;
    }
    ends[i] = at;
  }
  return { ends, bytes, problems };
}

const READ_WORKER = fileURLToPath(new URL('./read-worker.js', import.meta.url));

/**
 * Reads the given files on a worker thread. `result` is undefined when the worker could not
 * start, failed or exited without answering (the caller reads them itself); `stop` ends it.
 */
function readInWorker(root: string, found: Found[], total: BigInt64Array): { result: Promise<(Buffer | LoadError)[] | undefined>; stop: () => void } {
  let worker: Worker;
  try {
    worker = new Worker(READ_WORKER);
  } catch {
    return { result: Promise.resolve(undefined), stop: () => {} };
  }
  const result = new Promise<(Buffer | LoadError)[] | undefined>((resolve) => {
    worker.once('message', ({ ends, bytes, problems }: ReadReply) => {
      const reads: (Buffer | LoadError)[] = [];
      const problem = new Map(problems);
      let start = 0;
      for (const [i, end] of ends.entries()) {
        const sent = problem.get(i);
        reads.push(sent ? new LoadError(sent.message, { file: found[i]!.rel, hint: sent.hint }) : Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start));
        start = end;
      }
      resolve(reads);
    });
    worker.once('error', () => resolve(undefined));
    worker.once('exit', () => resolve(undefined));
  });
  worker.postMessage({ root, found, total } satisfies ReadRequest);
  return { result, stop: () => void worker.terminate() };
}

// O_NOFOLLOW: a path the walk found to be a file must still be one (not a symlink swapped in).
// O_NONBLOCK: opening a FIFO swapped in must not wait for a writer; fstat then refuses it.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** One file: opened without following a final symlink, then checked on the open descriptor. */
function readChecked(found: Found, opener: Opener): Buffer | LoadError {
  let fd: number;
  try {
    const path = opener.pathOf(found.path);
    if (path === undefined) return changed(found.rel);
    fd = openSync(path, OPEN_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENXIO') return changed(found.rel);
    return fsError(error as NodeJS.ErrnoException, found.rel, 'read the file');
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) return notRegular(found.rel, info);
    if (info.nlink > 1) return hardLinked(found.rel, info.nlink);
    if (info.size > MAX_FILE_BYTES) return tooLarge(found.rel, info.size);
    if (!opener.pinned && !stillInside(found.path, info, opener.root)) return changed(found.rel);
    return readBounded(fd, info.size) ?? tooLarge(found.rel, MAX_FILE_BYTES + 1);
  } catch (error) {
    return fsError(error as NodeJS.ErrnoException, found.rel, 'read the file');
  } finally {
    closeSync(fd);
  }
}

/**
 * At most MAX_FILE_BYTES; undefined if the file holds more (it may grow after fstat). A read
 * that returns less than asked for is the end of a regular file: one read for most files.
 */
function readBounded(fd: number, size: number): Buffer | undefined {
  let buffer = Buffer.allocUnsafe(Math.min(size, MAX_FILE_BYTES) + 1);
  let length = 0;
  for (;;) {
    const n = readSync(fd, buffer, length, buffer.length - length, null);
    length += n;
    if (length > MAX_FILE_BYTES) return undefined;
    if (length < buffer.length) return buffer.subarray(0, length);
    const bigger = Buffer.allocUnsafe(Math.min(buffer.length * 2, MAX_FILE_BYTES + 1));
    buffer.copy(bigger, 0, 0, length);
    buffer = bigger;
  }
}

/**
 * Opens files through their directory pinned by a descriptor, as openat(2) would: the walk
 * checked each path, but a directory on the way may have become a symlink out of the tree since.
 * The directory is opened once (without following a final link), the kernel's name for that
 * descriptor (/proc/self/fd) must be inside the tree, and its files are opened as
 * /proc/self/fd/<dir>/<name>, which resolves through that very directory whatever its path
 * leads to now. Without /proc (a chroot), each file's path is checked after the open instead.
 */
class Opener {
  /** Files are opened through a checked directory descriptor (false: /proc is missing). */
  pinned = true;
  private dir: string | undefined;
  private fd: number | undefined;
  private inside = false;

  constructor(readonly root: string) {}

  /** The path to open a walked file by; undefined when its directory has left the tree. */
  pathOf(path: string): string | undefined {
    if (!this.pinned) return path;
    const dir = dirname(path);
    if (dir !== this.dir) this.pin(dir);
    if (!this.pinned) return path;
    return this.inside ? `/proc/self/fd/${this.fd}/${basename(path)}` : undefined;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.dir = undefined;
  }

  private pin(dir: string): void {
    this.close();
    this.dir = dir;
    this.inside = false;
    this.fd = openSync(dir, DIRECTORY_FLAGS); // ELOOP, ENOTDIR: swapped for a link; the file says "changed"
    let real: string;
    try {
      real = readlinkSync(`/proc/self/fd/${this.fd}`);
    } catch {
      this.pinned = false; // no /proc here: fall back to checking each file (stillInside)
      this.close();
      return;
    }
    this.inside = inside(this.root, real);
  }
}

/** Without /proc: the checked path must still resolve inside the tree, to this very file. */
function stillInside(path: string, info: Stats, root: string): boolean {
  try {
    const real = realpathSync.native(path);
    const now = statSync(real);
    return inside(root, real) && now.dev === info.dev && now.ino === info.ino;
  } catch {
    return false;
  }
}

// ---- errors --------------------------------------------------------------------------------

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep);
}

function identity(info: Stats): string {
  return `${info.dev}:${info.ino}`;
}

/** "a FIFO", "a character device", …: what a non-regular file is, for the message. */
function kindOf(info: EntryType): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isDirectory()) return 'a directory';
  return 'not a regular file';
}

function notRegular(rel: string, info: EntryType, target?: string): LoadError {
  const what = kindOf(info);
  return new LoadError(`${what === 'not a regular file' ? what : `not a regular file but ${what}`}${target ? ` (the symlink leads to ${target})` : ''}`, {
    file: rel,
    hint: 'bootcfg reads regular files only (or symlinks to them inside the data directory): replace it with a file, or remove it',
  });
}

function hardLinked(rel: string, links: number): LoadError {
  return new LoadError(`a hard link (${links} names for one file): it may be a file from outside the data directory`, {
    file: rel,
    hint: 'replace it with a copy (cp, not cp -l or cp -al) or a symlink inside the data directory; git never makes hard links',
  });
}

function overTotal(rel: string): LoadError {
  return new LoadError(`the data directory holds more than ${MAX_TOTAL_BYTES / 1024 ** 3} GiB of configs (stopped at ${rel})`, { hint: `keep large files out of ${SOURCE_ROOTS.join('/, ')}/` });
}

function tooLarge(rel: string, size: number): LoadError {
  return new LoadError(`file too large (${size.toLocaleString('en')} bytes; a data file may hold at most ${MAX_FILE_BYTES / 1024 / 1024} MiB)`, {
    file: rel,
    hint: 'boot configs, cloud configs and templates are small text files: is this the right file?',
  });
}

function changed(rel: string): LoadError {
  return new LoadError('changed while it was being read (replaced, removed, or swapped for a link out of the data directory)', {
    file: rel,
    hint: 'build again once the data directory is settled; write files beside and rename them into place',
  });
}

const REASONS: Record<string, [string, string]> = {
  EACCES: ['permission denied', 'make it readable by the user bootcfg runs as'],
  EPERM: ['permission denied', 'make it readable by the user bootcfg runs as'],
  ENAMETOOLONG: ['path too long', 'shorten the names on the way to it (a path may hold at most 4096 bytes, a name 255)'],
  ELOOP: ['too many levels of symbolic links', 'point the links at files, not at other links in a chain'],
  EMFILE: ['too many open files', 'raise the open-file limit (ulimit -n, LimitNOFILE=)'],
  ENFILE: ['too many open files on this system', 'raise fs.file-max, or stop other processes holding files open'],
  EIO: ['input/output error', 'check the disk (dmesg)'],
};

/** A system error on a data file, as a LoadError naming the file with a hint (never a stack). */
export function fsError(error: NodeJS.ErrnoException, file: string, doing: string): LoadError {
  if (!(error instanceof Error) || typeof error.code !== 'string') throw error;
  const { reason, hint } = systemReason(error as NodeJS.ErrnoException & { code: string });
  return new LoadError(`cannot ${doing}: ${reason} (${error.code})`, { file, hint, cause: error });
}

/** What a system error means, in words, and what to do about it. */
export function systemReason(error: NodeJS.ErrnoException & { code: string }): { reason: string; hint: string } {
  const known = REASONS[error.code];
  if (known) return { reason: known[0], hint: known[1] };
  return { reason: error.message.replace(/^\w+: /, '').replace(/, \w+ '.*'$/, ''), hint: 'check that the path exists and is readable' };
}
