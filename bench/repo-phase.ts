// The `repo` phase of `make bench`: `bootcfg serve --repo` following a git repo of the fleet.
// The same three changes as the watch phase (one machine's boot config, 1% of the fleet's, the
// default), each committed to the repo serve follows and announced by a signed push webhook,
// as a forge would; the time is from the commit (the push) until a poll of that machine's URL
// returns the new answer. The repo is made once from the fleet's data and reused.

import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bootConfig, dataFile, defaultBoot, machine } from './fleet.js';
import { atRest, peakRssKb, restRssKb, startServe, untilServed, type RunningServe, type Served } from './proc.js';

export interface RepoResult {
  editMs: number[];
  onePercentMs: number[];
  defaultMs: number[];
  /** The rebuild's own time ("built … in N ms" in serve's log) for each change above, same order. */
  editBuildMs: number[];
  onePercentBuildMs: number[];
  defaultBuildMs: number[];
  firstBuildMs: number;
  /** serve's RSS after the first build, before any change (KB). */
  restRssKb?: number;
  /** serve's peak RSS over the phase (KB). */
  rssKb?: number;
  /** For each change above, the slowest answer serve gave between the push and the new answer (ms). */
  slowestMs?: number[];
}

const git = (repo: string, args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.name=bench', '-c', 'user.email=bench@bootcfg.invalid', ...args], { maxBuffer: 1 << 26 });

/** A git repo holding the fleet's data at its root, committed once. */
async function ensureRepo(repo: string, data: string): Promise<void> {
  const stamp = `${repo}.made`;
  if (existsSync(stamp)) return;
  await rm(repo, { recursive: true, force: true });
  await cp(data, repo, { recursive: true, filter: (path) => !path.split('/').pop()!.startsWith('.fleet') });
  git(repo, ['init', '-q', '-b', 'main']);
  git(repo, ['add', '-A']);
  git(repo, ['commit', '-q', '-m', 'fleet']);
  await writeFile(stamp, '');
}

export async function benchRepo(n: number, base: string, data: string, images: string, runs: number, say: (line: string) => void): Promise<RepoResult> {
  const repo = join(base, 'repo');
  say(`n=${n}: the fleet as a git repo`);
  await ensureRepo(repo, data);
  const dist = join(base, 'repo-dist');
  const cache = join(base, 'repo-cache');
  await rm(dist, { recursive: true, force: true });
  const secret = randomBytes(16).toString('hex');
  process.env.BOOTCFG_WEBHOOK_SECRET = secret; // read from the environment only, as serve asks
  const result: RepoResult = { editMs: [], onePercentMs: [], defaultMs: [], editBuildMs: [], onePercentBuildMs: [], defaultBuildMs: [], slowestMs: [], firstBuildMs: 0 };
  const started = performance.now();
  const serve = await startServe(['--repo', repo, '--ref', 'main', '--cache-path', cache, '--dist-path', dist, '--images-path', images, '--address', '127.0.0.1:0', '--pull-interval', '0']);
  result.firstBuildMs = performance.now() - started;
  result.restRssKb = await restRssKb(serve);
  const edited: number[] = [];
  const commit = async (tag: string, files: [string, string][]) => {
    for (const [path, content] of files) await writeFile(join(repo, path), content);
    git(repo, ['add', '--', ...files.map(([path]) => path)]);
    git(repo, ['commit', '-q', '-m', tag]);
  };
  try {
    for (let run = 1; run <= runs; run++) {
      const m = machine((run * 7919 + 13) % n);
      edited.push(m.index);
      const tag = `repo-edit-${run}-${Date.now()}`;
      const { ms, buildMs, slowestMs } = await servedAfterPush(serve, secret, `/ipxe?uuid=${m.uuid}&mac=${m.mac}`, tag, () => commit(tag, [[dataFile('boot', m), bootConfig(m, tag)]]));
      result.slowestMs!.push(slowestMs);
      result.editMs.push(ms);
      result.editBuildMs.push(buildMs);
      say(`n=${n} run ${run}: repo, one machine's edit served ${ms.toFixed(0)} ms after the push (build ${buildMs} ms)`);
    }
    for (let run = 1; run <= runs; run++) {
      const count = Math.max(1, Math.floor(n / 100));
      const first = (run * 104729 + 17) % n;
      const machines = Array.from({ length: count }, (_, i) => machine((first + i * 97) % n));
      edited.push(...machines.map((m) => m.index));
      const tag = `repo-fleet-${run}-${Date.now()}`;
      const last = machines.at(-1)!;
      const { ms, buildMs, slowestMs } = await servedAfterPush(serve, secret, `/ipxe?uuid=${last.uuid}&mac=${last.mac}`, tag, () => commit(tag, machines.map((m) => [dataFile('boot', m), bootConfig(m, tag)])));
      result.slowestMs!.push(slowestMs);
      result.onePercentMs.push(ms);
      result.onePercentBuildMs.push(buildMs);
      say(`n=${n} run ${run}: repo, ${count} machines' edits served ${ms.toFixed(0)} ms after the push (build ${buildMs} ms)`);
    }
    for (let run = 1; run <= runs; run++) {
      const tag = `repo-default-${run}-${Date.now()}`;
      const { ms, buildMs, slowestMs } = await servedAfterPush(serve, secret, '/ipxe', tag, () => commit(tag, [['boot/default', defaultBoot(tag)]]));
      result.slowestMs!.push(slowestMs);
      result.defaultMs.push(ms);
      result.defaultBuildMs.push(buildMs);
      say(`n=${n} run ${run}: repo, default's edit served ${ms.toFixed(0)} ms after the push (build ${buildMs} ms)`);
    }
    result.rssKb = peakRssKb(serve.pid);
  } finally {
    await serve.stop();
    // Put the repo back as the fleet wrote it, in one commit, for the next run.
    const restore: [string, string][] = [...new Set(edited)].map((i) => [dataFile('boot', machine(i)), bootConfig(machine(i))]);
    restore.push(['boot/default', defaultBoot()]);
    await commit('restore', restore).catch(() => {});
    await rm(dist, { recursive: true, force: true });
    await rm(cache, { recursive: true, force: true }); // serve's kept tree and mirror (~200k files at 100k): the groups phase needs the inodes
  }
  return result;
}

/** Runs `push`, then sends the signed webhook and polls `path` until it shows `tag` (proc.ts's untilServed). */
async function servedAfterPush(serve: RunningServe, secret: string, path: string, tag: string, push: () => Promise<void>): Promise<Served> {
  await sleep(200);
  await atRest(serve);
  const mark = serve.log().length;
  await push();
  const started = performance.now();
  const body = JSON.stringify({ ref: 'refs/heads/main' });
  const signature = createHmac('sha256', secret).update(body).digest('hex');
  // A kept-alive connection serve closed during a long build is tried again, as a forge retries.
  const send = () => fetch(`${serve.url}/-/hooks/git`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${signature}` } });
  const hook = await send().catch(() => send());
  if (hook.status !== 202) throw new Error(`the webhook was answered ${hook.status}: ${await hook.text()}`);
  return untilServed(serve, path, tag, mark, started);
}
