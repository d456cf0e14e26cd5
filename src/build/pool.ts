// Bounded concurrency for file I/O: a fleet of 100k machines is hundreds of thousands of small
// files, too slow one at a time and too many to open all at once.

/** Runs `work` over `items` with at most `limit` calls in flight; results keep input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Runs synchronous `work` over `items`, yielding to the event loop every `batch` items. For
 * many small files, plain sync calls in one thread beat a round trip through libuv's thread
 * pool per call several times over; the yields keep a process that also serves (serve --watch)
 * answering requests while it builds.
 */
export async function forEachYielding<T>(items: Iterable<T>, work: (item: T) => void, batch = 256): Promise<void> {
  let done = 0;
  for (const item of items) {
    work(item);
    if (++done % batch === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * For a loop forEachYielding cannot drive (one that awaits, or stops early): call the result
 * with each step's units of work, and await what it returns, a turn of the event loop once
 * `every` units were done since the last.
 */
export function turns(every: number): (units?: number) => Promise<void> | undefined {
  let done = 0;
  return (units = 1) => {
    done += units;
    if (done < every) return undefined;
    done = 0;
    return new Promise<void>((resolve) => setImmediate(resolve));
  };
}
