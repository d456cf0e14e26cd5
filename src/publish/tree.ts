// One revision of a published tree, sealed: the static build's files under the directory named
// for them, with resolved URLs pointing into that directory, plus REVISION and a manifest. Pure.
// The directory is `<revision>.<id>`, id a hash of the contents, so a revision published again
// with another base URL or bootcfg version lands beside the first instead of changing it:
// a published revision is never modified.

import { createHash } from 'node:crypto';
import { CHAIN_FILE, MANIFEST_FILE, REVISION_FILE } from '../compile/outputs.js';
import { compareShapes, type ShapeKeys } from '../compile/shapes.js';
import { contentRevision } from '../build/build.js';
import { REVISION_PLACEHOLDER, entryScript, parseAnswerPath } from './layout.js';

export interface RevisionTree {
  revision: string;
  /** `<revision>.<id>`: the directory under revs/. */
  dir: string;
  /** Path inside the revision directory → contents; the chain script (CHAIN_FILE) is written last. */
  files: Map<string, Buffer>;
  /** The root entry script naming this revision. */
  entry: string;
}

const SAFE_NAME = /^[0-9A-Za-z_-]+$/;

export function sealRevision(compiled: Map<string, Buffer>, revision: string, source: string): RevisionTree {
  if (!SAFE_NAME.test(revision)) throw new Error(`bug: revision ${JSON.stringify(revision)} is not a safe directory name`);
  const dir = `${revision}.${contentRevision(compiled)}`;
  const placeholder = Buffer.from(REVISION_PLACEHOLDER);
  const files = new Map<string, Buffer>();
  for (const [path, content] of compiled) {
    files.set(path, content.includes(placeholder) ? Buffer.from(content.toString('utf8').replaceAll(REVISION_PLACEHOLDER, dir)) : content);
  }
  const hashes = Object.fromEntries([...files].map(([path, content]) => [path, createHash('sha256').update(content).digest('hex')]));
  files.set(REVISION_FILE, Buffer.from(`${revision}\n`));
  files.set(MANIFEST_FILE, Buffer.from(`${JSON.stringify({ revision, dir, source, files: hashes }, null, 1)}\n`));
  return { revision, dir, files, entry: entryScript(dir) };
}

/** Whether a name under revs/ is a revision directory this command writes. */
export function isRevisionDir(name: string): boolean {
  return /^[0-9A-Za-z_-]+\.[0-9a-f]{12}$/.test(name);
}

/**
 * The order to delete a revision's files in, as batches: its chain first (so it no longer looks
 * complete), then answers from the default up to the most specific shape, then the rest. A
 * machine still walking the revision then finds either its own answer or none at all, never a
 * less specific answer in place of a deleted one.
 */
export function deletionBatches(paths: readonly string[]): string[][] {
  const chain: string[] = [];
  const answers = new Map<string, { shape: ShapeKeys; paths: string[] }>();
  const rest: string[] = [];
  for (const path of paths) {
    if (path === CHAIN_FILE) {
      chain.push(path);
      continue;
    }
    const answer = parseAnswerPath(path);
    if (!answer) {
      rest.push(path);
      continue;
    }
    const key = answer.shape.join('.');
    let batch = answers.get(key);
    if (!batch) answers.set(key, (batch = { shape: answer.shape, paths: [] }));
    batch.paths.push(path);
  }
  const ordered = [...answers.values()].sort((a, b) => compareShapes(b.shape, a.shape)).map((batch) => batch.paths);
  return [chain, ...ordered, rest].filter((batch) => batch.length > 0);
}
