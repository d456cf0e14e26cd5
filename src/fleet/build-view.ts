// The build as the fleet view reads it: the compiled answers (paths and contents), the build's
// selector shapes, its revision and, when the compiler said so, which data file each answer
// came from. One interface for the three places a build can be read from — compile() of a data
// directory or a repo revision (this file, pure) and the live dist/ (dist.ts) — so what the
// fleet view shows never depends on where the build came from.

import { CHAIN_FILE, MANIFEST_FILE, REVISION_FILE } from '../compile/outputs.js';
import { LEGACY_SHAPES, SHAPES_FILE, SHAPES_MARKER_DIR, parseShapes, type ShapeKeys } from '../compile/shapes.js';

export interface GroupInfo {
  id: string;
  name?: string;
  profile?: string;
}

export interface BuildView {
  revision: string;
  /** Where it came from: a data directory, `repo@ref`, or a dist directory. */
  source: string;
  /** The build's selector shapes in try order (shapes.json, or the seed's three). */
  shapes: readonly ShapeKeys[];
  /** Every answer path of the build (`ipxe/mac/52-54-…`, `cloud/default`…), bookkeeping left out. */
  paths: ReadonlySet<string>;
  /** An answer's contents (small files only); undefined if the build has no such answer. */
  read(path: string): Buffer | undefined;
  /** Answer path → the data file it was compiled from (`groups/<id>.json`, `boot/mac/…`), when known. */
  origins: Pick<ReadonlyMap<string, string>, 'get'>;
  /** Group file → what the group says, when known. */
  groups: ReadonlyMap<string, GroupInfo>;
}

/** Files of a snapshot that are not answers to a machine. */
export function isBookkeeping(path: string): boolean {
  return path === CHAIN_FILE || path === REVISION_FILE || path === MANIFEST_FILE || path === SHAPES_FILE || path.startsWith(`${SHAPES_MARKER_DIR}/`);
}

/** The shapes a snapshot's shapes.json names, or the seed's when it has none. */
export function shapesOf(text: string | undefined): readonly ShapeKeys[] {
  return text === undefined ? LEGACY_SHAPES : parseShapes(text);
}

export interface CompiledLike {
  revision: string;
  files: ReadonlyMap<string, Buffer>;
  origins?: Pick<ReadonlyMap<string, string>, 'get'>;
  groups?: readonly (GroupInfo & { file: string })[];
}

/** A build compile() made in memory (bootcfg machines --data-path / --repo). */
export function viewOfCompiled(compiled: CompiledLike, source: string): BuildView {
  const paths = new Set([...compiled.files.keys()].filter((path) => !isBookkeeping(path)));
  return {
    revision: compiled.revision,
    source,
    shapes: shapesOf(compiled.files.get(SHAPES_FILE)?.toString('utf8')),
    paths,
    read: (path) => (paths.has(path) ? compiled.files.get(path) : undefined),
    origins: compiled.origins ?? new Map(),
    groups: new Map((compiled.groups ?? []).map(({ file, ...info }) => [file, info])),
  };
}
