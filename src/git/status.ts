// GET /-/status: what a server following a repo is doing, as JSON for people and monitors —
// which revision is live (with its commit time and subject), when the repo was last fetched and
// how that went, and the last error (with file:line, the commit that caused it, and whether a
// later sync has succeeded since). Failures never take the live revision down, so without this
// endpoint they would be invisible.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { BootcfgError, ErrorList } from '../compile/errors.js';
import type { Revision } from './fetch.js';
import { redactUrl, repoRelative } from './fetch.js';

export const STATUS_PATH = '/-/status';

export interface LiveRevision {
  revision: string;
  /** Null when the revision was found in dist/ at startup and not fetched since. */
  commitTime: string | null;
  subject: string | null;
  /** When this revision went live here. */
  since: string;
}

export interface FetchResult {
  at: string;
  ok: boolean;
  /** The commit the ref pointed at, when the fetch got that far. */
  revision?: string;
}

export interface Problem {
  file?: string;
  line?: number;
  column?: number;
  message: string;
  hint?: string;
}

export interface LastError {
  at: string;
  /** The commit that failed to build; absent when the fetch itself failed. */
  commit?: string;
  /** One line: "commit abc123: boot/default:3: message" or the fetch failure. */
  message: string;
  problems: Problem[];
  /**
   * True while this failure still describes the state: no sync has succeeded since. False once a
   * later fetch found the ref at the live revision, or a later commit went live. The error stays
   * visible either way, for whoever looks afterwards.
   */
  current: boolean;
}

export interface StatusBody {
  repo: string;
  ref: string;
  live: LiveRevision | null;
  lastFetch: FetchResult | null;
  lastError: LastError | null;
}

/** The mutable state behind /-/status, updated by the follow loop. */
export class FollowStatus {
  private body: StatusBody;

  constructor(repo: string, ref: string) {
    this.body = { repo: redactUrl(repo), ref, live: null, lastFetch: null, lastError: null };
  }

  get snapshot(): StatusBody {
    return structuredClone(this.body);
  }

  get liveRevision(): string | undefined {
    return this.body.live?.revision;
  }

  /** The fetch succeeded and the ref points at `revision` (ok: false if that commit is known not to build). */
  fetched(revision: string, ok = true): void {
    this.body.lastFetch = { at: now(), ok, revision };
    if (ok && revision === this.liveRevision) this.resolved();
  }

  /** A revision was built and is now being served. */
  wentLive(revision: Revision): void {
    this.body.live = { revision: revision.sha, commitTime: revision.time, subject: revision.subject, since: now() };
    this.resolved();
  }

  /** A sync succeeded: the last error, if any, is history now. */
  private resolved(): void {
    if (this.body.lastError) this.body.lastError.current = false;
  }

  /** At startup, when the first fetch failed but dist/ holds a build from an earlier run. */
  assumeLive(revision: string): void {
    this.body.live = { revision, commitTime: null, subject: null, since: now() };
  }

  /**
   * Something failed; the live revision stays. `commit` and `dataPath` are given when the
   * failure is a build of that commit, so problems can be named by repo-relative path.
   */
  failed(error: unknown, commit?: string, dataPath?: string): LastError {
    const problems = problemsOf(error).map((problem) => strip({ ...problem, file: dataPath ? repoRelative(problem.file, dataPath) : problem.file }));
    const first = problems[0];
    const where = first?.file ? `${[first.file, first.line, first.line && first.column].filter(Boolean).join(':')}: ` : '';
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    const message = redactUrl(`${commit ? `commit ${commit.slice(0, 12)}: ` : ''}${where}${first?.message ?? String(error)}${more}`);
    const lastError: LastError = { at: now(), ...(commit ? { commit } : {}), message, problems, current: true };
    this.body.lastError = lastError;
    if (!commit) this.body.lastFetch = { at: now(), ok: false };
    else this.body.lastFetch = { at: this.body.lastFetch?.at ?? now(), ok: false, revision: commit };
    return lastError;
  }

  /** The request handler for STATUS_PATH. */
  handler(): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', Allow: 'GET, HEAD' });
        res.end('method not allowed\n');
        return;
      }
      const text = `${JSON.stringify(this.body, null, 2)}\n`;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
  }
}

function now(): string {
  return new Date().toISOString();
}

function problemsOf(error: unknown): Problem[] {
  const list = error instanceof ErrorList ? error.errors : [error];
  return list.map((item) => {
    if (!(item instanceof BootcfgError)) return { message: redactUrl(String(item instanceof Error ? item.message : item)) };
    const { file, line, column, hint } = item;
    return strip({ file, line, column, message: redactUrl(item.message), hint });
  });
}

function strip<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
