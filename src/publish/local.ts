// A local directory as a publish destination (what a plain nginx or a mounted bucket serves).
// A revision's files are written in place (nothing names the revision yet); images and the
// small files that are read while live (the entry point) are written beside their place and
// renamed into it, so a reader sees the old file or the new one whole. Everything is flushed to
// disk before the entry point is replaced.

import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { SourceError } from '../compile/errors.js';
import { forEachYielding, mapLimit } from '../build/pool.js';
import { syncDirectory, syncTree } from '../build/write.js';
import type { CopyOptions, CopyResult, Destination, PutOptions } from './destination.js';

/** Bounds on the walk of a local source directory (our own staging tree). */
const MAX_FILES = 2_000_000;
const MAX_DEPTH = 16;

export class LocalDestination implements Destination {
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = root;
  }

  async copy(localDir: string, prefix: string, options: CopyOptions): Promise<CopyResult> {
    const result: CopyResult = { copied: 0, skipped: 0 };
    const target = join(this.root, prefix);
    await mapLimit(options.files, 16, async (file) => {
      const from = join(localDir, file);
      const to = join(target, file);
      const [source, there] = await Promise.all([stat(from), lstat(to).catch(() => undefined)]);
      if (there?.isFile() && there.size === source.size && Math.floor(there.mtimeMs / 1000) === Math.floor(source.mtimeMs / 1000)) {
        result.skipped++;
        return;
      }
      result.copied++;
      if (options.dryRun) return;
      await mkdir(dirname(to), { recursive: true });
      const temp = tempName(to);
      await copyFile(from, temp);
      await utimes(temp, source.atime, source.mtime);
      await rename(temp, to);
    });
    if (!options.dryRun && result.copied > 0) await syncTree(target, [], []);
    return result;
  }

  /**
   * Plain sync calls (many small files: a thread-pool round trip each would cost more than the
   * work); the event loop gets a turn every few hundred files.
   */
  async put(prefix: string, files: ReadonlyMap<string, Buffer>, options: PutOptions): Promise<CopyResult> {
    const result: CopyResult = { copied: 0, skipped: 0 };
    const target = join(this.root, prefix);
    const made = new Set<string>();
    await forEachYielding(files, ([file, content]) => {
      const to = join(target, file);
      const there = lstatSync(to, { throwIfNoEntry: false });
      if (there?.isFile() && there.size === content.length && readFileSync(to).equals(content)) {
        result.skipped++;
        return;
      }
      result.copied++;
      if (options.dryRun) return;
      const dir = dirname(to);
      if (!made.has(dir)) mkdirSync(dir, { recursive: true });
      made.add(dir);
      // Written in place: nothing names this revision until its chain is written after it, and a
      // file a crash left short is rewritten by the next run, which compares contents.
      writeFileSync(to, content);
    });
    if (!options.dryRun && result.copied > 0) await syncTree(target, [], []);
    return result;
  }

  async writeFile(path: string, content: Buffer): Promise<void> {
    const to = join(this.root, path);
    await mkdir(dirname(to), { recursive: true });
    const temp = tempName(to);
    await writeFile(temp, content, { flush: true });
    await rename(temp, to);
    await syncDirectory(dirname(to));
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    const at = join(this.root, path);
    if (!(await lstat(at).catch(() => undefined))?.isFile()) return undefined;
    return readFile(at);
  }

  async listDirs(prefix: string): Promise<string[]> {
    const entries = await readdir(join(this.root, prefix), { withFileTypes: true }).catch(() => []);
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  }

  async listFiles(prefix: string): Promise<string[]> {
    return walkFiles(join(this.root, prefix)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
  }

  async deleteFiles(prefix: string, files: readonly string[]): Promise<void> {
    await mapLimit(files, 16, (file) => rm(join(this.root, prefix, file), { force: true }));
  }

  async deleteTree(prefix: string): Promise<void> {
    await rm(join(this.root, prefix), { recursive: true, force: true });
  }
}

function tempName(path: string): string {
  return join(dirname(path), `.publish-${randomBytes(6).toString('hex')}.tmp`);
}

/** Every regular file under `dir`, relative to it, bounded in depth and count. */
async function walkFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (at: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) throw new SourceError(`${at} is nested more than ${MAX_DEPTH} directories deep`, { hint: 'a published tree is never this deep: check the destination' });
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) await walk(path, depth + 1);
      else if (entry.isFile()) files.push(relative(dir, path));
      if (files.length > MAX_FILES) throw new SourceError(`${dir} holds more than ${MAX_FILES} files`, { hint: 'a published revision is never this large: check the destination' });
    }
  };
  await walk(dir, 0);
  return files;
}
