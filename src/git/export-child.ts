// serve --repo's full export (export.ts: a commit's whole tree, 200k files at 100k machines) in
// a child process. Listing and streaming a tree that size grew serve's heap to ~0.5 GB, and a
// Node process keeps most of what it grew to: serve --repo sat at ~540 MB after its first sync,
// where serve --watch of the same fleet sits at ~310 MB. The child runs git in the same mirror
// with the same config (fetch.ts: spawnGit), writes the tree exactly as export.ts does, answers
// with the symlink count or the error (of the same kinds, with their paths), and exits.

import { fileURLToPath } from 'node:url';
import { SourceError } from '../compile/errors.js';
import { answerParent, askChild } from '../build/ask-child.js';
import { exportTree } from './export.js';
import { spawnGit } from './fetch.js';

/** What the child is asked: export `commit` of the mirror at `gitDir` into the empty `dir`. */
interface Asked {
  gitDir: string;
  commit: string;
  dir: string;
  roots: string[];
}

const MAIN = fileURLToPath(new URL('./export-child-main.js', import.meta.url));

/** exportTree in a child process; the signal kills it (the caller removes the half-written dir). */
export function exportTreeInChild(gitDir: string, commit: string, dir: string, roots: readonly string[], signal?: AbortSignal): Promise<{ links: number }> {
  return askChild<{ links: number }>(MAIN, { gitDir, commit, dir, roots: [...roots] } satisfies Asked, { signal, what: 'export', stopped });
}

/** The child's side: one export as asked, one reply, then exit. A parent gone first ends it. */
export function runExportChild(): void {
  answerParent(({ gitDir, commit, dir, roots }: Asked) => exportTree(spawnGit(gitDir), commit, dir, roots));
}

function stopped(): SourceError {
  return new SourceError('export stopped: bootcfg is shutting down', { hint: 'the last good build stays live' });
}
