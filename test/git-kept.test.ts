// serve --repo's kept tree (src/git/kept.ts) replaced by a full export run in a child process
// (src/git/export-child.ts), with the trees it replaces and a killed serve's leftovers removed
// in a throwaway process: the tree is the commit's, errors come back with their paths, and no
// scratch, old or leftover tree stays beside it.

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { test } from 'node:test';
import { SOURCE_ROOTS } from '../src/build/source.js';
import { SourceError } from '../src/compile/errors.js';
import { exportTreeInChild } from '../src/git/export-child.js';
import { fetchCommit } from '../src/git/fetch.js';
import { KeptTree } from '../src/git/kept.js';
import { filesUnder, tempDir } from './helpers.js';
import { ConfigRepo } from './git-fixture.js';

test('a full export in a child replaces the kept tree, and nothing but the tree is left beside it', async (t) => {
  const repo = new ConfigRepo();
  t.after(() => repo.dispose());
  const cache = await tempDir();
  const first = repo.commit({ 'boot/default': '{"kernel": "/images/a"}\n', 'cloud/default': '#cloud-config\nhostname: a\n' }, 'first');
  repo.push();
  const fetched = await fetchCommit({ repo: repo.remote, ref: 'main', cachePath: cache });
  const tree = new KeptTree(join(cache, 'kept', 'tree'));
  const inChild = (sha: string) => (dir: string) => exportTreeInChild(fetched.gitDir, sha, dir, SOURCE_ROOTS);
  // What a killed serve leaves: a scratch and an old tree of this ref, and another ref's tree.
  for (const name of ['tree.tmp-dead01', 'tree.old-dead02', 'other']) {
    mkdirSync(join(cache, 'kept', name, 'boot'), { recursive: true });
    writeFileSync(join(cache, 'kept', name, 'boot', 'default'), 'left over\n');
  }
  assert.deepEqual(await tree.bringTo(fetched.spawn, first, inChild(first)), { kind: 'full', reason: 'no tree at a known commit (first sync, or the last update failed)' });
  assert.deepEqual(await filesUnder(tree.dir), ['boot/default', 'cloud/default']);
  assert.deepEqual(readdirSync(dirname(tree.dir)).sort(), ['other', 'tree']);

  // A second full export (history rewritten) swaps a new tree in and removes the old one.
  const second = repo.commit({ 'boot/default': '{"kernel": "/images/b"}\n', 'cloud/default': null }, 'second');
  repo.push();
  const again = await fetchCommit({ repo: repo.remote, ref: 'main', cachePath: cache });
  const full = new KeptTree(tree.dir); // a new serve: the tree's commit is unknown
  assert.equal((await full.bringTo(again.spawn, second, (dir) => exportTreeInChild(again.gitDir, second, dir, SOURCE_ROOTS))).kind, 'full');
  assert.deepEqual(await filesUnder(tree.dir), ['boot/default']);
  assert.deepEqual(readdirSync(dirname(tree.dir)).sort(), ['other', 'tree']);

  // The child's refusal comes back as the same error, naming the path; the tree stays as it was.
  symlinkSync('/etc/hostname', join(repo.work, 'cloud', 'leaving'));
  const leaving = repo.commit({}, 'a leaving link');
  repo.push();
  const third = await fetchCommit({ repo: repo.remote, ref: 'main', cachePath: cache });
  await assert.rejects(new KeptTree(tree.dir).bringTo(third.spawn, leaving, (dir) => exportTreeInChild(third.gitDir, leaving, dir, SOURCE_ROOTS)), (error: unknown) => error instanceof SourceError && /symlink points outside the repository: cloud\/leaving/.test(error.message));
  assert.deepEqual(await filesUnder(tree.dir), ['boot/default']);
  assert.deepEqual(readdirSync(dirname(tree.dir)).sort(), ['other', basename(tree.dir)]);
});
