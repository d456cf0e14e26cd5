// Reads a data directory from disk into memory, so that load, resolve and render can be pure
// functions of its contents. Only the parts bootcfg compiles are read (boot/, cloud/,
// templates/); dotfiles such as .git or .gitkeep are skipped.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LoadError } from './errors.js';
import { mapLimit } from './pool.js';

/** Data-directory-relative POSIX path → file contents. */
export type SourceFiles = ReadonlyMap<string, Buffer>;

export const SOURCE_ROOTS = ['boot', 'cloud', 'templates'] as const;

export async function readSource(dataPath: string): Promise<SourceFiles> {
  await assertDirectory(dataPath);
  const paths: string[] = [];
  for (const root of SOURCE_ROOTS) await listTree(join(dataPath, root), root, paths);
  const contents = await mapLimit(paths, 64, (rel) => readFile(join(dataPath, rel)));
  return new Map(paths.map((rel, i) => [rel, contents[i]!]));
}

async function assertDirectory(dataPath: string): Promise<void> {
  const info = await stat(dataPath).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new LoadError(`data directory ${dataPath} does not exist or is not a directory`, {
      hint: 'pass --data-path DIR (or set BOOTCFG_DATA_PATH) to the folder holding boot/ and cloud/',
    });
  }
}

/** Appends the relative path of every non-dot file under `dir` (or `dir` itself, if a file). */
async function listTree(dir: string, relative: string, into: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    if (error.code === 'ENOTDIR') return undefined;
    throw error;
  });
  if (entries === undefined) {
    into.push(relative);
    return;
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const rel = `${relative}/${entry.name}`;
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && (await stat(path)).isDirectory());
    if (isDir) await listTree(path, rel, into);
    else into.push(rel);
  }
}
