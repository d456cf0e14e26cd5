// serve --repo: keep the served tree at the tip of a ref. A poll timer and the push webhook both
// ask one Rebuilder for a sync (one at a time; asks during a sync queue exactly one more); a
// sync fetches, and builds only when the ref points at a commit that is neither live nor known
// to fail. Every failure — unreachable remote, deleted ref, invalid config at the new commit —
// leaves the last good revision live and shows up in the log and in /-/status.

import { build, formatBuild } from '../build/build.js';
import { BootcfgError, ErrorList, LoadError, TemplateError } from '../compile/errors.js';
import { fetchRevision, redactUrl, relocateError, type Revision } from './fetch.js';
import { FollowStatus, STATUS_PATH } from './status.js';
import { Rebuilder } from '../build/watch.js';
import { HOOK_PATH, webhookHandler, webhookOffHandler } from './webhook.js';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface FollowOptions {
  repo: string;
  ref?: string;
  cachePath?: string;
  distPath: string;
  /** Seconds between polls; 0 turns polling off (webhook only). */
  pullInterval: number;
  /** HMAC secret for POST /-/hooks/git; without one the hook is not mounted. */
  webhookSecret?: string;
  /** One human-readable line per event (stderr in the CLI). */
  log?: (line: string) => void;
}

/** What one sync did. */
export type SyncOutcome =
  | { kind: 'built'; revision: Revision }
  | { kind: 'unchanged'; revision: string }
  | { kind: 'known-bad'; revision: string };

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export class Follower {
  readonly status: FollowStatus;
  /** Called after a new revision is written, before it is reported live (server.reload). */
  onBuilt: (revision: Revision) => Promise<unknown> = async () => undefined;
  private readonly rebuilder: Rebuilder<SyncOutcome>;
  private readonly log: (line: string) => void;
  private readonly source: string;
  private failedCommit: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly stopping = new AbortController();

  constructor(private readonly options: FollowOptions) {
    const ref = options.ref ?? 'HEAD';
    this.status = new FollowStatus(options.repo, ref);
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.source = `${redactUrl(options.repo)}@${ref}`;
    this.rebuilder = new Rebuilder(() => this.sync(), () => undefined);
  }

  /** Ask for a sync; resolves when a sync that started after this call has finished. */
  request(): Promise<void> {
    return this.rebuilder.request();
  }

  /** Resolves once no sync is running or queued. */
  idle(): Promise<void> {
    return this.rebuilder.idle();
  }

  /** The first sync, run before serving: its failure is thrown (to fail startup if nothing is live). */
  async first(): Promise<SyncOutcome> {
    return this.sync(true);
  }

  /** Start polling. */
  start(): void {
    if (this.options.pullInterval > 0 && !this.timer) {
      this.timer = setInterval(() => void this.request(), this.options.pullInterval * 1000);
      this.timer.unref();
    }
  }

  /** Stop polling and abort a fetch or build in flight. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopping.abort();
  }

  /** Extra server routes: /-/status, and /-/hooks/git (off, answering 404, without a secret). */
  routes(): Map<string, Handler> {
    const routes = new Map<string, Handler>([[STATUS_PATH, this.status.handler()]]);
    const secret = this.options.webhookSecret;
    routes.set(HOOK_PATH, secret ? webhookHandler({ secret, onPush: () => void this.request() }) : webhookOffHandler());
    return routes;
  }

  /** One fetch, and a build when the ref moved to a commit not yet tried. Never throws unless `rethrow`. */
  private async sync(rethrow = false): Promise<SyncOutcome> {
    let revision: Revision;
    try {
      if (this.stopping.signal.aborted) return { kind: 'unchanged', revision: this.status.liveRevision ?? '' };
      revision = await fetchRevision({ repo: this.options.repo, ref: this.options.ref, cachePath: this.options.cachePath, signal: this.stopping.signal });
    } catch (error) {
      this.log(`fetch failed, keeping ${this.status.liveRevision ?? 'the current tree'} live: ${this.status.failed(error).message}`);
      if (rethrow) throw error;
      return { kind: 'known-bad', revision: this.status.liveRevision ?? '' };
    }
    // A commit that already failed to build stays a failure until the ref moves on.
    const knownBad = revision.sha === this.failedCommit;
    this.status.fetched(revision.sha, !knownBad);
    if (revision.sha === this.status.liveRevision) return { kind: 'unchanged', revision: revision.sha };
    if (knownBad) return { kind: 'known-bad', revision: revision.sha };
    return this.buildRevision(revision, rethrow);
  }

  private async buildRevision(revision: Revision, rethrow: boolean): Promise<SyncOutcome> {
    try {
      // Stopping (SIGTERM) ends a build in flight too: it fails, and the last good one stays live.
      const result = await build({ dataPath: revision.dataPath, distPath: this.options.distPath, revision: revision.sha, source: this.source, signal: this.stopping.signal });
      await this.onBuilt(revision);
      this.status.wentLive(revision);
      this.failedCommit = undefined;
      this.log(`${formatBuild(result)} (${this.source}, ${JSON.stringify(revision.subject)})`);
      return { kind: 'built', revision };
    } catch (error) {
      // Bad config fails the same way every time; a disk or write error may not, so retry it.
      this.failedCommit = isConfigError(error) ? revision.sha : undefined;
      const failure = this.status.failed(error, revision.sha, revision.dataPath);
      this.log(`build failed, keeping ${this.status.liveRevision ?? 'the current tree'} live: ${failure.message}`);
      for (const problem of failure.problems.slice(1)) this.log(`  ${[problem.file, problem.line].filter(Boolean).join(':')}: ${problem.message}`);
      if (rethrow) throw error instanceof BootcfgError ? relocateError(error, revision) : error;
      return { kind: 'known-bad', revision: revision.sha };
    }
  }
}

/** A problem in the commit's files (data, templates): only a new commit can fix it. */
function isConfigError(error: unknown): boolean {
  const config = (e: unknown) => e instanceof LoadError || e instanceof TemplateError;
  return error instanceof ErrorList ? error.errors.length > 0 && error.errors.every(config) : config(error);
}
