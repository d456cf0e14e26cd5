// Resumable download of one large file into a partial file outside images/. A dropped
// connection keeps the bytes received; the next attempt (in this run, or the next run) asks
// for the rest with an HTTP Range request and appends if the server answers 206, or starts
// over if it answers 200. Nothing here decides whether the bytes are right: verify.ts does.

import { open, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { SourceError } from '../compile/errors.js';
import { HttpStatusError, request, TransportError, unreachable } from './http.js';

export interface Progress {
  /** Bytes on disk so far (including those resumed from an earlier attempt). */
  done: number;
  /** Total size if the server said so. */
  total?: number;
}

export interface DownloadOptions {
  /** Attempts in all, counting the first; each retry resumes. */
  attempts?: number;
  onProgress?: (progress: Progress) => void;
}

export interface DownloadResult {
  bytes: number;
  /** Whether the file was appended to bytes from an earlier attempt or run (a failed check then retries fresh). */
  resumed: boolean;
}

const DEFAULT_ATTEMPTS = 5;

/** Downloads `url` into `partialPath`, resuming what is already there. */
export async function download(url: string, partialPath: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptOnce(url, partialPath, options.onProgress);
    } catch (error) {
      if (!retryable(error) || attempt >= attempts) throw asSourceError(url, error);
      await sleep(100 * attempt); // a breath before asking again; bounded by `attempts`
    }
  }
}

async function attemptOnce(url: string, partialPath: string, onProgress?: (p: Progress) => void): Promise<DownloadResult> {
  const have = await sizeOf(partialPath);
  const res = await request(url, have > 0 ? { Range: `bytes=${have}-` } : {});
  if (res.status === 416) return rangeNotSatisfiable(res, partialPath, have);
  if (res.status !== 200 && res.status !== 206) {
    await res.body?.cancel();
    throw new HttpStatusError(url, res.status, res.statusText);
  }
  const append = res.status === 206 && contentRangeStart(res) === have;
  if (res.status === 206 && !append) {
    // A range we did not ask for: start over rather than guess.
    await res.body?.cancel();
    await rm(partialPath, { force: true });
    throw new IncompleteError(`${url}: server answered an unexpected range`);
  }
  const start = append ? have : 0;
  const total = totalSize(res, start);
  const bytes = await writeBody(res, partialPath, start, total, onProgress);
  if (total !== undefined && bytes !== total) throw new IncompleteError(`${url}: got ${bytes} of ${total} bytes`);
  return { bytes, resumed: append };
}

// Chunk by chunk rather than through a pipeline: every chunk read is on disk before the next
// is asked for, so when the connection drops, all that arrived can be resumed from.
async function writeBody(
  res: Response,
  partialPath: string,
  start: number,
  total: number | undefined,
  onProgress?: (p: Progress) => void,
): Promise<number> {
  if (!res.body) throw new IncompleteError('empty response');
  const file = await open(partialPath, start > 0 ? 'a' : 'w');
  let done = start;
  try {
    onProgress?.({ done, total });
    const reader = res.body.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      await file.write(chunk.value);
      done += chunk.value.length;
      onProgress?.({ done, total });
    }
  } finally {
    await file.close();
  }
  return done;
}

// 416 on a resume usually means the partial file is already whole (a run that stopped after
// the last byte but before verifying). If the server's size says so, keep it; else restart.
async function rangeNotSatisfiable(res: Response, partialPath: string, have: number): Promise<DownloadResult> {
  await res.body?.cancel();
  const size = /^bytes \*\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1];
  if (size !== undefined && Number(size) === have) return { bytes: have, resumed: true };
  await rm(partialPath, { force: true });
  throw new IncompleteError('partial file larger than the file on the server');
}

function contentRangeStart(res: Response): number | undefined {
  const match = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
  return match ? Number(match[1]) : undefined;
}

function totalSize(res: Response, start: number): number | undefined {
  const whole = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1];
  if (whole !== undefined) return Number(whole);
  const length = res.headers.get('content-length');
  return length === null ? undefined : start + Number(length);
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** The body stopped short (connection dropped) or the server's range was unusable. */
class IncompleteError extends Error {}

function retryable(error: unknown): boolean {
  if (error instanceof HttpStatusError) return error.status >= 500;
  if (error instanceof TransportError) return true;
  return error instanceof IncompleteError || error instanceof TypeError || isNetworkError(error);
}

// Body-stream failures surface as plain Errors ("terminated", ECONNRESET), not as fetch errors.
function isNetworkError(error: unknown): boolean {
  const code = (error as { code?: unknown; cause?: { code?: unknown } }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
  return typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|UND_ERR_\w+|ERR_STREAM_PREMATURE_CLOSE)$/.test(code);
}

function asSourceError(url: string, error: unknown): SourceError {
  if (error instanceof SourceError) return error;
  if (error instanceof IncompleteError) {
    return new TransportError(error.message, { hint: 'the connection kept dropping; rerun to resume where it stopped', cause: error });
  }
  if (isNetworkError(error) || error instanceof TypeError) return unreachable(url, error);
  throw error; // a disk error or a bug: let it print with its stack
}
