// Access logs of both servers, read as a stream. `bootcfg serve` writes one JSON object per
// request (time, client, method, path, status, answer, file, revision); the generated nginx
// block defines the log_format `bootcfg` (src/serve/nginx.ts) writing the same fields as JSON
// with "server":"nginx", where `file` is nginx's $uri after try_files: the answer it sent.
// Lines are split here with a bound, so one hostile or corrupt line cannot hold the whole log.

import { StringDecoder } from 'node:string_decoder';
import { answerOfDistFile } from '../compile/shapes.js';

export interface Hit {
  /** Milliseconds since the epoch. */
  time: number;
  client: string;
  /** The request target as sent: path and query. */
  path: string;
  status: number;
  /** The answer file that was sent (dist-relative), when the log says. */
  file?: string;
  revision?: string;
  server: 'bootcfg' | 'nginx';
}

/** Longer lines are not access-log lines of either server (a request target is at most 8 KiB). */
export const MAX_LINE = 16 * 1024;

/** One log line → a hit, or undefined for anything else (text lines, other formats, junk). */
export function parseLine(line: string): Hit | undefined {
  if (!line.startsWith('{')) return undefined;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const time = typeof json.time === 'string' ? Date.parse(json.time) : NaN;
  const status = Number(json.status);
  if (!Number.isFinite(time) || !Number.isInteger(status) || typeof json.path !== 'string') return undefined;
  if (json.method !== undefined && json.method !== 'GET' && json.method !== 'HEAD') return undefined;
  const server = json.server === 'nginx' ? 'nginx' : 'bootcfg';
  return {
    time,
    client: typeof json.client === 'string' ? json.client : '-',
    path: json.path,
    status,
    file: answerFile(json.file),
    revision: typeof json.revision === 'string' && json.revision !== '-' && json.revision !== '' ? json.revision : undefined,
    server,
  };
}

/** bootcfg logs `ipxe/mac/…` (or "-"); nginx's $uri is `/ipxe/mac/…`, or the request's own path when nothing matched. */
function answerFile(file: unknown): string | undefined {
  if (typeof file !== 'string' || file === '-' || file === '') return undefined;
  // nginx logs the file it sent (`ipxe/uuid/<xx>/<uuid>`): the fleet view goes by answer paths.
  return answerOfDistFile(file.startsWith('/') ? file.slice(1) : file);
}

/**
 * The lines of a byte stream, each at most MAX_LINE bytes (a longer one is skipped whole and
 * counted); `progress` gets the bytes read so far.
 */
export async function* readLines(stream: AsyncIterable<Buffer | string>, onSkipped: () => void = () => {}, progress: (bytes: number) => void = () => {}): AsyncGenerator<string> {
  let pending = '';
  let skipping = false;
  let bytes = 0;
  const decoder = new StringDecoder('utf8'); // a character split between two chunks stays whole
  for await (const chunk of stream) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    progress(bytes);
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const line = pending + text.slice(start, end);
      pending = '';
      start = end + 1;
      if (skipping || line.length > MAX_LINE) {
        if (!skipping) onSkipped();
        skipping = false;
        continue;
      }
      yield line;
    }
    pending += text.slice(start);
    if (pending.length > MAX_LINE) {
      if (!skipping) onSkipped();
      skipping = true;
      pending = '';
    }
  }
  if (pending && !skipping) yield pending;
}
