// Reads a data directory from disk into memory, so that load, resolve and render can be pure
// functions of its contents. Only the parts bootcfg compiles are read (boot/, cloud/,
// templates/, profiles/, groups/, generic/, ignition/, and files/ for Butane's contents.local); dotfiles such as .git or .gitkeep are
// skipped.

import { readFileSync } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { ErrorList, LoadError } from '../compile/errors.js';
import { forEachYielding } from './pool.js';
import type { SourceFiles } from '../compile/load.js';

export const SOURCE_ROOTS = ['boot', 'cloud', 'templates', 'profiles', 'groups', 'generic', 'ignition', 'files'] as const;

export async function readSource(dataPath: string): Promise<SourceFiles> {
  await assertDirectory(dataPath);
  const walk: Walk = { root: await realpath(dataPath), paths: [], errors: [] };
  for (const root of SOURCE_ROOTS) {
    const path = join(dataPath, root);
    const isLink = await lstat(path).then((info) => info.isSymbolicLink(), () => false);
    if (isLink && !(await linkStaysInside(path, root, walk))) continue; // boot -> /elsewhere
    await listTree(path, root, walk);
  }
  if (walk.errors.length > 0) throw new ErrorList(walk.errors);
  const files = new Map<string, Buffer>();
  await forEachYielding(walk.paths, (rel) => files.set(rel, readFileSync(join(dataPath, rel))));
  return files;
}

async function assertDirectory(dataPath: string): Promise<void> {
  const info = await stat(dataPath).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new LoadError(`data directory ${dataPath} does not exist or is not a directory`, {
      hint: 'pass --data-path DIR (or set BOOTCFG_DATA_PATH) to the folder holding boot/ and cloud/',
    });
  }
}

interface Walk {
  /** The data directory's real path: symlinks must stay inside it. */
  root: string;
  paths: string[];
  errors: LoadError[];
}

/** Appends the relative path of every non-dot file under `dir` (or `dir` itself, if a file). */
async function listTree(dir: string, relative: string, walk: Walk): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    if (error.code === 'ENOTDIR') return undefined;
    throw error;
  });
  if (entries === undefined) {
    walk.paths.push(relative);
    return;
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const rel = `${relative}/${entry.name}`;
    if (entry.isSymbolicLink() && !(await linkStaysInside(path, rel, walk))) continue;
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && (await stat(path)).isDirectory());
    if (isDir) await listTree(path, rel, walk);
    else walk.paths.push(rel);
  }
}

/**
 * A symlink may point within the data directory only: a config repo must not be able to
 * publish /etc/shadow as somebody's cloud config.
 */
async function linkStaysInside(path: string, rel: string, walk: Walk): Promise<boolean> {
  const target = await realpath(path).catch(() => undefined);
  if (target === undefined) {
    walk.errors.push(new LoadError('broken symlink', { file: rel, hint: 'point it at a file that exists, or remove it' }));
    return false;
  }
  if (target !== walk.root && !target.startsWith(walk.root + sep)) {
    walk.errors.push(new LoadError(`symlink points outside the data directory (to ${target})`, { file: rel, hint: 'copy the file into the data directory instead' }));
    return false;
  }
  return true;
}
