// Writes one commit's tree into a directory with every file exactly as committed, so one commit
// serves the same bytes on every host. It uses plumbing only — `git ls-tree -r -z` lists the
// entries, one `git cat-file --batch` streams the blobs — and so nothing git would apply on a
// checkout applies here: no `.gitattributes` (eol=crlf, ident, working-tree-encoding, filter
// drivers, which would run a program the operator's config names), no core.autocrlf from the
// operator's global or system config.
//
// What cannot be served as committed is refused, naming every path, when it lies where bootcfg
// compiles (the source roots, and anything a symlink there leads to): a Git LFS pointer (the
// real file is not in the repo) and a submodule (bootcfg never fetches one). Symlinks are kept
// when they stay inside the tree and refused when they leave it. Elsewhere in the repo (docs,
// CI files) LFS pointers and submodules are left alone.

import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, open, rmdir, symlink, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { ErrorList, SourceError } from '../compile/errors.js';

/** Starts `git <args>` in the repository being exported. */
export type GitSpawn = (args: string[]) => ChildProcessWithoutNullStreams;

/** The first bytes of every Git LFS pointer file (git-lfs spec v1). */
export const LFS_SIGNATURE = Buffer.from('version https://git-lfs.github.com/spec/v1');

/** A listing larger than this is refused: roughly a million files, far beyond any config repo. */
const MAX_LISTING_BYTES = 256 * 1024 * 1024;

/** Longer symlink targets are refused (Linux's own limit is 4095 bytes). */
const MAX_LINK_BYTES = 4096;

interface Entry {
  mode: string;
  type: string;
  sha: string;
  path: string;
}

/** What the blob stream found besides the files it wrote. */
interface Blobs {
  /** Symlink path → target. */
  links: Map<string, string>;
  /** Paths of blobs that are Git LFS pointers. */
  pointers: string[];
}

/**
 * Export `commit` into the empty directory `dir`; `roots` are the directories bootcfg compiles.
 * Returns how many symlinks the tree holds (an update in place, applyChanges, needs none).
 */
export async function exportTree(git: GitSpawn, commit: string, dir: string, roots: readonly string[]): Promise<{ links: number }> {
  const entries = parseListing(await listing(git, commit), commit);
  const blobs = await writeBlobs(git, entries.filter((e) => e.type === 'blob'), dir, commit);
  const compiled = compiledPrefixes(blobs.links, roots);
  const problems = [
    ...[...blobs.links].map(([path, target]) => leavingLink(path, target, commit)),
    ...blobs.pointers.filter((path) => under(path, compiled)).map((path) => lfsPointer(path, commit)),
    ...entries.filter((e) => e.type === 'commit' && under(e.path, compiled)).map((e) => submodule(e.path, commit)),
  ].filter((problem): problem is SourceError => problem !== undefined);
  if (problems.length > 0) throw problems.length === 1 ? problems[0]! : new ErrorList(problems);
  // Links last: no file above was written through one.
  for (const [path, target] of blobs.links) {
    await writing(path, commit, async () => {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await symlink(target, join(dir, path));
    });
  }
  return { links: blobs.links.size };
}

/** One path that differs between two commits: its modes ('000000' when absent) and new blob. */
export interface TreeChange {
  path: string;
  oldMode: string;
  mode: string;
  sha: string;
}

/** The modes applyChanges writes: plain and executable files (and '000000', absent). */
export const REGULAR_MODES: ReadonlySet<string> = new Set(['100644', '100755', '000000']);

/**
 * The paths that differ between two commits (`git diff-tree -r -z --no-renames`: a rename is a
 * delete and an add), or undefined when more than `max` changed: a full export is then cheaper.
 */
export async function treeChanges(git: GitSpawn, from: string, to: string, max: number): Promise<TreeChange[] | undefined> {
  // A record is ~100 bytes plus its path (at most 4096): the cap stops reading well before `max` long ones.
  const text = await readOutput(git, ['diff-tree', '-r', '-z', '--no-renames', '--no-commit-id', '--raw', from, to, '--'], max * 400, `cannot compare commits ${from} and ${to}`);
  if (text === undefined) return undefined;
  const fields = splitNul(text);
  if (fields.length / 2 > max) return undefined;
  const changes: TreeChange[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const match = /^:(\d{6}) (\d{6}) [0-9a-f]{40,64} ([0-9a-f]{40,64}) [ADMT]$/.exec(fields[i]!.toString('latin1'));
    if (!match) throw new SourceError(`cannot read the changes between commits ${from} and ${to}: git said ${JSON.stringify(fields[i]!.toString('latin1').slice(0, 200))}`);
    changes.push({ path: decodePath(fields[i + 1]!, to), oldMode: match[1]!, mode: match[2]!, sha: match[3]! });
  }
  if (fields.length % 2 !== 0) throw new SourceError(`cannot read the changes between commits ${from} and ${to}`);
  return changes;
}

/**
 * Bring `dir`, an export of the commit the changes start from that holds no symlink, to
 * `commit`: removed and changed files are deleted (and directories left empty), then changed
 * and added ones written as exportTree writes them, with its refusals. Only REGULAR_MODES:
 * a symlink or submodule on either side is the caller's to send to a full export.
 */
export async function applyChanges(git: GitSpawn, changes: readonly TreeChange[], commit: string, dir: string, roots: readonly string[]): Promise<void> {
  for (const change of changes) {
    checkPath(change.path, commit);
    if (!REGULAR_MODES.has(change.mode) || !REGULAR_MODES.has(change.oldMode)) throw new Error(`bug: ${change.path} is not a regular file in a change applied in place`);
  }
  for (const change of changes) {
    if (change.oldMode !== '000000') await writing(change.path, commit, () => unlink(join(dir, change.path)));
  }
  for (const change of changes) if (change.mode === '000000') await removeEmptyParents(dir, change.path);
  const entries = changes.filter((change) => change.mode !== '000000').map(({ path, mode, sha }) => ({ path, mode, sha, type: 'blob' }));
  const blobs = await writeBlobs(git, entries, dir, commit);
  const problems = blobs.pointers.filter((path) => under(path, new Set(roots))).map((path) => lfsPointer(path, commit));
  if (problems.length > 0) throw problems.length === 1 ? problems[0]! : new ErrorList(problems);
}

/** A checkout leaves no empty directory behind a deleted file; a full export has none either. */
async function removeEmptyParents(dir: string, path: string): Promise<void> {
  for (let at = path.lastIndexOf('/'); at > 0; at = path.lastIndexOf('/', at - 1)) {
    try {
      await rmdir(join(dir, path.slice(0, at)));
    } catch {
      return; // not empty (or already gone): the directories above are not empty either
    }
  }
}

/** A file-system failure while writing a path of the tree, as a SourceError naming it. */
async function writing<T>(path: string, commit: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new SourceError(`cannot write ${path} of commit ${commit.slice(0, 12)}: ${code}`, { file: path, hint: 'a path may be repeated, or be both a file and a directory, in a tree git did not make; or the cache disk is full', cause: error });
  }
}

/** `git ls-tree -r -z` of the commit, as bytes (paths need not be valid in any encoding). */
async function listing(git: GitSpawn, commit: string): Promise<Buffer> {
  const text = await readOutput(git, ['ls-tree', '-r', '-z', '--full-tree', commit, '--'], MAX_LISTING_BYTES, `cannot list commit ${commit}`);
  if (text === undefined) {
    throw new SourceError(`commit ${commit.slice(0, 12)} lists more than ${MAX_LISTING_BYTES / 1024 / 1024} MiB of files`, { hint: 'a config repo this large is not supported; keep boot configs in a repo of their own' });
  }
  return text;
}

/** All of `git <args>`'s output, or undefined (git killed) once it passes `cap` bytes. */
async function readOutput(git: GitSpawn, args: string[], cap: number, failure: string): Promise<Buffer | undefined> {
  const child = git(args);
  child.stdin.end();
  const chunks: Buffer[] = [];
  let size = 0;
  const stderr = collectStderr(child);
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > cap) {
      child.kill('SIGKILL');
      return undefined;
    }
    chunks.push(chunk);
  }
  await exited(child, failure, stderr);
  return Buffer.concat(chunks);
}

/** NUL-terminated records (a trailing NUL or none). */
function splitNul(text: Buffer): Buffer[] {
  const fields: Buffer[] = [];
  for (let start = 0; start < text.length;) {
    const end = text.indexOf(0, start);
    fields.push(text.subarray(start, end < 0 ? text.length : end));
    start = end < 0 ? text.length : end + 1;
  }
  return fields;
}

function parseListing(text: Buffer, commit: string): Entry[] {
  const entries: Entry[] = [];
  for (const raw of splitNul(text)) {
    const tab = raw.indexOf(9);
    const [mode = '', type = '', sha = ''] = raw.subarray(0, tab).toString('latin1').split(' ');
    if (tab < 0 || !/^[0-9a-f]{40,64}$/.test(sha)) throw new SourceError(`cannot read the listing of commit ${commit}`);
    const path = decodePath(raw.subarray(tab + 1), commit);
    checkPath(path, commit);
    entries.push({ mode, type, sha, path });
  }
  return entries;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodePath(raw: Buffer, commit: string): string {
  try {
    return utf8.decode(raw);
  } catch {
    throw new SourceError(`a path in commit ${commit.slice(0, 12)} is not valid UTF-8: ${JSON.stringify(raw.toString('latin1'))}`, { hint: 'rename the file' });
  }
}

/** Git refuses such paths when it checks out; a crafted tree object may still hold them. */
function checkPath(path: string, commit: string): void {
  if (path.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new SourceError(`unsafe path in commit ${commit.slice(0, 12)}: ${JSON.stringify(path)}`, { hint: 'the commit was not made by git; rewrite it' });
  }
}

/**
 * Stream every blob through one `git cat-file --batch`. Small files are written a few at a time
 * while git goes on (one await per file would make a 10k-file tree three times slower than
 * checkout-index); large ones are written as they arrive, so memory stays bounded whatever their
 * size. Symlink targets are kept, to be checked before any link is made.
 */
async function writeBlobs(git: GitSpawn, entries: Entry[], dir: string, commit: string): Promise<Blobs> {
  const child = git(['cat-file', '--batch']);
  const stderr = collectStderr(child);
  child.stdin.on('error', () => undefined); // git gone early: reported by exited() below
  child.stdin.end(entries.map((e) => `${e.sha}\n`).join(''));
  const reader = new BatchReader(entries, new TreeWriter(dir, commit), commit);
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) await reader.push(chunk);
    await reader.finish();
  } catch (error) {
    child.kill('SIGKILL');
    await reader.close();
    throw error;
  }
  await exited(child, `cannot read the files of commit ${commit}`, stderr);
  return { links: reader.links, pointers: reader.pointers };
}

/** Blobs up to this size are held whole and written in one call; larger ones are streamed. */
const SMALL_BLOB = 1024 * 1024;

/** Writes in flight at once: enough to keep libuv's thread pool busy, memory <= this x SMALL_BLOB. */
const PARALLEL_WRITES = 16;

/** Writes the files of one tree: each directory made once, several small files at a time. */
class TreeWriter {
  private readonly dirs = new Map<string, Promise<unknown>>();
  private readonly running = new Set<Promise<void>>();
  private failure: unknown;

  constructor(private readonly dir: string, private readonly commit: string) {}

  /** Queue a whole file; waits only while PARALLEL_WRITES are in flight. */
  async file(entry: Entry, content: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    const task = this.write(entry, (path, mode) => writeFile(path, content, { flag: 'wx', mode }))
      .catch((error: unknown) => void (this.failure ??= error))
      .finally(() => this.running.delete(task));
    this.running.add(task);
    if (this.running.size >= PARALLEL_WRITES) await Promise.race(this.running);
  }

  /** Open a large file for streaming. */
  open(entry: Entry): Promise<FileHandle> {
    return this.write(entry, (path, mode) => open(path, 'wx', mode));
  }

  /** Every queued file is written; the first failure, if any, is thrown. */
  async drain(): Promise<void> {
    await Promise.all(this.running);
    if (this.failure) throw this.failure;
  }

  // "wx": never through an existing file or link, never twice (a crafted tree may repeat a path).
  private write<T>(entry: Entry, action: (path: string, mode: number) => Promise<T>): Promise<T> {
    const path = join(this.dir, entry.path);
    return writing(entry.path, this.commit, async () => {
      await this.makeDir(dirname(path));
      return action(path, entry.mode === '100755' ? 0o755 : 0o644);
    });
  }

  private makeDir(dir: string): Promise<unknown> {
    let made = this.dirs.get(dir);
    if (!made) this.dirs.set(dir, (made = mkdir(dir, { recursive: true })));
    return made;
  }
}

/** Parses `<sha> blob <size>\n<bytes>\n`, one per entry, in the order they were asked for. */
class BatchReader {
  readonly links = new Map<string, string>();
  readonly pointers: string[] = [];
  private next = 0;
  private header: Buffer[] = [];
  private remaining = -1; // -1: reading a header; else bytes of content left, then one "\n"
  private entry: Entry | undefined;
  /** The blob so far (small files and links); a large file goes to `file` instead. */
  private pieces: Buffer[] = [];
  private file: FileHandle | undefined;
  /** The first bytes of a large file, to tell an LFS pointer. */
  private head = Buffer.alloc(0);

  constructor(private readonly entries: Entry[], private readonly writer: TreeWriter, private readonly commit: string) {}

  async push(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.remaining < 0) offset = await this.readHeader(chunk, offset);
      else if (this.remaining > 0) offset = await this.readBody(chunk, offset);
      else offset = await this.endBlob(chunk, offset);
    }
  }

  /** Every entry asked for was read to its end and written. */
  async finish(): Promise<void> {
    if (this.next !== this.entries.length || this.remaining >= 0) throw new SourceError(`git stopped before the end of commit ${this.commit}`);
    await this.writer.drain();
  }

  async close(): Promise<void> {
    await this.file?.close().catch(() => undefined);
    this.file = undefined;
    await this.writer.drain().catch(() => undefined);
  }

  private async readHeader(chunk: Buffer, offset: number): Promise<number> {
    const newline = chunk.indexOf(10, offset);
    this.header.push(chunk.subarray(offset, newline < 0 ? chunk.length : newline));
    if (newline < 0) return chunk.length;
    const header = Buffer.concat(this.header).toString('latin1');
    this.header = [];
    const entry = this.entries[this.next++];
    const match = /^([0-9a-f]+) blob (\d+)$/.exec(header);
    if (!entry || !match || match[1] !== entry.sha) throw new SourceError(`cannot read ${entry?.path ?? 'a file'} of commit ${this.commit}: git said ${JSON.stringify(header)}`);
    await this.startBlob(entry, Number(match[2]));
    return newline + 1;
  }

  private async startBlob(entry: Entry, size: number): Promise<void> {
    this.entry = entry;
    this.remaining = size;
    this.pieces = [];
    this.head = Buffer.alloc(0);
    if (entry.mode === '120000' && size > MAX_LINK_BYTES) throw new SourceError(`symlink target longer than ${MAX_LINK_BYTES} bytes: ${entry.path}`, { file: entry.path });
    if (entry.mode !== '120000' && size > SMALL_BLOB) this.file = await this.writer.open(entry);
  }

  private async readBody(chunk: Buffer, offset: number): Promise<number> {
    const piece = chunk.subarray(offset, offset + Math.min(this.remaining, chunk.length - offset));
    this.remaining -= piece.length;
    if (!this.file) this.pieces.push(piece);
    else {
      if (this.head.length < LFS_SIGNATURE.length) this.head = Buffer.concat([this.head, piece.subarray(0, LFS_SIGNATURE.length - this.head.length)]);
      await this.file.write(piece);
    }
    return offset + piece.length;
  }

  /** The "\n" after the content: the blob is complete. */
  private async endBlob(chunk: Buffer, offset: number): Promise<number> {
    if (chunk[offset] !== 10) throw new SourceError(`cannot read the files of commit ${this.commit}: unexpected output from git`);
    const entry = this.entry!;
    this.remaining = -1;
    if (entry.mode === '120000') {
      this.links.set(entry.path, Buffer.concat(this.pieces).toString('utf8'));
    } else if (this.file) {
      await this.file.close();
      this.file = undefined;
      if (this.head.equals(LFS_SIGNATURE)) this.pointers.push(entry.path);
    } else {
      const content = Buffer.concat(this.pieces);
      if (content.subarray(0, LFS_SIGNATURE.length).equals(LFS_SIGNATURE)) this.pointers.push(entry.path);
      await this.writer.file(entry, content);
    }
    this.pieces = [];
    return offset + 1;
  }
}

/**
 * The paths bootcfg reads: the roots, and (transitively) where symlinks inside them lead, in
 * the tree's own terms ("" stands for the whole tree). Bounded: each round adds a new link target.
 */
function compiledPrefixes(links: ReadonlyMap<string, string>, roots: readonly string[]): Set<string> {
  const prefixes = new Set<string>(roots);
  for (let round = 0; round <= links.size; round++) {
    let grew = false;
    for (const [path, target] of links) {
      const landed = landing(path, target);
      if (landed !== undefined && under(path, prefixes) && !prefixes.has(landed)) {
        prefixes.add(landed);
        grew = true;
      }
    }
    if (!grew) break;
  }
  return prefixes;
}

/** Where a link leads inside the tree ("" for its root), or undefined when it leaves it. */
function landing(path: string, target: string): string | undefined {
  if (target === '' || target.includes('\0') || posix.isAbsolute(target)) return undefined;
  const landed = posix.normalize(posix.join(posix.dirname(path), target));
  if (landed === '..' || landed.startsWith('../')) return undefined;
  return landed === '.' ? '' : landed.replace(/\/+$/, '');
}

/** True when `path` is one of `prefixes` or lies below one. */
function under(path: string, prefixes: ReadonlySet<string>): boolean {
  if (prefixes.has('')) return true;
  const parts = path.split('/');
  return parts.some((_, i) => prefixes.has(parts.slice(0, i + 1).join('/')));
}

/** A config repo must not read /etc through us. */
function leavingLink(path: string, target: string, commit: string): SourceError | undefined {
  if (landing(path, target) !== undefined) return undefined;
  return new SourceError(`symlink points outside the repository: ${path} -> ${target}`, {
    file: path,
    hint: `Replace the symlink with a copy of the file or a link inside the repository (commit ${commit.slice(0, 12)}).`,
  });
}

function lfsPointer(path: string, commit: string): SourceError {
  return new SourceError(`Git LFS pointer instead of the file (commit ${commit.slice(0, 12)})`, {
    file: path,
    hint: 'bootcfg serves files as committed and does not fetch LFS objects; commit the file itself (git lfs untrack, then add it again)',
  });
}

function submodule(path: string, commit: string): SourceError {
  return new SourceError(`submodule where bootcfg reads configs (commit ${commit.slice(0, 12)})`, {
    file: path,
    hint: 'bootcfg does not fetch submodules; commit the files into the config repo itself',
  });
}

function collectStderr(child: ChildProcessWithoutNullStreams): () => string {
  let text = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (text.length < 4096) text += chunk.toString('utf8');
  });
  return () => text;
}

/** Resolves when git exited 0; a SourceError with git's last words otherwise. */
function exited(child: ChildProcessWithoutNullStreams, message: string, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (code: number | null) => {
      if (code === 0) return resolve();
      const detail = stderr().trim().split('\n').filter(Boolean).slice(-2).join('; ');
      reject(new SourceError(detail ? `${message}: ${detail}` : message));
    };
    if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode);
    else child.once('close', done);
    child.once('error', (error) => reject(new SourceError(`${message}: ${error.message}`)));
  });
}
