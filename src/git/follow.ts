// serve --repo: keep the served tree at the tip of a ref. A poll timer and the push webhook both
// ask one Rebuilder for a sync (one at a time; asks during a sync queue exactly one more); a
// sync fetches, and builds only when the ref points at a commit that is neither live nor known
// to fail. The build is incremental: one kept tree is brought to the new commit by writing the
// paths git says changed (kept.ts) and the incremental builder re-renders only what they touch;
// anything else is a full export and build, and the log line says which and why. Every
// failure — unreachable remote, deleted ref, invalid config at the new commit — leaves the last
// good revision live and shows up in the log and in /-/status.

import { join } from 'node:path';
import { formatBuild, type BuildResult } from '../build/build.js';
import { IncrementalBuilder } from '../build/incremental.js';
import { BootcfgError, ErrorList, LoadError, TemplateError } from '../compile/errors.js';
import { fetchCommit, redactUrl, relocateError, type Revision } from './fetch.js';
import { KeptTree, keptTreePath, type TreeUpdate } from './kept.js';
import { exportTreeInChild } from './export-child.js';
import { SOURCE_ROOTS } from '../build/source.js';
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
  /** Called after a new revision is written, before it is reported live (server.reload); the first build's too. */
  onBuilt: (revision: Revision, result: BuildResult) => Promise<unknown> = async () => undefined;
  private readonly rebuilder: Rebuilder<SyncOutcome>;
  private readonly log: (line: string) => void;
  private readonly source: string;
  private failedCommit: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly stopping = new AbortController();
  /** The one data directory and the builder reading it, made on the first fetch (the cache's place is known then). */
  private kept: { tree: KeptTree; builder: IncrementalBuilder } | undefined;

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

  /** Resolves once no sync is running or queued, and what the builder made ahead is let go. */
  async idle(): Promise<void> {
    await this.rebuilder.idle();
    await this.kept?.builder.close();
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
    let how: string;
    const started = performance.now();
    let fetchMs = 0;
    try {
      if (this.stopping.signal.aborted) return { kind: 'unchanged', revision: this.status.liveRevision ?? '' };
      this.kept?.builder.prepare(); // the next build's links to the store, made during the fetch
      const fetched = await fetchCommit({ repo: this.options.repo, ref: this.options.ref, cachePath: this.options.cachePath, signal: this.stopping.signal });
      fetchMs = performance.now() - started;
      const kept = this.keptIn(fetched.home);
      revision = { sha: fetched.sha, time: fetched.time, subject: fetched.subject, dataPath: kept.tree.dir };
      // A commit that already failed to build stays a failure until the ref moves on.
      const knownBad = revision.sha === this.failedCommit;
      this.status.fetched(revision.sha, !knownBad);
      if (revision.sha === this.status.liveRevision) return { kind: 'unchanged', revision: revision.sha };
      if (knownBad) return { kind: 'known-bad', revision: revision.sha };
      const treeStarted = performance.now();
      // A full export in a child process: listing and streaming 200k files grows a heap that serve would keep.
      const update = await kept.tree.bringTo(fetched.spawn, revision.sha, (dir) => exportTreeInChild(fetched.gitDir, revision.sha, dir, SOURCE_ROOTS, this.stopping.signal));
      how = `${describeUpdate(update)}; fetch ${Math.round(fetchMs)} ms, tree ${Math.round(performance.now() - treeStarted)} ms`;
      kept.builder.changed(update.kind === 'full' ? undefined : update.paths.map((path) => join(kept.tree.dir, path)));
    } catch (error) {
      this.log(`fetch failed, keeping ${this.status.liveRevision ?? 'the current tree'} live: ${this.status.failed(error).message}`);
      if (rethrow) throw error;
      return { kind: 'known-bad', revision: this.status.liveRevision ?? '' };
    }
    return this.buildRevision(revision, how, rethrow);
  }

  private keptIn(home: string): { tree: KeptTree; builder: IncrementalBuilder } {
    if (!this.kept) {
      const tree = new KeptTree(keptTreePath(home, this.options.ref ?? 'HEAD'));
      // Stopping (SIGTERM) ends a build in flight too: it fails, and the last good one stays live.
      const builder = new IncrementalBuilder({ dataPath: tree.dir, distPath: this.options.distPath, source: this.source, signal: this.stopping.signal, pruneLater: true });
      this.kept = { tree, builder };
    }
    return this.kept;
  }

  /** Build the tree (at `revision`); `how` says how it got there, for the log line. */
  private async buildRevision(revision: Revision, how: string, rethrow: boolean): Promise<SyncOutcome> {
    try {
      // A failed build keeps the changes it was told (the tree holds this commit): the next diff starts here.
      const result = await this.kept!.builder.build(revision.sha);
      await this.onBuilt(revision, result);
      this.status.wentLive(revision);
      this.failedCommit = undefined;
      this.log(`${formatBuild(result)} (${this.source}, ${JSON.stringify(revision.subject)}; ${how})`);
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

/** How the tree reached the commit, for the build's log line. */
function describeUpdate(update: TreeUpdate): string {
  if (update.kind === 'full') return `full export: ${update.reason}`;
  return `${update.paths.length} path${update.paths.length === 1 ? '' : 's'} changed since ${update.from.slice(0, 12)}`;
}

/** A problem in the commit's files (data, templates): only a new commit can fix it. */
function isConfigError(error: unknown): boolean {
  const config = (e: unknown) => e instanceof LoadError || e instanceof TemplateError;
  return error instanceof ErrorList ? error.errors.length > 0 && error.errors.every(config) : config(error);
}
