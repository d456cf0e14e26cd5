// Child processes for the benchmarks: a command timed from spawn to exit, the bootcfg CLI with
// its peak RSS reported by rss-hook, a long-running `bootcfg serve` waited for until it says
// "listening", and a process's peak RSS read from /proc while it runs.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { QUIET_MS } from '../src/serve/collect.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = `${ROOT}bin/bootcfg.js`;
const HOOK = new URL('./rss-hook.js', import.meta.url).href;

export interface Timed {
  ms: number;
  stdout: string;
  stderr: string;
  /** Peak RSS in KB, when the process ran under rss-hook. */
  maxRssKb?: number;
}

/** Runs a command to completion; rejects on a non-zero exit. */
export function timed(command: string, args: readonly string[], options: { cwd?: string } = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${stderr.slice(-2000)}`));
      const rss = /bench-maxrss-kb (\d+)/.exec(stderr);
      resolve({ ms, stdout, stderr, maxRssKb: rss ? Number(rss[1]) : undefined });
    });
  });
}

/** The bootcfg CLI under rss-hook, with extra node flags (e.g. --cpu-prof) from BENCH_NODE_FLAGS. */
export function bootcfgArgs(args: readonly string[]): string[] {
  const extra = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  return [...extra, '--import', HOOK, CLI, ...args];
}

export interface RunningServe {
  url: string;
  pid: number;
  child: ChildProcess;
  /** stderr so far (build lines, errors). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * A change served: write (or push) → the new answer (ms), the build's own time from serve's
 * log, and the slowest answer serve gave the poller meanwhile (serve builds in the process that
 * answers: a build that does not yield keeps every request waiting).
 */
export interface Served {
  ms: number;
  buildMs: number;
  slowestMs: number;
}

/** Starts `bootcfg serve …` and resolves once it prints "listening on URL" (bounded wait). */
export function startServe(args: readonly string[], timeoutMs = 15 * 60_000): Promise<RunningServe> {
  return startListening(bootcfgArgs(['serve', ...args]), timeoutMs);
}

/** Starts `node …args` and resolves once it prints "listening on URL" to stderr. */
export function startListening(nodeArgs: readonly string[], timeoutMs = 60_000): Promise<RunningServe> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not listen within ${timeoutMs} ms:\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (!match || child.pid === undefined) return;
      clearTimeout(timer);
      child.stderr!.removeAllListeners('data');
      child.stderr!.on('data', (more: Buffer) => (stderr += more.toString()));
      resolve({
        url: match[1]!,
        pid: child.pid,
        child,
        log: () => stderr,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
          await exited;
          clearTimeout(kill);
        },
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${code} before listening:\n${stderr.slice(-2000)}`));
    });
  });
}

/** Current RSS (VmRSS) of a process in KB, or undefined if it is gone. */
export function currentRssKb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * serve's RSS at rest (KB): once its answer pack holds the build it last made, and past the
 * quiet time after which it gives back that burst's garbage (src/serve/collect.ts).
 */
export async function restRssKb(serve: RunningServe): Promise<number | undefined> {
  await atRest(serve);
  await sleep(QUIET_MS + 1000);
  return currentRssKb(serve.pid);
}

/** Peak RSS (VmHWM) of a running process in KB, or undefined if it is gone. */
export function peakRssKb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** A process and its direct children (nginx's master and workers), by /proc. */
export function withChildren(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return [pid, ...children];
  } catch {
    return [pid];
  }
}

/**
 * Waits (up to 2 minutes) until serve has read the live build into its answer pack (a "packed
 * revision R" line for the last "built revision R"): an edit is measured from a server at rest,
 * as an operator's edit meets it, not while it still reads the build before (docs/BENCHMARKS.md).
 */
export async function atRest(serve: RunningServe): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const log = serve.log();
    const built = [...log.matchAll(/^built revision ([^\s:]+)/gm)].at(-1);
    // The pack may be done before the builder's line (it follows dist/current, not the log).
    if (built && log.includes(`packed revision ${built[1]}:`)) return;
    await sleep(100);
  }
}

/**
 * Polls `path` on serve every 5 ms until its body holds `tag` (bounded to 10 minutes), and
 * returns the ms since `started`, the own time of the build that made it live (from serve's
 * log after `mark`) and the slowest of the polls. Fails at once, with serve's words, when serve
 * says a build or fetch failed after `mark` or exits: a build that cannot finish (a full disk)
 * is not waited for.
 */
export async function untilServed(serve: RunningServe, path: string, tag: string, mark: number, started: number): Promise<Served> {
  let slowestMs = 0;
  while (performance.now() - started < 600_000) {
    const asked = performance.now();
    const body = await fetch(serve.url + path).then((response) => response.text(), () => '');
    slowestMs = Math.max(slowestMs, performance.now() - asked);
    if (body.includes(tag)) {
      const ms = performance.now() - started;
      const builds = () => [...serve.log().slice(mark).matchAll(/^built revision .* in (\d+) ms/gm)].map((m) => Number(m[1]));
      for (let i = 0; i < 100 && builds().length === 0; i++) await sleep(10); // the log line may trail the answer
      return { ms, buildMs: builds().at(-1) ?? Number.NaN, slowestMs }; // the build that made it live (an earlier one may have caught half the writes)
    }
    const failed = /^(build|fetch) failed[\s\S]*/m.exec(serve.log().slice(mark));
    if (failed) throw new Error(`${path} never showed ${tag}: serve said\n${failed[0].slice(0, 2000)}`);
    if (serve.child.exitCode !== null || serve.child.signalCode !== null) throw new Error(`${path} never showed ${tag}: serve exited\n${serve.log().slice(-2000)}`);
    await sleep(5);
  }
  throw new Error(`${path} never showed ${tag} within 10 minutes`);
}
