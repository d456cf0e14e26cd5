// Reads a matchbox data directory into memory for importMatchbox (matchbox.ts stays pure), and
// writes the imported tree. Bounded: only the directories matchbox reads, regular files only
// (a symlink counts when it resolves to a regular file inside the directory, as Kubernetes
// ConfigMap mounts do), at most MAX_FILES files of MAX_FILE_BYTES each.

import { lstat, mkdir, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { ErrorList, LoadError, UsageError } from '../compile/errors.js';

const MAX_FILES = 10_000;
const MAX_FILE_BYTES = 8 * 1024 * 1024;
const MAX_DEPTH = 8;
/** Directories whose files matchbox names by id (ids may contain `/`). */
const TEMPLATE_DIRS = ['cloud', 'generic', 'ignition'];

interface Walk {
  root: string;
  files: Map<string, Buffer>;
  errors: LoadError[];
}

/**
 * SRC's profiles/, groups/ (or `groupsDir`) and template directories as relative path →
 * contents. A sub-directory of groups/ appears as `groups/<name>/` with no contents, so that
 * the import can say it was not read (matchbox does not read it either).
 */
export async function readMatchboxDir(src: string, groupsDir?: string): Promise<Map<string, Buffer>> {
  const info = await stat(src).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`${src} is not a directory`, { hint: 'SRC is matchbox\'s data directory (-data-path, /var/lib/matchbox by default)' });
  const walk: Walk = { root: await realpath(src), files: new Map(), errors: [] };
  await readFlat(join(src, 'profiles'), 'profiles', walk);
  await readFlat(groupsDir ?? join(src, 'groups'), 'groups', walk);
  for (const dir of TEMPLATE_DIRS) await readTree(join(src, dir), dir, walk, 0);
  if (walk.errors.length > 0) throw new ErrorList(walk.errors);
  return walk.files;
}

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).then(
    (names) => names.filter((name) => !name.startsWith('.')).sort(),
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    },
  );
}

async function readFlat(dir: string, rel: string, walk: Walk): Promise<void> {
  for (const name of await entries(dir)) {
    const kind = await fileKind(join(dir, name), `${rel}/${name}`, walk);
    if (kind === 'dir') walk.files.set(`${rel}/${name}/`, Buffer.alloc(0));
    if (kind === 'file') await readOne(join(dir, name), `${rel}/${name}`, walk);
  }
}

async function readTree(dir: string, rel: string, walk: Walk, depth: number): Promise<void> {
  if (depth > MAX_DEPTH) {
    walk.errors.push(new LoadError(`more than ${MAX_DEPTH} directories deep`, { file: rel, hint: 'template ids are file names, perhaps with a folder or two' }));
    return;
  }
  for (const name of await entries(dir)) {
    const path = join(dir, name);
    const kind = await fileKind(path, `${rel}/${name}`, walk);
    if (kind === 'dir') await readTree(path, `${rel}/${name}`, walk, depth + 1);
    if (kind === 'file') await readOne(path, `${rel}/${name}`, walk);
  }
}

/** 'file' or 'dir' for what may be read; anything else (device, fifo, a link leaving SRC) is an error. */
async function fileKind(path: string, rel: string, walk: Walk): Promise<'file' | 'dir' | undefined> {
  const link = await lstat(path);
  if (link.isSymbolicLink()) {
    const target = await realpath(path).catch(() => undefined);
    if (!target || (target !== walk.root && !target.startsWith(walk.root + sep))) {
      walk.errors.push(new LoadError(target ? `symlink points outside the matchbox directory (to ${target})` : 'broken symlink', { file: rel, hint: 'copy the file into the directory instead' }));
      return undefined;
    }
  }
  const info = link.isSymbolicLink() ? await stat(path) : link;
  if (info.isDirectory()) return 'dir';
  if (info.isFile()) return 'file';
  walk.errors.push(new LoadError('not a regular file', { file: rel, hint: 'remove it: matchbox data are plain files' }));
  return undefined;
}

async function readOne(path: string, rel: string, walk: Walk): Promise<void> {
  if (walk.files.size >= MAX_FILES) {
    if (walk.files.size === MAX_FILES) walk.errors.push(new LoadError(`more than ${MAX_FILES} files`, { file: rel, hint: 'is SRC really a matchbox data directory?' }));
    return;
  }
  const info = await stat(path);
  if (info.size > MAX_FILE_BYTES) {
    walk.errors.push(new LoadError(`larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`, { file: rel, hint: 'matchbox data files are small JSON and templates' }));
    return;
  }
  walk.files.set(rel, await readFile(path));
}

/**
 * Writes the imported files to DEST, which must not exist yet or be empty: into a sibling
 * temporary directory first, renamed into place at the end, so a failure leaves no half tree.
 */
export async function writeImport(dest: string, files: ReadonlyMap<string, string | Buffer>): Promise<void> {
  const existing = await readdir(dest).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)));
  if (existing && existing.length > 0) throw new UsageError(`${dest} is not empty`, { hint: 'import into a new directory (bootcfg never overwrites a data directory)' });
  const temporary = `${dest.replace(/[\\/]+$/, '')}.import-${process.pid}`;
  await rm(temporary, { recursive: true, force: true });
  try {
    for (const [rel, content] of files) {
      await mkdir(dirname(join(temporary, rel)), { recursive: true });
      await writeFile(join(temporary, rel), content);
    }
    if (existing) await rm(dest, { recursive: true });
    await mkdir(dirname(dest), { recursive: true });
    await rename(temporary, dest);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
}
