// `make bench`: for each fleet size, one run measuring side by side
//   build      full `bootcfg build` (fresh dist) against `cp -a` of the tree it produced;
//   watch      `bootcfg serve --watch`: ms from one machine's edit to its new answer, a change
//              to 1% of the fleet, a change to the default;
//   repo       the same three changes pushed to a git repo `bootcfg serve --repo` follows
//              (bench/repo-phase.ts), timed from the push (with its webhook) to the new answer;
//   serve      req/s and p50/p99 of `bootcfg serve`, nginx with the generated block, the 2015
//              bootcfg and matchbox, same fleet, same boot storm (bench/serve-phase.ts);
//   groups     the same machines as profiles and groups: the full build against `cp -a`, and
//              serve --watch's edits of one group, 1% of them and a shared profile
//              (bench/groups-phase.ts);
//   memory     peak RSS of build, of serve under load, of serve --watch.
// Results go to $BENCH_DIR/results.json; bench/report.ts turns them into docs/BENCHMARKS.md.
//
// Knobs (env): BENCH_SIZES=1000,10000,100000  BENCH_RUNS=3  BENCH_SECONDS=10
//              BENCH_CONNECTIONS=64  BENCH_DIR=.cache/bench  BENCH_NODE_FLAGS (e.g. --cpu-prof)
//              BENCH_WORKERS (serve --workers and nginx worker_processes; default: the cores)
//              BENCH_PHASES=build,serve,watch,repo,groups (serve alone reuses the last build)

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem, release } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readLiveManifest } from '../src/build/write.js';
import { bootConfig, dataFile, defaultBoot, machine, writeFleet, writeGroupsFleet } from './fleet.js';
import { benchGroups, type GroupsResult } from './groups-phase.js';
import { benchRepo, type RepoResult } from './repo-phase.js';
import { benchServePhase, type ServeResult } from './serve-phase.js';
import { atRest, bootcfgArgs, peakRssKb, restRssKb, ROOT, startServe, timed, untilServed, type RunningServe, type Served } from './proc.js';

export interface SizeResult {
  machines: number;
  dataFiles: number;
  outputFiles: number;
  buildMs: number[];
  cpMs: number[];
  buildRssKb: number[];
  watch: {
    editMs: number[];
    onePercentMs: number[];
    defaultMs: number[];
    /** The rebuild's own time ("built … in N ms" in serve's log) for each change above, same order. */
    editBuildMs?: number[];
    onePercentBuildMs?: number[];
    defaultBuildMs?: number[];
    rssKb?: number;
    /** serve --watch's RSS after the first build, before any change. */
    restRssKb?: number;
    /** For each change above (edits, 1%, defaults), the slowest answer serve gave while building it (ms). */
    slowestMs?: number[];
    firstBuildMs: number;
    /** The first edit after start-up (machine 0), not among editMs: serve's edit path not yet compiled by V8. */
    firstEditMs?: number;
  };
  repo?: RepoResult;
  serve: ServeResult;
  /** The same machines as profiles and groups (BENCH_PHASES=groups). */
  groups?: GroupsResult;
}

/** Full builds against `cp -a` of their output. */
export interface BuildFigures {
  outputFiles: number;
  buildMs: number[];
  cpMs: number[];
  buildRssKb: number[];
}

export interface Results {
  date: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; kernel: string; loadBefore: number[]; loadAfter: number[] };
  versions: Record<string, string>;
  config: { runs: number; seconds: number; connections: number; wrkThreads: number; nginxWorkers: number; benchDir: string };
  sizes: SizeResult[];
  /** When the serve phase ran on its own (BENCH_PHASES=serve), its own run's date, load and versions. */
  serveRun?: { date: string; machine: Results['machine']; versions: Record<string, string> };
}

const env = process.env;
const SIZES = (env.BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
const RUNS = Number(env.BENCH_RUNS ?? 3);
const SECONDS = Number(env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 64);
const DIR = resolve(ROOT, env.BENCH_DIR ?? '.cache/bench');
const WRK_THREADS = 1; // one load thread: wrk, the servers and everyone else share the cores
const WORKERS = Number(env.BENCH_WORKERS ?? cpus().length); // bootcfg serve's processes = nginx's workers
const PHASES = new Set((env.BENCH_PHASES ?? 'build,serve,watch,repo,groups').split(','));
const FLEET_VERSION = 1; // bump when fleet.ts changes what it writes (either fleet)

const say = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function main(): Promise<void> {
  await mkdir(DIR, { recursive: true });
  const images = join(DIR, 'images');
  await mkdir(join(images, 'fedora-coreos/41'), { recursive: true });
  await writeFile(join(images, 'fedora-coreos/41/vmlinuz'), 'not a kernel\n');
  const results: Results = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', memoryGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), loadBefore: loadavg(), loadAfter: [] },
    versions: versions(),
    config: { runs: RUNS, seconds: SECONDS, connections: CONNECTIONS, wrkThreads: WRK_THREADS, nginxWorkers: WORKERS, benchDir: DIR },
    sizes: [],
  };
  const earlier = await readFile(join(DIR, 'results.json'), 'utf8').then((text) => JSON.parse(text) as Results, () => undefined);
  for (const n of SIZES) {
    results.sizes.push(keepEarlier(await benchSize(n, images), earlier?.sizes.find((r) => r.machines === n)));
    results.machine.loadAfter = loadavg();
    if (PHASES.has('serve')) results.serveRun = { date: results.date, machine: results.machine, versions: results.versions };
    await writeFile(join(DIR, 'results.json'), `${JSON.stringify(results, null, 1)}\n`); // partial results survive a stop
  }
  say(`results in ${join(DIR, 'results.json')}; run \`node lib/bench/report.js\` to update docs/BENCHMARKS.md`);
}

/** A run of some phases keeps the other phases' figures from the previous results.json. */
function keepEarlier(now: SizeResult, before: SizeResult | undefined): SizeResult {
  if (!before) return now;
  return {
    ...now,
    ...(PHASES.has('build') ? {} : { buildMs: before.buildMs, cpMs: before.cpMs, buildRssKb: before.buildRssKb, outputFiles: before.outputFiles }),
    ...(PHASES.has('serve') ? {} : { serve: before.serve }),
    ...(PHASES.has('watch') ? {} : { watch: before.watch }),
    ...(PHASES.has('repo') ? {} : { repo: before.repo }),
    ...(PHASES.has('groups') ? {} : { groups: before.groups }),
  };
}

async function benchSize(n: number, images: string): Promise<SizeResult> {
  const base = join(DIR, `n${n}`);
  const data = join(base, 'data');
  if (['build', 'serve', 'watch', 'repo'].some((phase) => PHASES.has(phase))) await ensureFleet(data, n);
  const result: SizeResult = {
    machines: n, dataFiles: 2 * n + 2, outputFiles: 0, buildMs: [], cpMs: [], buildRssKb: [],
    watch: { editMs: [], onePercentMs: [], defaultMs: [], editBuildMs: [], onePercentBuildMs: [], defaultBuildMs: [], slowestMs: [], firstBuildMs: 0 }, serve: { bootcfg: [], nginx: [], nodeCeiling: [] },
  };
  let dist = join(base, 'build-1');
  if (PHASES.has('build') || (PHASES.has('serve') && !existsSync(dist))) {
    const built = await benchBuild(`n=${n}`, base, data, RUNS, say);
    Object.assign(result, built.figures);
    dist = built.dist;
  }
  if (PHASES.has('serve')) result.serve = await benchServePhase({ n, dist, data, images, base, runs: RUNS, seconds: SECONDS, connections: CONNECTIONS, workers: WORKERS, say });
  if (PHASES.has('watch')) await benchWatch(n, base, data, images, result);
  if (PHASES.has('repo')) result.repo = await benchRepo(n, base, data, images, RUNS, say);
  if (PHASES.has('groups')) {
    // The groups phase's 1% edits hold ~1.5M files at 100k machines (three snapshots' store
    // dirs): the seed fleet's kept build (~350k files) goes first, or a tmpfs runs out of inodes
    // (3M on a 24 GB one). A later serve phase builds it again.
    await rm(dist, { recursive: true, force: true });
    const groupsBase = join(DIR, `g${n}`);
    await ensureFleet(join(groupsBase, 'data'), n, writeGroupsFleet);
    result.groups = await benchGroups({ n, base: groupsBase, data: join(groupsBase, 'data'), images, runs: RUNS, say });
  }
  return result;
}

async function ensureFleet(data: string, n: number, write = writeFleet): Promise<void> {
  const stamp = join(data, `.fleet-v${FLEET_VERSION}`);
  if (existsSync(stamp)) return;
  say(`n=${n}: writing the fleet to ${data}`);
  await write(data, n);
  await writeFile(stamp, '');
}

/** Full builds into fresh dist dirs under `base`, each against cp -a of its output; keeps the first build. */
export async function benchBuild(label: string, base: string, data: string, runs: number, say: (line: string) => void): Promise<{ figures: BuildFigures; dist: string }> {
  const result: BuildFigures = { outputFiles: 0, buildMs: [], cpMs: [], buildRssKb: [] };
  await removeAll(base, /^(build|copy)-\d+$/);
  for (let run = 1; run <= runs; run++) {
    const dist = join(base, `build-${run}`);
    await syncDisk();
    const built = await timed(process.execPath, bootcfgArgs(['build', '--data-path', data, '--dist-path', dist]));
    await syncDisk();
    // The whole dist: a snapshot's answer directories are links into dist/dirs/ (docs/dist-layout.md).
    const copied = await timed('cp', ['-a', dist, join(base, `copy-${run}`)]);
    result.buildMs.push(built.ms);
    result.cpMs.push(copied.ms);
    if (built.maxRssKb) result.buildRssKb.push(built.maxRssKb);
    result.outputFiles = Object.keys((await readLiveManifest(dist))?.manifest.files ?? {}).length;
    say(`${label} run ${run}: build ${built.ms.toFixed(0)} ms (rss ${built.maxRssKb} KB), cp -a ${copied.ms.toFixed(0)} ms`);
    await removeAll(base, run > 1 ? new RegExp(`^(build|copy)-${run}$`) : /^copy-1$/); // outside the timings
  }
  return { figures: result, dist: join(base, 'build-1') };
}

/** serve --watch: ms from a write under data/ until the new answer is served. */
async function benchWatch(n: number, base: string, data: string, images: string, result: SizeResult): Promise<void> {
  const dist = join(base, 'watch-dist');
  await rm(dist, { recursive: true, force: true });
  const started = performance.now();
  const serve = await startServe(['--data-path', data, '--dist-path', dist, '--images-path', images, '--address', '127.0.0.1:0', '--watch']);
  result.watch.firstBuildMs = performance.now() - started;
  result.watch.restRssKb = await restRssKb(serve);
  const edited: number[] = [];
  try {
    // One edit not counted, as the serve phase warms each server up: the first after start-up
    // pays for V8 compiling the edit's path (the full build ran in a child). Reported on its own.
    const first = machine(0);
    edited.push(first.index);
    const firstTag = `first-${Date.now()}`;
    const warm = await timeUntilServed(serve, `/ipxe?uuid=${first.uuid}&mac=${first.mac}`, firstTag, () => writeFile(join(data, dataFile('boot', first)), bootConfig(first, firstTag)));
    result.watch.firstEditMs = warm.ms;
    say(`n=${n}: the first edit after start-up served after ${warm.ms.toFixed(0)} ms (rebuild ${warm.buildMs} ms; not counted)`);
    for (let run = 1; run <= RUNS; run++) {
      const m = machine((run * 7919) % n);
      edited.push(m.index);
      const tag = `edit-${run}-${Date.now()}`;
      const { ms, buildMs, slowestMs } = await timeUntilServed(serve, `/ipxe?uuid=${m.uuid}&mac=${m.mac}`, tag, () => writeFile(join(data, dataFile('boot', m)), bootConfig(m, tag)));
      result.watch.slowestMs!.push(slowestMs);
      result.watch.editMs.push(ms);
      result.watch.editBuildMs!.push(buildMs);
      say(`n=${n} run ${run}: one machine's edit served after ${ms.toFixed(0)} ms (rebuild ${buildMs} ms)`);
    }
    for (let run = 1; run <= RUNS; run++) {
      const count = Math.max(1, Math.floor(n / 100));
      const first = (run * 104729) % n;
      const machines = Array.from({ length: count }, (_, i) => machine((first + i * 97) % n));
      edited.push(...machines.map((m) => m.index));
      const tag = `fleet-${run}-${Date.now()}`;
      const last = machines.at(-1)!;
      const { ms, buildMs, slowestMs } = await timeUntilServed(serve, `/ipxe?uuid=${last.uuid}&mac=${last.mac}`, tag, async () => {
        for (const m of machines) await writeFile(join(data, dataFile('boot', m)), bootConfig(m, tag));
      });
      result.watch.slowestMs!.push(slowestMs);
      result.watch.onePercentMs.push(ms);
      result.watch.onePercentBuildMs!.push(buildMs);
      say(`n=${n} run ${run}: ${count} machines' edits served after ${ms.toFixed(0)} ms (rebuild ${buildMs} ms)`);
    }
    for (let run = 1; run <= RUNS; run++) {
      const tag = `default-${run}-${Date.now()}`;
      const { ms, buildMs, slowestMs } = await timeUntilServed(serve, '/ipxe', tag, () => writeFile(join(data, 'boot/default'), defaultBoot(tag)));
      result.watch.slowestMs!.push(slowestMs);
      result.watch.defaultMs.push(ms);
      result.watch.defaultBuildMs!.push(buildMs);
      say(`n=${n} run ${run}: default's edit served after ${ms.toFixed(0)} ms (rebuild ${buildMs} ms)`);
    }
    result.watch.rssKb = peakRssKb(serve.pid);
  } finally {
    // How long each snapshot's answer pack took to fill (it competes with the next edit's build).
    for (const line of serve.log().match(/^packed revision .*$/gm) ?? []) say(`n=${n} serve: ${line}`);
    await serve.stop();
    for (const i of new Set(edited)) await writeFile(join(data, dataFile('boot', machine(i))), bootConfig(machine(i)));
    await writeFile(join(data, 'boot/default'), defaultBoot());
    await rm(dist, { recursive: true, force: true });
  }
}

/**
 * Runs `change`, then polls `path` until its body holds `tag` (proc.ts's untilServed: bounded,
 * and failing at once when serve says the build failed). Also returns the rebuild's own time
 * from serve's log, to split detection from building.
 */
export async function timeUntilServed(serve: RunningServe, path: string, tag: string, change: () => Promise<unknown>): Promise<Served> {
  await sleep(200); // let the watcher settle from the previous change
  await atRest(serve);
  const mark = serve.log().length;
  const started = performance.now();
  await change();
  return untilServed(serve, path, tag, mark, started);
}

async function removeAll(dir: string, pattern: RegExp): Promise<void> {
  const names = (await readdir(dir)).filter((name) => pattern.test(name));
  if (names.length > 0) await timed('rm', ['-rf', ...names.map((name) => join(dir, name))]);
}

/** Flushes dirty pages so one measurement does not pay for the previous one's writeback. */
async function syncDisk(): Promise<void> {
  spawnSync('sync');
}

function versions(): Record<string, string> {
  const run = (cmd: string, args: string[]) => {
    const out = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${out.stdout}${out.stderr}`.trim().split('\n')[0] ?? '?';
  };
  let commit = '?';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch { /* not a git checkout */ }
  return { bootcfg: commit, node: process.version, nginx: run('nginx', ['-v']), wrk: run('wrk', ['-v']), cp: run('cp', ['--version']) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
