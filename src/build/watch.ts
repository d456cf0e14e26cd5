// Rebuild on change. A Rebuilder runs one build at a time; requests that arrive during a build
// queue exactly one more, which will see every change made before it starts. watchData feeds
// it from filesystem events under the data directory (one fs.watch per directory), once the
// changed files have settled, and follows the data directory when it is replaced; a git poll
// or webhook can feed the same Rebuilder.

import { SourceError } from '../compile/errors.js';
import { statSync, watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { mapLimit } from './pool.js';
import { MAX_DEPTH } from './source.js';

export class Rebuilder<T> {
  private running: Promise<void> | undefined;
  private queued = false;

  /**
   * @param run one build; its result or error goes to `done`, never thrown here
   * @param done told about every build, so a failed one can be logged while the last good
   *   tree keeps serving
   */
  constructor(private readonly run: () => Promise<T>, private readonly done: (outcome: { ok: true; value: T } | { ok: false; error: unknown }) => void) {}

  /** Asks for a build; resolves when the build that will include this request has finished. */
  request(): Promise<void> {
    if (this.running) {
      this.queued = true; // the running loop picks it up before it settles
      return this.running;
    }
    this.running = this.loop();
    return this.running;
  }

  /** Resolves once no build is running or queued. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.queued = false;
      try {
        this.done({ ok: true, value: await this.run() });
      } catch (error) {
        this.done({ ok: false, error });
      }
    } while (this.queued);
    this.running = undefined;
  }
}

export interface WatchOptions {
  /**
   * Quiet period (ms): a change is reported once no event has come for this long and every
   * changed file's size and mtime have stayed the same over one such period, so a file being
   * written (an editor, rsync, a slow script) is never built half-written. A change to JSON
   * data files only (boot configs, profiles, groups) waits FAST_SETTLE_MS instead: half a JSON
   * object does not parse, and a build that fails on such a file is retried (retry()) until
   * settleMs have passed since its last event, so the protection is the same.
   */
  settleMs: number;
  /** Told about what the watch itself notices: the data directory replaced or gone. */
  notice?: (line: string) => void;
  /** Told of each event as it comes, before it settles (serve: the builder prepares the next build). */
  stirred?: () => void;
}

/** Default settle time: longer than an editor's or rsync's pauses between writes, short to wait. */
export const SETTLE_MS = 300;
/** Quiet period for a change to JSON data files only (see WatchOptions.settleMs). */
export const FAST_SETTLE_MS = 20;
/** A file still changing after this many settle periods is built anyway: the wait is bounded. */
const MAX_WAIT_PERIODS = 10;
/**
 * Changed files whose size and mtime are compared and which the build is told of; past this
 * (a checkout of the whole tree) the events alone decide, and the build is a full one. As many
 * as serve --repo takes from one diff (src/git/kept.ts): a rack's or a few racks' edit stays
 * incremental (at 1,000, 1% of a 100k fleet sat on the edge of a full build).
 */
const MAX_TRACKED = 20_000;
/** How often the data directory's identity is checked: a watch cannot see it replaced. */
const IDENTITY_CHECK_MS = 1000;

/**
 * Calls `changed` whenever files under `dataPath` were added, changed or removed and have
 * settled (see WatchOptions.settleMs). One inotify watch per directory, not per file: a
 * directory's watch reports every file in it, and a 100k-machine data directory holds 200k
 * files but a handful of directories (watching each file, as chokidar does, exhausts
 * fs.inotify.max_user_watches, often 8k–200k). A watch follows its directory, not its path: the
 * data directory replaced (rm -rf and made again, two renames, a switched symlink) is found by
 * its identity, checked once a second, and watched afresh.
 */
export interface DataWatch {
  close(): Promise<void>;
  /**
   * The build of these just-changed paths failed on one of them as a half-written JSON file
   * fails: report them again after a longer wait, unless settleMs have passed since their last
   * event (false: the failure is real, say so).
   */
  retry(paths: ReadonlySet<string>): boolean;
}

export async function watchData(dataPath: string, changed: (paths: ReadonlySet<string> | undefined) => void, options: WatchOptions): Promise<DataWatch> {
  let closed = false;
  const watchers = new Map<string, { watcher: FSWatcher; id: string | undefined }>();
  const settle = new Settler(changed, options, (path) => isJsonData(relative(dataPath, path)));
  const forget = (dir: string) => {
    for (const [path, { watcher }] of watchers) {
      if (path === dir || path.startsWith(`${dir}${sep}`)) {
        watcher.close();
        watchers.delete(path);
      }
    }
  };
  const onEvent = (dir: string, name: string | null) => {
    if (name !== null && name.split(sep).some((part) => part.startsWith('.'))) return; // dotfiles, .git, editor swap files
    if (dir === dataPath) checkRoot(); // the data directory itself may have gone
    const path = name === null ? undefined : join(dir, name); // none: the change is not known file by file
    settle.poke(path);
    options.stirred?.(); // after the poke: the settle's wait starts first
    if (path === undefined) return;
    // A directory created or removed under the data directory gains or loses its watch.
    stat(path).then((info) => (info.isDirectory() ? watchTree(path) : undefined), () => forget(path)).catch(() => {});
  };
  const watchTree = async (dir: string): Promise<void> => {
    const id = directoryIdentity(dir);
    if (closed || watchers.get(dir)?.id === id) return;
    // A symlink loop (boot/a -> .) or a second link to a watched directory is watched once, and
    // never deeper than the build reads: the build refuses such data, the watch must not explode.
    if (relative(dataPath, dir).split(sep).length > MAX_DEPTH + 1) return;
    for (const [path, watched] of watchers) if (path !== dir && id !== undefined && watched.id === id) return;
    forget(dir); // a directory made again at this path: its old watch sees nothing
    const watcher = watch(dir, { persistent: true }, (_event, name) => onEvent(dir, name));
    watcher.on('error', () => forget(dir));
    watchers.set(dir, { watcher, id });
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      const isDir = entry.isDirectory() || (entry.isSymbolicLink() && (await stat(path).then((i) => i.isDirectory(), () => false)));
      if (isDir) await watchTree(path);
    }
  };
  let root = directoryIdentity(dataPath);
  const checkRoot = () => {
    const now = directoryIdentity(dataPath);
    if (closed || now === root) return;
    root = now;
    forget(dataPath);
    if (now === undefined) return options.notice?.(`${dataPath} is gone; still serving the last good build until it is back`);
    options.notice?.(`${dataPath} was replaced; watching the new directory and rebuilding`);
    watchTree(dataPath).catch((error: NodeJS.ErrnoException) => {
      options.notice?.(`cannot watch ${dataPath}: ${error.code ?? error.message}; trying again in ${IDENTITY_CHECK_MS} ms`);
      root = 'unwatched'; // not an identity: the next check tries again
    });
    settle.poke();
  };
  const identityTimer = setInterval(checkRoot, IDENTITY_CHECK_MS);
  identityTimer.unref();
  try {
    await watchTree(dataPath);
  } catch (error) {
    clearInterval(identityTimer);
    forget(dataPath);
    const code = (error as NodeJS.ErrnoException).code;
    throw new SourceError(`cannot watch ${dataPath}: ${code ?? (error as Error).message}`, {
      hint: code === 'ENOSPC' || code === 'EMFILE'
        ? 'the inotify limit is reached: raise fs.inotify.max_user_watches (sysctl), or serve without --watch and rebuild with bootcfg build'
        : 'check that --data-path names a readable directory',
      cause: error,
    });
  }
  return {
    close: async () => {
      closed = true;
      clearInterval(identityTimer);
      settle.close();
      forget(dataPath);
    },
    retry: (paths) => settle.retry(paths),
  };
}

/** Data files that are JSON objects (boot configs, profiles, groups): half of one never parses. */
export function isJsonData(rel: string): boolean {
  const [root, ...rest] = rel.split(sep);
  return rest.length > 0 && (root === 'boot' || ((root === 'profiles' || root === 'groups') && rel.endsWith('.json')));
}

/**
 * Waits for changes to settle: a quiet period with no event, then a look at each changed
 * file's size and mtime, against a look taken when its first event came; any difference (the
 * writer is still at work, or an event was lost) waits another period. A JSON data file is
 * looked at again on each of its events instead: its first event is often the truncation of a
 * write whose bytes come a few ms later, and comparing with that look cost a one-file edit a
 * second period half the time; a pause mid-write is caught by the parse and retried (retry()).
 * Bounded: after MAX_WAIT_PERIODS periods the change is reported however busy the files still are.
 */
export class Settler {
  private timer: NodeJS.Timeout | undefined;
  private firstAt: number | undefined;
  /** Changed file → its size and mtime as last seen; undefined until the first look returns. */
  private readonly pending = new Map<string, string | undefined>();
  /** How many pending files are not JSON data: kept as they come, so an event costs O(1), not O(pending). */
  private notJson = 0;
  /** A change whose paths are not all known (the directory replaced, too many files): build everything. */
  private unknown = false;
  private closed = false;
  private lastEventAt = 0;
  /** Retries since the last event of a build that failed as a half-written file does. */
  private retries = 0;
  /** Paths whose size and mtime are being read, and those of them to read again when it returns. */
  private readonly looking = new Set<string>();
  private readonly lookAgain = new Set<string>();

  /** @param readSignature a file's size and mtime as a string (signature(); a test's stand-in) */
  constructor(private readonly changed: (paths: ReadonlySet<string> | undefined) => void, private readonly options: WatchOptions, private readonly isJson: (path: string) => boolean, private readonly readSignature = signature) {}

  /** This change's quiet period: short for JSON data files only, doubled on each retry. */
  private window(): number {
    const fast = !this.unknown && this.pending.size > 0 && this.notJson === 0;
    return fast ? Math.min(this.options.settleMs, FAST_SETTLE_MS * 2 ** this.retries) : this.options.settleMs;
  }

  retry(paths: ReadonlySet<string>): boolean {
    if (this.closed || Date.now() - this.lastEventAt >= this.options.settleMs || ![...paths].every(this.isJson)) return false;
    this.retries++;
    this.firstAt ??= Date.now();
    for (const path of paths) if (!this.pending.has(path)) this.track(path);
    if (!this.timer) this.timer = setTimeout(() => void this.quiet(), this.window());
    return true;
  }

  poke(path?: string): void {
    if (this.closed) return;
    this.firstAt ??= Date.now();
    this.lastEventAt = Date.now();
    this.retries = 0;
    if (path === undefined || (!this.pending.has(path) && this.pending.size >= MAX_TRACKED)) this.unknown = true;
    if (path !== undefined && !this.pending.has(path) && this.pending.size < MAX_TRACKED) {
      this.track(path);
      this.look(path);
    } else if (path !== undefined && this.pending.has(path) && this.isJson(path)) {
      this.look(path); // as of its last event (see the class's comment)
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.quiet(), this.window());
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  /** Reads a pending file's size and mtime as its look, one read in flight per file. */
  private look(path: string): void {
    if (this.looking.has(path)) {
      this.lookAgain.add(path); // an event came after the read in flight began
      return;
    }
    this.looking.add(path);
    void this.readSignature(path).then((seen) => {
      this.looking.delete(path);
      if (this.lookAgain.delete(path)) return this.look(path);
      if (this.pending.has(path) && (this.pending.get(path) === undefined || this.isJson(path))) this.pending.set(path, seen); // a first look never overrides quiet()'s later one
    });
  }

  private track(path: string): void {
    this.pending.set(path, undefined);
    if (!this.isJson(path)) this.notJson++;
  }

  /** A quiet period passed: report the change if every changed file has stayed the same. */
  private async quiet(): Promise<void> {
    if (this.options.settleMs === 0) return this.report(); // --settle 0: at once, as asked
    const timer = this.timer;
    const waited = Date.now() - (this.firstAt ?? Date.now());
    if (waited < this.options.settleMs * MAX_WAIT_PERIODS) {
      const paths = [...this.pending.keys()];
      const now = await mapLimit(paths, 16, this.readSignature);
      if (this.closed || this.timer !== timer) return; // another event came meanwhile: its timer decides
      const moving = paths.filter((path, i) => this.pending.get(path) !== now[i]);
      if (moving.length > 0) {
        for (const [i, path] of paths.entries()) this.pending.set(path, now[i]);
        this.timer = setTimeout(() => void this.quiet(), this.window());
        return;
      }
    } else {
      this.options.notice?.(`files still changing after ${waited} ms; building what is there`);
    }
    this.report();
  }

  private report(): void {
    this.timer = undefined;
    const paths = this.unknown ? undefined : new Set(this.pending.keys());
    this.pending.clear();
    this.notJson = 0;
    this.unknown = false;
    this.firstAt = undefined;
    this.changed(paths);
  }
}

/** Size and mtime of a file (or "gone"): what a writer at work keeps changing. */
function signature(path: string): Promise<string> {
  return stat(path).then((info) => `${info.size}:${info.mtimeMs}`, () => 'gone');
}

/**
 * A directory's identity (device, inode, birth time), symlinks followed; undefined when there is
 * none. It tells a directory made again at the same path (rm -rf, mv, a switched symlink) from
 * the one being watched, which a watch cannot: it stays on the old one. The birth time tells
 * apart a new directory that reuses the old one's inode number.
 */
export function directoryIdentity(path: string): string | undefined {
  try {
    const info = statSync(path, { throwIfNoEntry: false });
    return info?.isDirectory() ? `${info.dev}:${info.ino}:${info.birthtimeMs}` : undefined;
  } catch {
    return undefined; // unreadable or not a directory on the way: nothing to watch there
  }
}
