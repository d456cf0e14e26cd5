// serve --repo's one data directory. Exporting each new commit's whole tree (200k files at 100k
// machines) took most of a push's 48 s; instead one tree is kept and brought from the commit it
// holds to the next by writing only the paths git says changed (export.ts's applyChanges, with
// the full export's refusals), and the incremental builder is told those paths. Whatever this
// cannot vouch for is a full export into a fresh directory swapped in: the first sync, a commit
// that is not a descendant of the tree's (a force-push), too many changes, a symlink or
// submodule on either side, a failed diff or update. After a failure the tree's commit is
// unknown until a full export succeeds, so a diff is only ever taken from what the tree holds.

import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdir, readdir, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SOURCE_ROOTS } from '../build/source.js';
import { applyChanges, exportTree, REGULAR_MODES, treeChanges, type GitSpawn } from './export.js';

/** More changed paths than this are a full export: past it, a fresh tree costs about the same. */
export const MAX_CHANGED_PATHS = 20_000;

/** Writes the commit's whole tree into an empty directory (export.ts: exportTree); how many symlinks it holds. */
export type WholeExport = (dir: string) => Promise<{ links: number }>;

/** How the tree reached a commit. */
export type TreeUpdate =
  | { kind: 'changes'; from: string; paths: string[] }
  | { kind: 'full'; reason: string };

export class KeptTree {
  /** The commit the tree holds exactly; undefined until a full export (or after a failed update). */
  private commit: string | undefined;
  /** Symlinks in the tree: a path written in place could lead through one, so any is a full export. */
  private links = 0;

  /** @param dir the data directory the builder reads (replaced whole by a full export) */
  constructor(readonly dir: string) {}

  /**
   * Make the tree hold `sha`: in place from the commit it holds when that is safe, else in full,
   * by `exportWhole` (serve runs it in a child process: export-child.ts) or else in this one.
   */
  async bringTo(git: GitSpawn, sha: string, exportWhole: WholeExport = (dir) => exportTree(git, sha, dir, SOURCE_ROOTS)): Promise<TreeUpdate> {
    const from = this.commit;
    if (from === sha) return { kind: 'changes', from, paths: [] };
    const update = await this.update(git, from, sha);
    if (typeof update !== 'string') return { kind: 'changes', from: from!, paths: update };
    await this.exportFull(sha, exportWhole);
    return { kind: 'full', reason: update };
  }

  /** Apply the changes from `from` to `to` in place: the paths changed, or why a full export must do it. */
  private async update(git: GitSpawn, from: string | undefined, to: string): Promise<string[] | string> {
    if (from === undefined) return 'no tree at a known commit (first sync, or the last update failed)';
    if (this.links > 0) return 'the tree holds symlinks';
    try {
      if (!(await isAncestor(git, from, to))) return `${short(from)} is not an ancestor of ${short(to)} (history rewritten)`;
      const changes = await treeChanges(git, from, to, MAX_CHANGED_PATHS);
      if (changes === undefined) return `more than ${MAX_CHANGED_PATHS} paths changed`;
      const odd = changes.find((change) => !REGULAR_MODES.has(change.mode) || !REGULAR_MODES.has(change.oldMode));
      if (odd) return `${odd.path} is or was a symlink or submodule`;
      this.commit = undefined; // until every change is written
      await applyChanges(git, changes, to, this.dir, SOURCE_ROOTS);
      this.commit = to;
      return changes.map((change) => change.path);
    } catch (error) {
      return `the update in place failed: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  /** Export `sha` beside the tree and swap it in; the tree's commit is unknown if this throws. */
  private async exportFull(sha: string, exportWhole: WholeExport): Promise<void> {
    this.commit = undefined;
    const scratch = `${this.dir}.tmp-${randomBytes(6).toString('hex')}`;
    const old = `${this.dir}.old-${randomBytes(6).toString('hex')}`;
    await mkdir(dirname(this.dir), { recursive: true });
    await this.removeLeftovers();
    try {
      await mkdir(scratch);
      const { links } = await exportWhole(scratch);
      await rename(this.dir, old).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      await rename(scratch, this.dir);
      this.links = links;
      this.commit = sha;
    } finally {
      // Best effort: what is left has this tree's prefix, and the next full export removes it first.
      await removeApart([scratch, old]).catch(() => {});
    }
  }

  /** Scratch and old trees of this ref that a killed serve left beside it (200k files each at 100k machines). */
  private async removeLeftovers(): Promise<void> {
    const prefix = `${basename(this.dir)}.`;
    const names = (await readdir(dirname(this.dir))).filter((name) => name.startsWith(prefix));
    if (names.length > 0) await removeApart(names.map((name) => join(dirname(this.dir), name)));
  }
}

/**
 * Removes directory trees (each may be absent) in a throwaway Node process. fs.rm of a tree of
 * 200k files grew the heap of the process running it by ~450 MB, which serve then kept: serve
 * --repo sat at ~540 MB after a first sync that replaced an old tree, ~80 MB before it.
 */
function removeApart(paths: readonly string[]): Promise<void> {
  const script = 'for (const path of process.argv.slice(1)) require("node:fs").rmSync(path, { recursive: true, force: true })';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, ...paths], { stdio: ['ignore', 'ignore', 'pipe'] });
    let said = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (said.length < 4096) said += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`could not remove ${paths.join(', ')} (${signal ?? `exit ${code}`}): ${said.trim().split('\n')[0] ?? ''}`));
    });
  });
}

/** Where serve --repo keeps its tree for one ref: beside the mirror, one per ref followed. */
export function keptTreePath(home: string, ref: string): string {
  return join(home, 'serve', createHash('sha256').update(ref).digest('hex').slice(0, 16));
}

/** `git merge-base --is-ancestor`: true, false, or a thrown error (an unknown commit). */
function isAncestor(git: GitSpawn, from: string, to: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = git(['merge-base', '--is-ancestor', from, to]);
    child.stdin.end();
    child.stdout.resume();
    child.stderr.resume();
    child.once('error', reject);
    child.once('close', (code) => (code === 0 || code === 1 ? resolve(code === 0) : reject(new Error(`git merge-base exited ${code}`))));
  });
}

function short(sha: string): string {
  return sha.slice(0, 12);
}
