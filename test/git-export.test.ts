// `--repo` serves each file exactly as committed: the repo's .gitattributes (eol=crlf, ident,
// filter drivers) and the operator's git config (core.autocrlf) change no byte; Git LFS
// pointers and submodules where bootcfg reads configs are refused by name. Real repos, the
// real CLI.

import { distFile } from '../src/compile/shapes.js';
import assert from 'node:assert/strict';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigRepo, git, runCli, seedData } from './git-fixture.js';

const cleanup: Array<() => void> = [];
after(() => cleanup.forEach((fn) => fn()));

function newRepo(): ConfigRepo {
  const repo = new ConfigRepo();
  cleanup.push(() => repo.dispose());
  return repo;
}

function build(repo: ConfigRepo, env: Record<string, string> = {}) {
  return runCli(['build', '--repo', repo.remote, '--ref', 'main', '--dist-path', join(repo.root, 'dist'), '--cache-path', join(repo.root, 'cache')], { env });
}

test('--repo serves the committed bytes whatever .gitattributes and a global core.autocrlf say', async () => {
  const repo = newRepo();
  const cloud = '#cloud-config\n# $Id$\nhostname: lower-case\n';
  repo.commitPush(seedData('1.0', {
    '.gitattributes': '* text eol=crlf ident\ncloud/mac/* filter=shout\n',
    'cloud/default': cloud,
    'cloud/mac/52-54-00-00-00-01': cloud,
  }));
  // The operator's global config: CRLF on checkout, and a filter driver that would run a program.
  const global = join(repo.root, 'gitconfig');
  writeFileSync(global, '[core]\n\tautocrlf = true\n[filter "shout"]\n\tsmudge = tr a-z A-Z\n\tclean = cat\n');
  const result = await build(repo, { GIT_CONFIG_GLOBAL: global });
  assert.equal(result.code, 0, result.stderr);
  for (const path of ['cloud/default', 'cloud/mac/52-54-00-00-00-01']) {
    assert.equal(git(repo.work, 'cat-file', 'blob', `HEAD:${path}`) + '\n', cloud, 'the blob itself is plain');
    assert.equal(readFileSync(join(repo.root, 'dist/current', distFile(path)), 'utf8'), cloud, path);
  }
});

test('Git LFS pointers and submodules where configs are read are refused by name; elsewhere they are left alone', async () => {
  const repo = newRepo();
  const pointer = 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n';
  repo.commit(seedData('1.0', { 'cloud/default': pointer, 'shared/cloud': pointer, 'docs/manual.pdf': pointer, 'cloud/mac/52-54-00-00-00-01': 'x\n' }));
  symlinkSync('../../shared/cloud', join(repo.work, 'cloud/mac/52-54-00-00-00-02'));
  git(repo.work, 'add', '--all');
  const other = git(repo.work, 'rev-parse', 'HEAD');
  git(repo.work, 'commit', '--quiet', '-m', 'lfs and links');
  git(repo.work, 'update-index', '--add', '--cacheinfo', `160000,${other},boot/uuid/1cff2cd8-f00a-42c8-9426-f55e6a1847f6`);
  git(repo.work, 'update-index', '--add', '--cacheinfo', `160000,${other},vendor/tools`);
  git(repo.work, 'commit', '--quiet', '-m', 'submodules');
  repo.push();

  const result = await build(repo);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /^cloud\/default: Git LFS pointer instead of the file \(commit [0-9a-f]{12}\)$/m);
  assert.match(result.stderr, /^shared\/cloud: Git LFS pointer instead of the file/m, 'reached through a symlink under cloud/');
  assert.match(result.stderr, /^boot\/uuid\/1cff2cd8-f00a-42c8-9426-f55e6a1847f6: submodule where bootcfg reads configs/m);
  assert.match(result.stderr, /hint: bootcfg serves files as committed and does not fetch LFS objects/);
  assert.doesNotMatch(result.stderr, /docs\/manual\.pdf|vendor\/tools/);

  // Without them in the compiled roots, the same repo builds.
  git(repo.work, 'rm', '--quiet', '--cached', 'boot/uuid/1cff2cd8-f00a-42c8-9426-f55e6a1847f6');
  repo.commitPush({ 'cloud/default': '#cloud-config\n', 'cloud/mac/52-54-00-00-00-02': null });
  const fixed = await build(repo);
  assert.equal(fixed.code, 0, fixed.stderr);
});
