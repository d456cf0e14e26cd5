// Rebuild on change. A Rebuilder runs one build at a time; requests that arrive during a build
// queue exactly one more, which will see every change made before it starts. watchData feeds
// it from filesystem events under the data directory (one fs.watch per directory); a git poll
// or webhook can feed the same Rebuilder.

import { SourceError } from '../compile/errors.js';
import { statSync, watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';

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

/**
 * Calls `changed` (debounced) whenever a file under `dataPath` is added, changed or removed.
 * One inotify watch per directory, not per file: a directory's watch reports every file in it,
 * and a 100k-machine data directory holds 200k files but a handful of directories (watching
 * each file, as chokidar does, exhausts fs.inotify.max_user_watches, often 8k–200k).
 */
export async function watchData(dataPath: string, changed: () => void, debounceMs = 25): Promise<{ close(): Promise<void> }> {
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const watchers = new Map<string, FSWatcher>();
  const poke = () => {
    clearTimeout(timer);
    timer = setTimeout(changed, debounceMs);
  };
  const forget = (dir: string) => {
    for (const [path, watcher] of watchers) {
      if (path === dir || path.startsWith(`${dir}${sep}`)) {
        watcher.close();
        watchers.delete(path);
      }
    }
  };
  const onEvent = (dir: string, name: string | null) => {
    if (name !== null && name.split(sep).some((part) => part.startsWith('.'))) return; // dotfiles, .git, editor swap files
    poke();
    if (name === null) return;
    const path = join(dir, name);
    // A directory created or removed under the data directory gains or loses its watch.
    stat(path).then((info) => (info.isDirectory() ? watchTree(path) : undefined), () => forget(path)).catch(() => {});
  };
  const watchTree = async (dir: string): Promise<void> => {
    if (closed || watchers.has(dir)) return;
    const watcher = watch(dir, { persistent: true }, (_event, name) => onEvent(dir, name));
    watcher.on('error', () => forget(dir));
    watchers.set(dir, watcher);
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      const isDir = entry.isDirectory() || (entry.isSymbolicLink() && (await stat(path).then((i) => i.isDirectory(), () => false)));
      if (isDir) await watchTree(path);
    }
  };
  try {
    await watchTree(dataPath);
  } catch (error) {
    for (const watcher of watchers.values()) watcher.close();
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
      clearTimeout(timer);
      forget(dataPath);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
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
