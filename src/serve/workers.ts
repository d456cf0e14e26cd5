// Stage: serve. `serve --workers N`: N worker processes (node:cluster) share the listening
// socket and answer requests, so serving uses more than one core, as nginx does with
// worker_processes and the 2015 bootcfg did with Go's scheduler. The primary stays the ONE
// process that builds (--data-path, --watch) and never answers a request itself.
//
// Every worker runs startServer() on its own: it follows dist/current the same way one process
// does (a watch on dist/ and a check once a second, and a fresh look whenever its snapshot is
// gone), and answers each request wholly from one snapshot. After a build of its own the primary
// also tells every worker to reload at once and waits for their answers, so that "built
// revision X" is followed by every worker serving X; and before that snapshot goes live, what
// the build changed (src/build/deltas.ts), so a worker's pack reads only that. A worker that
// dies is replaced (after a second, so a crash loop cannot spin); SIGTERM to the primary stops
// every worker before it exits.

import cluster, { type Worker } from 'node:cluster';
import { onDelta, recordDelta, type Delta, type WrittenLinks } from '../build/deltas.js';
import { UsageError } from '../compile/errors.js';
import { childExecArgv } from '../build/ask-child.js';
import type { RunningServer } from './server.js';

/** How long the primary waits for workers to listen, to reload, to stop. */
const START_MS = 60_000;
const RELOAD_MS = 10_000;
const STOP_MS = 10_000;
/** Delay before a worker that died is replaced. */
const REPLACE_MS = 1000;
export const MAX_WORKERS = 64;

/** Messages between the primary and its workers. */
type ToWorker = { bootcfg: 'reload'; id: number } | ({ bootcfg: 'delta' } & Delta);
type ToPrimary = { bootcfg: 'ready'; url: string; revision: string } | { bootcfg: 'reloaded'; id: number; revision: string };

/** What serve's primary holds instead of a server: the same questions, asked of the workers. */
export interface WorkerPool {
  url: string;
  /** The revision the workers last said they serve. */
  readonly revision: string;
  /** Makes every worker look at dist/current again; resolves with the revision they serve. */
  reload(): Promise<string>;
  /** Stops every worker (SIGTERM, then SIGKILL after STOP_MS). */
  close(): Promise<void>;
  /** Process ids of the workers now running. */
  pids(): number[];
}

/** What a worker serves: the primary's serve options (src/cli/worker-main.ts is the worker's entry). */
export interface WorkerOptions {
  distPath: string;
  imagesPath: string;
  address: string;
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
 * Forks `count` workers, each running the module `entry` (src/cli/worker-main.ts: the serving
 * modules only, not the CLI) with `options`, and resolves once every one listens; rejects if
 * one exits first.
 */
export async function startWorkers(count: number, entry: string, options: WorkerOptions, say: (line: string) => void): Promise<WorkerPool> {
  cluster.setupPrimary({ exec: entry, args: [JSON.stringify(options)], execArgv: workerExecArgv() });
  let closing = false;
  let revision = '-';
  let url = '';
  let nextReload = 0;
  const replies = new Map<number, (revision: string) => void>();
  const onMessage = (message: ToPrimary) => {
    if (message?.bootcfg === 'ready') {
      url = message.url;
      revision = message.revision;
    } else if (message?.bootcfg === 'reloaded') replies.get(message.id)?.(message.revision);
  };
  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', onMessage);
    return worker;
  };

  const first = Array.from({ length: count }, fork);
  await Promise.all(first.map((worker) => ready(worker)));
  // What a build of this process changed, sent before its snapshot goes live: each worker's pack
  // then carries the rest over (pack.ts), as one process's does. One that arrives late is unused.
  const stopDeltas = onDelta((delta) => { for (const worker of live()) worker.send({ bootcfg: 'delta', ...delta } satisfies ToWorker, undefined, () => {}); });
  cluster.on('exit', (worker, code, signal) => {
    if (closing) return;
    say(`serve worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another in ${REPLACE_MS} ms`);
    setTimeout(() => { if (!closing) fork(); }, REPLACE_MS).unref();
  });

  const live = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
  return {
    get url() { return url; },
    get revision() { return revision; },
    pids: () => live().map((w) => w.process.pid!),
    reload: async () => {
      const asked = live().map((worker) => new Promise<string>((resolve) => {
        const id = nextReload++;
        const timer = setTimeout(() => done(revision), RELOAD_MS); // a worker busy or dying: it follows dist/current itself
        const done = (answered: string) => {
          clearTimeout(timer);
          replies.delete(id);
          resolve(answered);
        };
        replies.set(id, done);
        worker.send({ bootcfg: 'reload', id } satisfies ToWorker);
      }));
      const revisions = await Promise.all(asked);
      revision = revisions.at(-1) ?? revision;
      return revision;
    },
    close: async () => {
      closing = true;
      stopDeltas();
      await Promise.all(live().map(async (worker) => {
        const exited = new Promise<void>((resolve) => worker.process.once('exit', () => resolve()));
        if (worker.process.exitCode !== null || worker.process.signalCode !== null) return;
        worker.process.kill('SIGTERM');
        const kill = setTimeout(() => worker.process.kill('SIGKILL'), STOP_MS);
        await exited;
        clearTimeout(kill);
      }));
    },
  };
}

/** Resolves when the worker says it listens; rejects if it exits first or takes too long. */
function ready(worker: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`did not listen within ${START_MS / 1000} s`), START_MS);
    const fail = (why: string) => {
      clearTimeout(timer);
      worker.process.kill('SIGKILL');
      reject(new UsageError(`a serve worker ${why}`, { hint: 'its error is printed above; try --workers 1 to see it alone' }));
    };
    worker.once('exit', (code, signal) => fail(`exited (${signal ?? `code ${code}`}) before listening`));
    worker.on('message', (message: ToPrimary) => {
      if (message?.bootcfg !== 'ready') return;
      clearTimeout(timer);
      worker.removeAllListeners('exit');
      resolve();
    });
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
    server.reload().then((revision) => send({ bootcfg: 'reloaded', id: message.id, revision }), () => send({ bootcfg: 'reloaded', id: message.id, revision: '-' }));
  });
  process.on('SIGHUP', () => void server.reload().catch(() => {})); // as the primary does; never die of it
  send({ bootcfg: 'ready', url: server.url, revision: server.revision });
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
