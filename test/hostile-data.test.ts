// Hostile data directories (issue 14): symlink loops, FIFOs, device files, huge files, hard
// links to files outside, files swapped for outside links mid-build, unreadable and over-long
// paths. Each is an error naming the file, in bounded time, through the real CLI; nothing
// outside the data directory is ever published.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compile } from '../src/build/build.js';
import { MAX_DEPTH, MAX_FILE_BYTES } from '../src/build/source.js';
import { formatError } from '../src/cli/report.js';
import { BIN, bootConfig, tempDir, writeFiles } from './helpers.js';

/** The CLI, killed if it runs past `boundMs` (a hang guard, not a timing assertion). */
function runBounded(args: string[], options: { uid?: number; gid?: number } = {}, boundMs = 60_000): Promise<{ code: number | null; stderr: string; hung: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], ...options });
    let stderr = '';
    let hung = false;
    const guard = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, boundMs);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stderr, hung });
    });
  });
}

/** SIGTERM, then the exit code (or signal) once the process has gone; SIGKILL after 60 s is a hang guard, not a timing assertion. */
function sigterm(child: ChildProcess): Promise<number | string | null> {
  child.kill('SIGTERM');
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(guard);
      resolve(signal ?? code);
    });
  });
}

async function dataDir(): Promise<{ root: string; data: string; dist: string }> {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'd'), { 'boot/default': bootConfig('/images/k'), 'cloud/default': 'x\n' });
  return { root, data, dist: join(root, 'dist') };
}

test('a symlink loop fails the build naming the link, instead of walking forever', async () => {
  const { data, dist } = await dataDir();
  symlinkSync('.', join(data, 'boot/a'));
  symlinkSync('.', join(data, 'boot/b'));
  const { code, stderr, hung } = await runBounded(['build', '--data-path', data, '--dist-path', dist]);
  assert.equal(hung, false, 'build hung on a symlink loop');
  assert.equal(code, 1, stderr);
  assert.match(stderr, new RegExp(`${data}/boot/a: symlink loop: it leads back to boot\\n  hint: `));
  assert.match(stderr, new RegExp(`${data}/boot/b: symlink loop`));
  assert.doesNotMatch(stderr, /unexpected error/);
});

test('a symlink to a directory already read, or back to the data directory, is an error naming the link', async () => {
  const { data } = await dataDir();
  mkdirSync(join(data, 'cloud/mac'));
  writeFileSync(join(data, 'cloud/mac/52:54:00:00:00:01'), 'y\n');
  symlinkSync('mac', join(data, 'cloud/uuid'));
  symlinkSync('..', join(data, 'boot/up'));
  const { code, stderr, hung } = await runBounded(['validate', '--data-path', data]);
  assert.equal(hung, false);
  assert.equal(code, 1, stderr);
  assert.match(stderr, new RegExp(`${data}/cloud/uuid: symlink to a directory that is read twice \\(as cloud/mac and as cloud/uuid\\)`));
  assert.match(stderr, new RegExp(`${data}/boot/up: symlink loop: it leads back to the data directory`));
});

test(`directories nested deeper than ${MAX_DEPTH} levels are an error, not an unbounded walk`, async () => {
  const { data } = await dataDir();
  const deep = join(data, 'cloud', ...Array.from({ length: MAX_DEPTH + 2 }, (_, i) => `n${i}`));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'f'), 'x');
  const { code, stderr } = await runBounded(['validate', '--data-path', data]);
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`${data}/cloud(/n\\d){${MAX_DEPTH}}: directories nested deeper than ${MAX_DEPTH} levels`));
});

test('serve --repo: a commit with a symlink loop is a failed build, the fix goes live, and SIGTERM stops it', async () => {
  const { ConfigRepo, eventually, seedData, signGitHub, startServe } = await import('./git-fixture.js');
  const repo = new ConfigRepo();
  try {
    const good = repo.commitPush(seedData('1.0'), 'good');
    const served = await startServe(['--repo', repo.remote, '--ref', 'main', '--pull-interval', '0', '--dist-path', join(repo.root, 'dist'),
      '--cache-path', join(repo.root, 'cache'), '--images-path', repo.root], { BOOTCFG_WEBHOOK_SECRET: 'k' });
    const hook = async () => {
      const body = '{}';
      const res = await fetch(`${served.url}/-/hooks/git`, { method: 'POST', body, headers: { 'x-hub-signature-256': signGitHub('k', body) } });
      await res.text();
    };
    const status = async () => (await fetch(`${served.url}/-/status`)).json() as Promise<{ live: { revision: string }; lastError: { commit?: string; message: string } | null }>;
    try {
      symlinkSync('.', join(repo.work, 'boot/a'));
      symlinkSync('.', join(repo.work, 'boot/b'));
      const looping = repo.commitPush({}, 'loop');
      await hook();
      const failed = await eventually('the looping commit reported as failed', async () => {
        const s = await status();
        return s.lastError?.commit === looping ? s : undefined;
      });
      assert.equal(failed.live.revision, good);
      assert.match(failed.lastError!.message, /boot\/[ab]: symlink loop/);

      const fixed = repo.commitPush({ 'boot/a': null, 'boot/b': null }, 'fix');
      await hook();
      await eventually('the fix live', async () => ((await status()).live.revision === fixed ? true : undefined));
    } finally {
      assert.equal(await sigterm(served.child), 0, `SIGTERM did not stop serve --repo:\n${served.stderr()}`);
    }
  } finally {
    repo.dispose();
  }
});

test('a FIFO in the data directory is an error naming it; the build does not wait on it', async () => {
  const { data } = await dataDir();
  mkdirSync(join(data, 'cloud/mac'));
  execFileSync('mkfifo', [join(data, 'cloud/mac/52:54:00:00:00:01')]);
  const { code, stderr, hung } = await runBounded(['validate', '--data-path', data]);
  assert.equal(hung, false, 'validate blocked on a FIFO');
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`${data}/cloud/mac/52:54:00:00:00:01: not a regular file but a FIFO`));
});

test('device files (/dev/zero, /dev/null) are never read or published', async (t) => {
  const { data, root } = await dataDir();
  try {
    execFileSync('mknod', [join(data, 'cloud/zero'), 'c', '1', '5'], { stdio: 'ignore' });
  } catch {
    return t.skip('mknod needs CAP_MKNOD');
  }
  execFileSync('rm', [join(data, 'cloud/default')]);
  execFileSync('mknod', [join(data, 'cloud/default'), 'c', '1', '3']);
  symlinkSync('/dev/null', join(data, 'boot/null'));
  const { code, stderr, hung } = await runBounded(['build', '--data-path', data, '--dist-path', join(root, 'dist')]);
  assert.equal(hung, false);
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`${data}/cloud/zero: not a regular file but a character device`));
  assert.match(stderr, new RegExp(`${data}/cloud/default: not a regular file but a character device`));
  assert.match(stderr, new RegExp(`${data}/boot/null: symlink points outside the data directory`));
});

test(`a data file over ${MAX_FILE_BYTES} bytes is an error with the limit`, async () => {
  const { data } = await dataDir();
  writeFileSync(join(data, 'cloud/default'), Buffer.alloc(MAX_FILE_BYTES + 1, 'x'));
  writeFileSync(join(data, 'boot/default'), `${bootConfig('/images/k').trimEnd()}${' '.repeat(MAX_FILE_BYTES - bootConfig('/images/k').length)}`); // exactly the limit: fine
  const { code, stderr } = await runBounded(['validate', '--data-path', data]);
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`${data}/cloud/default: file too large \\(1,048,577 bytes; a data file may hold at most 1 MiB\\)\\n  hint: `));
  assert.doesNotMatch(stderr, /boot\/default/);
});

test('a hard link to a file outside the data directory is not published', async () => {
  const { root, data, dist } = await dataDir();
  writeFileSync(join(root, 'secret'), 'TOPSECRET\n');
  execFileSync('rm', [join(data, 'cloud/default')]);
  linkSync(join(root, 'secret'), join(data, 'cloud/default'));
  const { code, stderr } = await runBounded(['build', '--data-path', data, '--dist-path', dist]);
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`${data}/cloud/default: a hard link \\(2 names for one file\\)`));
  await assert.rejects(readFile(join(dist, 'current/cloud/default')), { code: 'ENOENT' });
});

test('a file flipped between a regular file and a symlink out of the tree during builds is never published', async () => {
  const { root, data } = await dataDir();
  writeFileSync(join(root, 'secret'), 'TOPSECRET\n');
  // The attacker: swaps cloud/default between a file and a link to the secret, by rename (the
  // path always exists), a bounded number of times.
  const flipper = spawn(process.execPath, ['-e', `
    const fs = require('node:fs');
    const [file, secret] = process.argv.slice(1);
    for (let i = 0; i < 2_000_000; i++) {
      const tmp = file + '.tmp';
      fs.rmSync(tmp, { force: true });
      if (i % 2) fs.symlinkSync(secret, tmp); else fs.writeFileSync(tmp, 'harmless\\n');
      fs.renameSync(tmp, file);
    }`, join(data, 'cloud/default'), join(root, 'secret')], { stdio: 'ignore' });
  try {
    let published = 0;
    let refused = 0;
    for (let i = 0; i < 150; i++) {
      const compiled = await compile(data).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
      if (compiled instanceof Error) refused++;
      else if (compiled.files.get('cloud/default')?.toString().includes('TOPSECRET')) published++;
    }
    assert.equal(published, 0, `the outside file was published in ${published} of 150 builds`);
    assert.ok(refused > 0, 'the flipper never caught a build: the test proves nothing');
  } finally {
    flipper.kill('SIGKILL');
  }
});

test('an unreadable directory is an error with its path and a hint, not a crash', async (t) => {
  const { root, data } = await dataDir();
  mkdirSync(join(data, 'cloud/mac'));
  chmodSync(join(data, 'cloud/mac'), 0o000);
  t.after(() => chmodSync(join(data, 'cloud/mac'), 0o755));
  // root reads everything: run bootcfg as nobody to see EACCES.
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  if ('uid' in asUser) chmodSync(root, 0o755);
  const { code, stderr } = await runBounded(['validate', '--data-path', data], asUser);
  assert.equal(code, 1, stderr);
  assert.match(stderr, new RegExp(`^${data}/cloud/mac: cannot read the directory: permission denied \\(EACCES\\)\\n  hint: make it readable`, 'm'));
  assert.doesNotMatch(stderr, /unexpected error|    at /);
});

test('a path too long for the system is an error with its path and a hint, not a crash', async (t) => {
  const { data } = await dataDir();
  t.after(() => execFileSync('rm', ['-rf', join(data, 'l'.repeat(250))])); // GNU rm goes deeper than PATH_MAX; fs.rm cannot
  // The data directory's own path is long (near PATH_MAX), so a few levels below it are too long.
  let long = data;
  while (long.length < 3600) {
    long = join(long, 'l'.repeat(250));
    mkdirSync(long);
  }
  await writeFiles(long, { 'boot/default': bootConfig('/images/k') });
  execFileSync('sh', ['-c', 'cd "$0" && mkdir -p "$1"', join(long, 'boot'), ['m'.repeat(250), 'n'.repeat(250)].join('/')]);
  const { code, stderr } = await runBounded(['validate', '--data-path', long]);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /boot\/m{250}(\/n{250})?: cannot read the directory: path too long \(ENAMETOOLONG\)\n  hint: shorten/);
  assert.doesNotMatch(stderr, /unexpected error|    at /);
});

test('a system error that escapes is printed with its path, without a stack', () => {
  let error: unknown;
  try {
    writeFileSync(`/tmp/${'x'.repeat(300)}`, '');
  } catch (caught) {
    error = caught;
  }
  const text = formatError(error);
  assert.match(text, /^bootcfg: cannot open \/tmp\/x{300}: path too long \(ENAMETOOLONG\)\n  hint: /);
  assert.doesNotMatch(text, /    at /);
});

test('serve --watch: a symlink loop added while serving is a failed build, and SIGTERM stops serve', async () => {
  const { startServe, eventually } = await import('./helpers.js');
  const { root, data, dist } = await dataDir();
  const served = await startServe(['--watch', '--data-path', data, '--dist-path', dist, '--images-path', root]);
  symlinkSync('.', join(data, 'cloud/a'));
  symlinkSync('.', join(data, 'cloud/b'));
  writeFileSync(join(data, 'cloud/default'), 'edited\n'); // an event in a watched directory, whatever the watcher does with links
  await eventually(async () => /build failed[^]*cloud\/[ab]: symlink loop/.test(served.stderr()), 'the looping edit reported as a failed build');
  assert.equal(await sigterm(served.child), 0, `SIGTERM did not stop serve --watch:\n${served.stderr()}`);
});

test('serve --watch on a data directory that holds a symlink loop outside the compiled roots starts, and serves edits', { timeout: 120_000 }, async () => {
  const { startServe, eventually } = await import('./helpers.js');
  const { root, data, dist } = await dataDir();
  mkdirSync(join(data, 'notes'));
  symlinkSync('.', join(data, 'notes/a')); // not read by the build, but under the watched tree
  symlinkSync('.', join(data, 'notes/b'));
  symlinkSync('..', join(data, 'notes/up'));
  const served = await startServe(['--watch', '--settle', '0', '--data-path', data, '--dist-path', dist, '--images-path', root]);
  try {
    writeFileSync(join(data, 'cloud/default'), 'edited\n');
    await eventually(async () => (await fetch(`${served.url}/cloud`).then((r) => r.text())) === 'edited\n', 'the edit served');
  } finally {
    await served.stop();
  }
});
