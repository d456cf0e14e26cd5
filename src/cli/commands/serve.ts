// `bootcfg serve`: answer the URL contract from dist/. With --data-path it builds first (the
// seed's one-command use); with --watch it rebuilds on every change and swaps the new tree in,
// keeping the last good one live when a build fails. With --workers N, N processes answer: this
// one and N - 1 workers (src/serve/workers.ts, each running src/cli/worker-main.ts); this one alone builds.

import { fileURLToPath } from 'node:url';
import { registering, type CommandRun } from './index.js';
import type { BuildResult } from '../../build/build.js';
import { activityOptions, address, checkActivity, distPath, followOptions, imagesPath, repoOptions, type RepoArgs } from '../options.js';
import { accessLog, formatError } from '../report.js';
import { parseAddress, startServer, type RunningServer } from '../../serve/server.js';
import { reloadCollecting } from '../../serve/collect.js';
import { FAST_SETTLE_MS, isJsonData, Rebuilder, SETTLE_MS, watchData, type DataWatch } from '../../build/watch.js';
import { ErrorList, LoadError, UsageError } from '../../compile/errors.js';
import { join } from 'node:path';
import { adminRoutes, startAdmin, MACHINES_PATH } from '../../serve/admin.js';
import type { AccessLogEntry, Handler } from '../../serve/server.js';
import { checkWorkers, startWorkers } from '../../serve/workers.js';
// The builder, git and the fleet's state are imported where they are used (below), so that a
// serve of a tree built elsewhere, and the workers' primary, never load the compiler: ~17 MB
// resident for as long as serve runs.

interface Args extends RepoArgs {
  'pull-interval': number;
  'data-path'?: string;
  'dist-path': string;
  'images-path': string;
  address: string;
  watch: boolean;
  settle: number;
  'admin-address'?: string;
  'access-log'?: string[];
  window: number;
  'loop-count': number;
  'loop-minutes': number;
  workers: number;
}

const command: CommandRun<Args> = {
  builder: (yargs) => yargs.options({
    'data-path': { type: 'string', describe: 'build this data directory before serving (default with --watch: ./data) [env BOOTCFG_DATA_PATH]' },
    'dist-path': distPath,
    'images-path': imagesPath,
    address,
    watch: { type: 'boolean', default: false, describe: 'rebuild on every change under the data directory [env BOOTCFG_WATCH]' },
    settle: { type: 'number', default: SETTLE_MS, describe: `with --watch: build a change once its files have been still this many ms, so a file being written is never served half-written (at most 10 times as long; 0: at once). A change to JSON data files only (boot configs, profiles, groups) is built after ${FAST_SETTLE_MS} ms, and again while it fails to parse until they have been still this long [env BOOTCFG_SETTLE]` },
    'log-level': { type: 'string', describe: 'accepted for the 2015 command line (-log-level=…); no effect [env BOOTCFG_LOG_LEVEL]' },
    ...repoOptions,
    ...followOptions,
    'admin-address': { type: 'string', describe: `serve the fleet view (${MACHINES_PATH}, ${MACHINES_PATH}.json) on this separate HOST:PORT; without it, only with BOOTCFG_ADMIN_TOKEN set, on --address behind that token [env BOOTCFG_ADMIN_ADDRESS]` },
    'access-log': { type: 'string', array: true, describe: 'with the fleet view: also read these access logs (nginx\'s, or serve\'s from before) when the page is first asked for [env BOOTCFG_ACCESS_LOG]' },
    ...activityOptions,
    workers: { type: 'number', default: 1, describe: 'answer from this many processes sharing the address: this one (which alone builds) and N-1 workers it starts; with --watch or --data-path too, not with --repo or the fleet view [env BOOTCFG_WORKERS]' },
  })
    .example('$0 serve --data-path ./data --watch', 'build, serve on 127.0.0.1:8080, rebuild on change')
    .example('$0 serve --dist-path /srv/bootcfg --address 0.0.0.0:8080', 'serve a tree built elsewhere')
    .example('$0 serve --dist-path /srv/bootcfg --workers 2', 'answer from two processes (two cores)')
    .example('$0 -address=0.0.0.0:8080 -data-path=/data', 'the 2015 command line: serve --watch with those flags'),
  handler: async (args) => {
    checkWorkerOptions(args);
    const admin = await startAdminView(args);
    try {
      await serveData(args, admin);
    } finally {
      await admin.close();
    }
  },
};
export default registering(command);

/** A worker process's entry: the serving modules only (src/cli/worker-main.ts). */
const WORKER_MAIN = fileURLToPath(new URL('../worker-main.js', import.meta.url));

async function serveData(args: Args, admin: AdminView): Promise<void> {
  if (args.repo) return (await import('./repo.js')).serveRepo({ ...args, repo: args.repo }, admin);
  const dataPath = args['data-path'] ?? (args.watch ? './data' : undefined);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const distPath = args['dist-path'];
  parseAddress(args.address); // a bad flag fails before any build
  const settleMs = checkSettle(args.settle);

  let server: Serving | undefined;
  let watcher: DataWatch | undefined;
  const building = dataPath === undefined ? undefined : await builderModules();
  // With --watch, the builder keeps the last compile and rebuilds only what a change touches.
  const builder = building && new building.IncrementalBuilder({ dataPath: dataPath!, distPath, pruneLater: args.watch });
  const builds = building && builder && new Rebuilder<BuildResult>(
    () => builder.build(),
    (outcome) => {
      if (!outcome.ok && watcher && builder && halfWritten(outcome.error, dataPath!, builder.lastChanged, watcher)) return; // not settled yet: built again soon
      if (!outcome.ok) return say(`build failed; still serving ${server?.revision ?? 'the last good tree, if dist has one'}:\n${formatError(outcome.error)}`);
      say(building.formatBuild(outcome.value));
      reloadCollecting(outcome.value, () => server?.reload()).catch((error: unknown) => say(formatError(error)));
    },
  );
  // Watch before the first build, so an edit made while it runs queues another.
  watcher = args.watch && builds ? await watchData(dataPath!, (paths) => {
    builder!.changed(paths);
    void builds.request();
  }, { settleMs, notice: say, stirred: () => builder!.prepare() }) : undefined;
  try {
    if (building && !args.watch) say(building.formatBuild(await building.buildOnceInChild({ dataPath: dataPath!, distPath }))); // in a child: serve never holds the fleet; a failure ends serve
    if (builds && args.watch) await builds.request(); // a failure is logged; the last good tree serves
    const own = await startServer({ distPath, imagesPath: args['images-path'], address: args.address, routes: admin.routes(new Map()), log: admin.tap(accessLog(process.stdout)), notice: say });
    server = args.workers > 1 ? await startWorkers(args.workers, WORKER_MAIN, { distPath, imagesPath: args['images-path'] }, own, say).catch(async (error: unknown) => {
      await own.close();
      throw error;
    }) : own;
  } catch (error) {
    await watcher?.close(); // an open watch would keep a failed serve from exiting
    throw error;
  }
  if (watcher) say(`watching ${dataPath} for changes (settle ${settleMs} ms)`);
  process.on('SIGHUP', () => void server!.reload().then((rev) => say(`reloaded revision ${rev}`), (e: unknown) => say(formatError(e))));
  // Before saying "listening": whoever waits for that line may signal at once.
  const stopped = new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  say(`listening on ${server.url} (revision ${server.revision}${args.workers > 1 ? `, ${args.workers} processes answering` : ''})`); // last: everything is ready
  await stopped;
  await watcher?.close();
  await builds?.idle();
  await builder?.close();
  await server.close();
}

/**
 * A failed build whose every problem is in a JSON data file it was built for (a boot config,
 * profile or group just written) may have read the file half-written: the watch reports it
 * again after a longer wait (src/build/watch.ts), and the failure is said only once the file
 * has been still for --settle ms.
 */
function halfWritten(error: unknown, dataPath: string, changed: readonly string[], watcher: DataWatch): boolean {
  const files = new Set(changed.filter(isJsonData).map((rel) => join(dataPath, rel)));
  const problems = error instanceof ErrorList ? error.errors : [error];
  if (files.size === 0 || !problems.every((problem) => problem instanceof LoadError && problem.file !== undefined && files.has(problem.file))) return false;
  return watcher.retry(files);
}

/** What building from --data-path takes, loaded only then. */
async function builderModules() {
  const [build, incremental, child] = await Promise.all([import('../../build/build.js'), import('../../build/incremental.js'), import('../../build/child.js')]);
  return { formatBuild: build.formatBuild, IncrementalBuilder: incremental.IncrementalBuilder, buildOnceInChild: child.buildOnceInChild };
}

/** What the primary serves through: its own server, alone or with its workers. */
type Serving = Pick<RunningServer, 'url' | 'revision' | 'reload' | 'close'>;

/**
 * --workers: the webhook, /-/status and the fleet view live in one process's memory, so for
 * now they need the one process that serves.
 */
function checkWorkerOptions(args: Args): void {
  if (checkWorkers(args.workers) === 1) return;
  if (args.repo) throw new UsageError('--workers above 1 cannot be combined with --repo', { hint: 'serve --repo answers its webhook and /-/status from one process: drop --workers' });
  if (args['admin-address'] !== undefined || process.env.BOOTCFG_ADMIN_TOKEN) throw new UsageError('--workers above 1 cannot be combined with the fleet view', { hint: 'the fleet view counts requests in one process: drop --workers, or --admin-address and BOOTCFG_ADMIN_TOKEN' });
}

/** The fleet view (src/serve/admin.ts) as serve wires it: its routes, its log tap, its listener. */
export interface AdminView {
  /** The routes to add to the boot address, given serve's own extra routes (/-/status…). */
  routes(own: ReadonlyMap<string, Handler>): Map<string, Handler>;
  tap(log: (entry: AccessLogEntry) => void): (entry: AccessLogEntry) => void;
  close(): Promise<void>;
}

/**
 * Off unless asked: --admin-address gives it a listener of its own (never the boot address),
 * BOOTCFG_ADMIN_TOKEN puts it behind a token (on --address when there is no admin address).
 */
async function startAdminView(args: Args): Promise<AdminView> {
  const token = process.env.BOOTCFG_ADMIN_TOKEN || undefined;
  const options = checkActivity(args);
  if (args['admin-address'] === undefined && token === undefined) return { routes: (own) => new Map(own), tap: (log) => log, close: async () => {} };
  if (args['admin-address'] !== undefined) parseAddress(args['admin-address']);
  const { LiveFleet } = await import('../../fleet/live.js');
  const fleet = new LiveFleet(args['dist-path'], options, args['access-log'] ?? []);
  // Filled in once serve knows its own routes: the admin listener serves /-/status too, to link it.
  const adminMap = new Map<string, Handler>();
  const routes = adminRoutes({ report: () => fleet.report(), answer: (path) => fleet.answer(path), token, statusUrl: args.repo ? '/-/status' : undefined });
  const listener = args['admin-address'] === undefined ? undefined : await startAdmin(args['admin-address'], adminMap);
  if (listener) process.stderr.write(`fleet view on ${listener.url}${MACHINES_PATH}${token ? ' (token required)' : ''}\n`);
  return {
    routes: (own) => {
      const status = own.get('/-/status');
      for (const [path, handler] of routes) adminMap.set(path, handler);
      if (status) adminMap.set('/-/status', status);
      return listener ? new Map(own) : new Map([...own, ...routes]);
    },
    tap: (log) => (entry) => {
      log(entry);
      fleet.hit(entry);
    },
    close: async () => listener?.close(),
  };
}

/** --settle: whole milliseconds, at most a minute (then ten minutes' bound on the wait). */
function checkSettle(ms: number): number {
  if (!Number.isInteger(ms) || ms < 0 || ms > 60_000) {
    throw new UsageError(`invalid --settle ${ms}`, { hint: `give whole milliseconds from 0 to 60000; the default is ${SETTLE_MS}` });
  }
  return ms;
}
