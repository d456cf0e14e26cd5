// Feeds access-log files (or standard input) into an Activity as streams: a line at a time,
// never the whole log, with the bytes read reported for a progress line. Only regular files
// are opened (a FIFO or device given by mistake would block or never end).

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { SourceError } from '../compile/errors.js';
import type { Activity } from './activity.js';
import { parseLine, readLines } from './logs.js';

/** `-` is standard input. */
export const STDIN = '-';

/** bytes read of all sources so far, of `total` (0 when standard input makes it unknown). */
export type LogProgress = (bytes: number, total: number, lines: number) => void;

export async function readLogs(activity: Activity, sources: readonly string[], progress: LogProgress = () => {}): Promise<void> {
  const sizes = await Promise.all(sources.map((source) => (source === STDIN ? 0 : sizeOf(source))));
  const total = sources.includes(STDIN) ? 0 : sizes.reduce((a, b) => a + b, 0);
  let before = 0;
  for (const [i, source] of sources.entries()) {
    const stream = source === STDIN ? process.stdin : createReadStream(source, { highWaterMark: 1 << 16 });
    const onSkipped = () => activity.add(undefined);
    const onBytes = (bytes: number) => progress(before + bytes, total, activity.stats.lines);
    for await (const line of readLines(stream, onSkipped, onBytes)) activity.add(parseLine(line));
    before += sizes[i]!;
  }
}

async function sizeOf(path: string): Promise<number> {
  const stats = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new SourceError(`cannot read access log ${path}: ${error.code ?? error.message}`, { file: path, hint: 'give the path of a log file, or - for standard input', cause: error });
  });
  if (!stats.isFile()) throw new SourceError(`access log ${path} is not a regular file`, { file: path, hint: 'give the path of a log file; pipe anything else in on standard input with --access-log -' });
  return stats.size;
}
