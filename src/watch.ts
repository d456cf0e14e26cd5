// Rebuild on change. A Rebuilder runs one build at a time; requests that arrive during a build
// queue exactly one more, which will see every change made before it starts. watchData feeds
// it from filesystem events under the data directory (chokidar); a git poll or webhook can
// feed the same Rebuilder.

import { relative, sep } from 'node:path';
import { watch as chokidar } from 'chokidar';

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

/** Calls `changed` (debounced) whenever a file under `dataPath` is added, changed or removed. */
export async function watchData(dataPath: string, changed: () => void, debounceMs = 25): Promise<{ close(): Promise<void> }> {
  let timer: NodeJS.Timeout | undefined;
  const watcher = chokidar(dataPath, {
    ignoreInitial: true,
    ignored: (path) => relative(dataPath, path).split(sep).some((part) => part.startsWith('.') && part !== '..'), // dotfiles, .git
  });
  watcher.on('all', () => {
    clearTimeout(timer);
    timer = setTimeout(changed, debounceMs);
  });
  await new Promise<void>((resolve, reject) => {
    watcher.once('ready', resolve);
    watcher.once('error', reject);
  });
  return {
    close: async () => {
      clearTimeout(timer);
      await watcher.close();
    },
  };
}
