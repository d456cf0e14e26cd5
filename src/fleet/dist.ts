// Reads the live build of a dist/ directory for the fleet view: the snapshot dist/current
// points at, its manifest (the list of answers), shapes.json and, on demand, an answer's
// contents. Only what the manifest lists is read, only regular files, only small ones, and
// only inside the snapshot: a dist/ directory is not trusted to be what bootcfg wrote.

import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SourceError } from '../compile/errors.js';
import { SHAPES_FILE, distFile } from '../compile/shapes.js';
import { readLiveManifest, type Manifest } from '../build/write.js';
import { isBookkeeping, shapesOf, type BuildView, type GroupInfo } from './build-view.js';

/** No compiled answer comes near this; anything bigger is not one. */
const MAX_ANSWER_BYTES = 1 << 20;

export async function viewOfDist(distPath: string): Promise<BuildView> {
  const live = await readLiveManifest(distPath).catch((error: unknown) => {
    throw new SourceError(`cannot read the live build's manifest in ${distPath}: ${(error as Error).message}`, { hint: 'rebuild with `bootcfg build`', cause: error });
  });
  if (!live) throw new SourceError(`no build in ${distPath} yet`, { hint: 'run `bootcfg build --dist-path …` first, or give --data-path or --repo' });
  const listed = Object.keys(live.manifest.files ?? {}).filter(isSafePath);
  const paths = new Set(listed.filter((path) => !isBookkeeping(path)));
  const read = (path: string): Buffer | undefined => (paths.has(path) || path === SHAPES_FILE ? readSmallFile(join(live.dir, distFile(path))) : undefined);
  let shapes;
  try {
    shapes = shapesOf(listed.includes(SHAPES_FILE) ? read(SHAPES_FILE)?.toString('utf8') : undefined);
  } catch (error) {
    throw new SourceError(`bad shapes.json: ${(error as Error).message}`, { file: join(live.dir, SHAPES_FILE), hint: 'rebuild with `bootcfg build`', cause: error });
  }
  const { origins, groups } = describedFleet(live.manifest);
  return { revision: String(live.manifest.revision), source: distPath, shapes, paths, read, origins, groups };
}

/** The manifest's origins and groups (builds before the fleet view have neither), strings only. */
function describedFleet(manifest: Manifest): Pick<BuildView, 'origins' | 'groups'> {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const origins = new Map<string, string>();
  if (manifest.origins && typeof manifest.origins === 'object') for (const [path, file] of Object.entries(manifest.origins)) if (text(file)) origins.set(path, file);
  const groups = new Map<string, GroupInfo>();
  for (const group of Array.isArray(manifest.groups) ? manifest.groups : []) {
    const [file, id] = [text(group?.file), text(group?.id)];
    if (file && id) groups.set(file, { id, name: text(group.name), profile: text(group.profile) });
  }
  return { origins, groups };
}

/** A manifest path that stays inside the snapshot: relative, no `.`/`..` or empty segment. */
function isSafePath(path: string): boolean {
  return path.length < 1024 && !path.includes('\0') && path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

function readSmallFile(path: string): Buffer | undefined {
  try {
    const stats = lstatSync(path);
    if (!stats.isFile() || stats.size > MAX_ANSWER_BYTES) return undefined;
    return readFileSync(path);
  } catch {
    return undefined; // pruned or edited by hand since the manifest was read
  }
}
