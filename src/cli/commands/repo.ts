// What the --repo flags (declared in src/cli/options.ts) do: build and validate fetch one exact
// revision and use its tree as the data directory; serve follows the ref (poll and webhook),
// rebuilding on every new commit while the last good one stays live. Kept here so the lead's
// command files each need one line to take a repo.

import { BootcfgError, ExitStatus, UsageError } from '../../compile/errors.js';
import { fetchRevision, redactUrl, relocateError, type Revision } from '../../git/fetch.js';
import { Follower } from '../../git/follow.js';
import { accessLog, formatError } from '../report.js';
import { startServer, type RunningServer } from '../../serve/server.js';
import { reloadCollecting } from '../../serve/collect.js';
import { readLiveManifest } from '../../build/write.js';
import type { AdminView } from './serve.js';
import type { RepoArgs } from '../options.js';

/** Where the data comes from: --repo at --ref (fetched now), else --data-path. */
export async function repoSource(args: RepoArgs): Promise<RepoSource> {
  if (!args.repo) return { dataPath: args['data-path'] ?? './data' };
  const fetched = await fetchRevision({ repo: args.repo, ref: args.ref, cachePath: args['cache-path'] });
  return { dataPath: fetched.dataPath, revision: fetched.sha, source: `${redactUrl(args.repo)}@${args.ref ?? 'HEAD'}`, fetched };
}

export interface RepoSource {
  dataPath: string;
  revision?: string;
  source?: string;
  fetched?: Revision;
}

/** Run a build or compile; its errors name files as in the repo, with the commit, not the cache. */
export async function inRepo<T>(source: RepoSource, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw source.fetched && error instanceof BootcfgError ? relocateError(error, source.fetched) : error;
  }
}

export interface ServeRepoArgs extends RepoArgs {
  repo: string;
  'dist-path': string;
  'images-path': string;
  address: string;
  'pull-interval': number;
}

/** serve --repo: first sync, then serve with /-/status (and the hook), following the ref. */
export async function serveRepo(args: ServeRepoArgs, admin?: AdminView): Promise<void> {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const distPath = args['dist-path'];
  // Past 2^31-1 ms Node's timers fire after 1 ms instead: a fetch every millisecond.
  if (!(args['pull-interval'] >= 0 && args['pull-interval'] <= 2_147_483)) throw new UsageError(`invalid --pull-interval ${args['pull-interval']}`, { hint: 'give a number of seconds from 0 (webhook only) to 2147483' });
  if (args['webhook-secret'] !== undefined && args['webhook-secret'] !== process.env.BOOTCFG_WEBHOOK_SECRET) {
    throw new UsageError('--webhook-secret is read from the environment only', { hint: 'set BOOTCFG_WEBHOOK_SECRET instead: a flag is visible to every user in `ps`' });
  }
  const secret = args['webhook-secret'] || undefined;
  const follower = new Follower({ repo: args.repo, ref: args.ref, cachePath: args['cache-path'], distPath, pullInterval: args['pull-interval'], webhookSecret: secret, log: say });
  let server: RunningServer | undefined; // none yet for the first build
  follower.onBuilt = (_revision, result) => reloadCollecting(result, () => server?.reload());
  try {
    await follower.first();
  } catch (error) {
    // Nothing to fall back to: fail. A tree from an earlier run: serve it and keep trying.
    const live = await readLiveManifest(distPath);
    if (!live) throw error;
    follower.status.assumeLive(live.manifest.revision);
    say(`serving the earlier build ${live.manifest.revision} from ${distPath} until a fetch and build succeed`);
  }
  const routes = admin ? admin.routes(follower.routes()) : follower.routes();
  const log = accessLog(process.stdout);
  server = await startServer({ distPath, imagesPath: args['images-path'], address: args.address, routes, log: admin ? admin.tap(log) : log, notice: say });
  say(`following ${redactUrl(args.repo)}@${args.ref ?? 'HEAD'}${args['pull-interval'] > 0 ? `, fetching every ${args['pull-interval']} s` : ''}; webhook ${secret ? 'on at POST /-/hooks/git' : 'off (no BOOTCFG_WEBHOOK_SECRET)'}`);
  follower.start();
  process.on('SIGHUP', () => void follower.request());
  // Before saying "listening": whoever waits for that line may signal at once.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  say(`listening on ${server.url} (revision ${server.revision})`); // last, as every serve: ready
  await stopped;
  follower.stop();
  await follower.idle();
  await server.close();
}

/** For commands whose exit codes differ from the CLI's (diff: 2 on any error). */
export function exitWith(code: number, error: unknown): never {
  process.stderr.write(`${formatError(error)}\n`);
  throw new ExitStatus(code);
}
