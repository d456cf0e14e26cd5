// Stage: serve. `serve --workers N`: N processes answer on one listening socket, so serving
// uses more than one core, as nginx does with worker_processes and the 2015 bootcfg did with
// Go's scheduler: this process (the primary) and N - 1 workers it forks and hands the socket to.
// The kernel gives each new connection to whichever process accepts it first. The primary stays
// the ONE process that builds (--data-path, --watch): while a build step holds it, the
// connections it has wait, as with one process, and new ones go to the workers.
//
// The primary answers too, where it once only built and handed connections out (node:cluster):
// a third process at rest cost ~55 MB of the ~200 MB that two answering processes and it held
// at 100k machines (node's own code is ~38 MB resident in every process), for no more req/s
// (docs/BENCHMARKS.md).
//
// Every worker runs startServer() on its own: it follows dist/current the same way one process
// does (a watch on dist/ and a check once a second, and a fresh look whenever its snapshot is
// gone), and answers each request wholly from one snapshot. After a build of its own the primary
// also tells every worker to reload at once and waits for their answers, so that "built
// revision X" is followed by every process serving X; and before that snapshot goes live, what
// the build changed (src/build/deltas.ts), so a worker's pack reads only that. A worker that
// dies is replaced (after a second, so a crash loop cannot spin); SIGTERM to the primary stops
// every worker before it exits.

import { fork, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:net';
import { onDelta, recordDelta, type Delta, type WrittenLinks } from '../build/deltas.js';
import { UsageError } from '../compile/errors.js';
import { childExecArgv } from '../build/ask-child.js';
import type { RunningServer } from './server.js';

/** How long the primary waits for a worker to answer, to reload, to stop. */
const START_MS = 60_000;
const RELOAD_MS = 10_000;
const STOP_MS = 10_000;
/** Delay before a worker that died is replaced. */
const REPLACE_MS = 1000;
export const MAX_WORKERS = 64;

/** Messages between the primary and its workers. */
type ToWorker = { bootcfg: 'listen' } | { bootcfg: 'reload'; id: number } | ({ bootcfg: 'delta' } & Delta);
type ToPrimary = { bootcfg: 'socket' } | { bootcfg: 'ready' } | { bootcfg: 'reloaded'; id: number };

/** What serve's primary holds instead of its own server: the same questions, asked of every process. */
export interface WorkerPool {
  readonly url: string;
  /** The revision this process serves. */
  readonly revision: string;
  /** Makes every process look at dist/current again; resolves with the revision this one serves. */
  reload(): Promise<string>;
  /** Stops every worker (SIGTERM, then SIGKILL after STOP_MS), then this process's server. */
  close(): Promise<void>;
}

/** What a worker serves: the primary's serve options (src/cli/worker-main.ts is the worker's entry). */
export interface WorkerOptions {
  distPath: string;
  imagesPath: string;
}

/**
 * The young generation of a worker, in MB a semi-space (V8's default is 16). A worker keeps its
 * pack and makes short-lived garbage per request; left to the default, filling the pack grew its
 * young generation to its largest and kept it resident. Measured with `make bench`'s serve phase
 * at 100k machines, two workers, one sitting (default, 8, 4, 2 MB): at rest 257, 238, 234,
 * 210 MB summed over the three processes (PSS 151, 132, 128, 104 MB); 45.6-47.6k, 43.9-48.3k,
 * 42.3-47.3k, 42.3-43.6k req/s; p99 4.1-4.9, 3.4-5.4, 4.2-5.4, 3.6-4.7 ms. With 2 MB a pack's first fill
 * took 4.8-5.5 s against 4.8-4.9 s, and one machine's edit under --watch --workers 2 was as fast.
 */
export const WORKER_SEMI_SPACE_MB = 2;

/** Node's flags for a worker: this process's, and its young generation's bound unless they set one. */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  return childExecArgv(WORKER_SEMI_SPACE_MB, execArgv, nodeOptions);
}

export function checkWorkers(count: number): number {
  if (!Number.isInteger(count) || count < 1 || count > MAX_WORKERS) {
    throw new UsageError(`invalid --workers ${count}`, { hint: `give a whole number of processes from 1 to ${MAX_WORKERS}; 1 (the default) serves from the one process` });
  }
  return count;
}

/**
 * Makes `own`, this process's server, one of `count` that answer on its address: forks
 * `count - 1` workers, each running the module `entry` (src/cli/worker-main.ts: the serving
 * modules only, not the CLI) with `options`, hands each the listening socket, and resolves once
 * every one answers from it; rejects if one exits first. The kernel gives each new connection
 * to whichever process accepts it first, so a process busy with a build takes fewer.
 */
export async function startWorkers(count: number, entry: string, options: WorkerOptions, own: RunningServer, say: (line: string) => void): Promise<WorkerPool> {
  let closing = false;
  /** Whether the first workers all answer: one that exits before then fails the start, and is not replaced. */
  let started = false;
  let nextReload = 0;
  const children = new Set<ChildProcess>();
  const replies = new Map<number, () => void>();
  const onMessage = (child: ChildProcess, message: ToPrimary) => {
    if (message?.bootcfg === 'socket' && !closing) child.send({ bootcfg: 'listen' } satisfies ToWorker, own.server); // the worker is ready for it
    if (message?.bootcfg === 'reloaded') replies.get(message.id)?.();
  };
  const start = (): ChildProcess => {
    const child = fork(entry, [JSON.stringify(options)], { execArgv: workerExecArgv() });
    children.add(child);
    child.on('message', (message: ToPrimary) => onMessage(child, message));
    child.on('error', (error) => say(`serve worker ${child.pid ?? '(not started)'}: ${error.message}`)); // a message it could not take: it exits, or follows dist/current itself
    child.once('exit', (code, signal) => {
      children.delete(child);
      if (closing || !started) return;
      say(`serve worker ${child.pid} exited (${signal ?? `code ${code}`}); starting another in ${REPLACE_MS} ms`);
      setTimeout(() => { if (!closing) void ready(start()).catch((error: unknown) => say(error instanceof Error ? error.message : String(error))); }, REPLACE_MS).unref();
    });
    return child;
  };

  try {
    await Promise.all(Array.from({ length: count - 1 }, () => ready(start())));
  } catch (error) {
    closing = true; // the caller stops: none left behind
    for (const child of children) child.kill('SIGKILL');
    throw error;
  }
  started = true;
  const live = () => [...children].filter((child) => child.connected);
  // What a build of this process changed, sent before its snapshot goes live: each worker's pack
  // then carries the rest over (pack.ts), as this process's does. One that arrives late is unused.
  const stopDeltas = onDelta((delta) => { for (const child of live()) child.send({ bootcfg: 'delta', ...delta } satisfies ToWorker, undefined, {}, () => {}); });
  return {
    get url() { return own.url; },
    get revision() { return own.revision; },
    reload: async () => {
      const asked = live().map((child) => new Promise<void>((resolve) => {
        const id = nextReload++;
        const timer = setTimeout(() => done(), RELOAD_MS); // a worker busy or dying: it follows dist/current itself
        const done = () => {
          clearTimeout(timer);
          replies.delete(id);
          resolve();
        };
        replies.set(id, done);
        child.send({ bootcfg: 'reload', id } satisfies ToWorker);
      }));
      const revision = await own.reload();
      await Promise.all(asked);
      return revision;
    },
    close: async () => {
      closing = true;
      stopDeltas();
      await Promise.all([...children].map(async (child) => {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), STOP_MS);
        await exited;
        clearTimeout(kill);
      }));
      await own.close();
    },
  };
}

/** Resolves when the worker says it answers; rejects if it exits first or takes too long. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`did not start answering within ${START_MS / 1000} s`), START_MS);
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new UsageError(`a serve worker ${why}`, { hint: 'its error is printed above; try --workers 1 to see it alone' }));
    };
    const exited = (code: number | null, signal: NodeJS.Signals | null) => fail(`exited (${signal ?? `code ${code}`}) before answering`);
    child.once('exit', exited);
    const onReady = (message: ToPrimary) => {
      if (message?.bootcfg !== 'ready') return;
      clearTimeout(timer);
      child.off('exit', exited);
      child.off('message', onReady);
      resolve();
    };
    child.on('message', onReady);
  });
}

/** The worker's side: the primary's listening socket, asked for once this process can take it. */
export function socketFromPrimary(): Promise<Server> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new UsageError('a serve worker runs only as serve --workers starts it', { hint: 'run `bootcfg serve --workers N`, which starts its workers and hands them the listening socket' }));
    const take = (message: ToWorker, socket?: Server) => {
      if (message?.bootcfg !== 'listen' || socket === undefined) return;
      process.off('message', take);
      resolve(socket);
    };
    process.on('message', take);
    process.send({ bootcfg: 'socket' } satisfies ToPrimary);
  });
}

/**
 * The worker's side: serve with `server` until the primary says stop (SIGTERM, SIGINT, or the
 * primary gone: the IPC channel closes), answering the primary's reloads.
 */
export async function runWorker(server: RunningServer): Promise<void> {
  const send = (message: ToPrimary) => { if (process.connected) process.send!(message); };
  process.on('message', (message: ToWorker) => {
    if (message?.bootcfg === 'delta' && Array.isArray(message.files)) recordDelta(String(message.from), String(message.to), message.files.filter((file) => typeof file === 'string'), linksOf(message.links));
    if (message?.bootcfg !== 'reload') return;
    const reloaded = () => send({ bootcfg: 'reloaded', id: message.id });
    server.reload().then(reloaded, reloaded); // nothing to serve is answered 503 until a build appears
  });
  process.on('SIGHUP', () => void server.reload().catch(() => {})); // as the primary does; never die of it
  send({ bootcfg: 'ready' });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
    process.once('disconnect', resolve);
  });
  await server.close();
  if (process.connected) process.disconnect(); // the IPC channel would keep this process alive
}

/** The store links in a delta from the primary, if it sent them whole (else the worker's pack reads them from disk). */
function linksOf(links: unknown): WrittenLinks | undefined {
  if (typeof links !== 'object' || links === null) return undefined;
  const { dir, names } = links as Partial<WrittenLinks>;
  const pair = (name: unknown) => Array.isArray(name) && name.length === 2 && typeof name[0] === 'string' && typeof name[1] === 'string';
  return typeof dir === 'string' && Array.isArray(names) && names.every(pair) ? { dir, names } : undefined;
}
