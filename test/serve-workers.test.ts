// `serve --workers N` (src/serve/workers.ts): N processes answer on one address, the primary
// and N - 1 workers, and the primary alone builds. Real CLI, real processes, 127.0.0.1 port 0:
// each process answers alone when the other is stopped, the workers follow a new build, every
// answer comes wholly from one build while builds land under load, SIGTERM to the primary stops
// every worker, the options that need one process are refused, and a worker started by hand
// says what starts it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WORKER_SEMI_SPACE_MB, workerExecArgv } from '../src/serve/workers.js';
import { bootConfig, eventually, get, runCli, sampleData, startServe, tempDir, writeFiles, type ServeProcess } from './helpers.js';

/** The serve process's direct children: its workers. */
function workersOf(serve: ServeProcess): number[] {
  const pid = serve.child.pid!;
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const kernelOf = (body: string) => /^kernel (\S+)/m.exec(body)?.[1];

async function site(): Promise<{ data: string; dist: string; images: string }> {
  const root = await tempDir();
  return {
    data: await writeFiles(join(root, 'data'), sampleData()),
    dist: join(root, 'dist'),
    images: await writeFiles(join(root, 'images'), { vmlinuz: 'kernel\n' }),
  };
}

async function build(data: string, dist: string): Promise<void> {
  const result = await runCli(['build', '--data-path', data, '--dist-path', dist]);
  assert.equal(result.code, 0, result.stderr);
}

test('serve --workers 2 answers from the primary and one worker on one socket, and both follow a new build', async () => {
  const s = await site();
  await build(s.data, s.dist);
  const serve = await startServe(['--dist-path', s.dist, '--images-path', s.images, '--workers', '2']);
  assert.match(serve.stderr(), /listening on http:\/\/127\.0\.0\.1:\d+ \(revision \w+, 2 processes answering\)/);
  const [worker, ...more] = workersOf(serve);
  assert.deepEqual(more, [], 'one worker beside the primary');
  assert.ok(readFileSync(`/proc/${worker}/cmdline`, 'utf8').split('\0').includes(`--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`), 'a worker\'s young generation is bounded');
  assert.equal(kernelOf((await get(serve.url, '/ipxe')).body), '/images/default/vmlinuz');
  await writeFiles(s.data, { 'boot/default': bootConfig('/images/second/vmlinuz') });
  await build(s.data, s.dist);
  // Each process answers on its own while the other is stopped: each new connection goes to
  // whichever accepts it, so one stopped leaves every new one to the other.
  for (const [stopped, answering] of [[serve.child.pid!, 'the worker'], [worker!, 'the primary']] as const) {
    process.kill(stopped, 'SIGSTOP');
    try {
      await eventually(async () => {
        for (let i = 0; i < 5; i++) if (kernelOf((await get(serve.url, '/ipxe')).body) !== '/images/second/vmlinuz') return false;
        return true;
      }, `${answering} serving the new build alone`);
    } finally {
      process.kill(stopped, 'SIGCONT');
    }
  }
  await eventually(async () => serve.log.length >= 11, 'the access log lines of both');
  assert.ok(serve.log.every((entry) => typeof entry.status === 'number'), 'whole JSON lines from both processes');
});

test('a worker\'s young generation is bounded unless node was given a bound of its own', () => {
  const bound = `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`;
  assert.deepEqual(workerExecArgv(['--import', 'hook.js'], ''), [bound, '--import', 'hook.js']);
  assert.deepEqual(workerExecArgv(['--max-semi-space-size=32'], ''), ['--max-semi-space-size=32']);
  assert.deepEqual(workerExecArgv([], '--max_semi_space_size=8 --trace-warnings'), []);
  assert.deepEqual(workerExecArgv([], '--trace-warnings'), [bound]);
});

test('with --watch and --workers 2, only the primary builds, and every answer comes wholly from one build', async () => {
  const s = await site();
  const serve = await startServe(['--data-path', s.data, '--dist-path', s.dist, '--images-path', s.images, '--watch', '--settle', '0', '--workers', '2']);
  const builds = () => (serve.stderr().match(/^built revision/gm) ?? []).length;
  assert.equal(builds(), 1, 'one build before listening: the workers build nothing');
  const seen = new Map<string, Set<string>>(); // revision → kernels answered under it
  let stop = false;
  const load = (async () => {
    for (let i = 0; i < 2000 && !stop; i++) {
      const answer = await get(serve.url, '/ipxe');
      assert.equal(answer.status, 200);
      const revision = String(answer.headers['x-bootcfg-revision']);
      if (!seen.has(revision)) seen.set(revision, new Set());
      seen.get(revision)!.add(kernelOf(answer.body)!);
    }
  })();
  for (const name of ['one', 'two', 'three']) {
    await writeFiles(s.data, { 'boot/default': bootConfig(`/images/${name}/vmlinuz`) });
    await eventually(async () => kernelOf((await get(serve.url, '/ipxe')).body) === `/images/${name}/vmlinuz`, `build ${name} served`);
  }
  stop = true;
  await load;
  assert.ok(seen.size >= 2, `answers under ${seen.size} revisions`);
  for (const [revision, kernels] of seen) assert.equal(kernels.size, 1, `revision ${revision} answered ${[...kernels].join(' and ')}`);
  assert.equal(workersOf(serve).length, 1, 'the worker only serves: it was not replaced');
});

test('SIGTERM to serve --workers stops every worker before it exits', async () => {
  const s = await site();
  await build(s.data, s.dist);
  const serve = await startServe(['--dist-path', s.dist, '--images-path', s.images, '--workers', '3']);
  const workers = workersOf(serve);
  assert.equal(workers.length, 2);
  const exited = new Promise<string>((resolve) => serve.child.once('exit', (code, signal) => resolve(`${code} ${signal}`)));
  serve.child.kill('SIGTERM');
  assert.equal(await exited, '0 null', serve.stderr());
  assert.deepEqual(workers.filter(running), [], 'workers left running');
});

test('a worker that dies is replaced', async () => {
  const s = await site();
  await build(s.data, s.dist);
  const serve = await startServe(['--dist-path', s.dist, '--images-path', s.images, '--workers', '2']);
  const [first] = workersOf(serve);
  process.kill(first!, 'SIGKILL');
  await eventually(async () => workersOf(serve).length === 1 && !workersOf(serve).includes(first!), 'a new worker');
  assert.match(serve.stderr(), new RegExp(`serve worker ${first} exited \\(SIGKILL\\); starting another`));
  assert.equal((await get(serve.url, '/ipxe')).status, 200);
});

test('a worker started by hand, not by serve --workers, says so and exits 1', () => {
  const worker = spawnSync(process.execPath, [fileURLToPath(new URL('../src/cli/worker-main.js', import.meta.url)), '{}'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(worker.status, 1, worker.stderr);
  assert.match(worker.stderr, /a serve worker runs only as serve --workers starts it/);
  assert.match(worker.stderr, /hint: run `bootcfg serve --workers N`/);
});

test('--workers is refused out of range, and with --repo or the fleet view', async () => {
  const s = await site();
  for (const [args, message] of [
    [['--workers', '0'], /invalid --workers 0/],
    [['--workers', '1.5'], /invalid --workers 1.5/],
    [['--workers', '2', '--repo', 'https://git.invalid/x.git'], /--workers above 1 cannot be combined with --repo/],
    [['--workers', '2', '--admin-address', '127.0.0.1:0'], /--workers above 1 cannot be combined with the fleet view/],
  ] as const) {
    const result = await runCli(['serve', '--dist-path', s.dist, '--images-path', s.images, '--address', '127.0.0.1:0', ...args]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, message);
  }
});
