// Small HTTP reads (release metadata, signatures, version.txt) and the one place that turns
// a network failure into a SourceError a user can act on. Large files go through download.ts.

import { SourceError } from '../compile/errors.js';

/** Longest body getBytes() accepts: metadata and signatures are a few KB. */
const SMALL_LIMIT = 8 * 1024 * 1024;

/** A response that is not 2xx, kept apart from transport failures so callers can branch on 404. */
export class HttpStatusError extends SourceError {
  readonly status: number;
  constructor(url: string, status: number, statusText: string) {
    super(`${url}: HTTP ${status} ${statusText}`.trimEnd(), { hint: statusHint(status) });
    this.status = status;
  }
}

/** The network failed us (refused, reset, dropped mid-body): a rerun may succeed and resume. */
export class TransportError extends SourceError {}

/** GET a small resource whole. Throws HttpStatusError for non-2xx, SourceError if unreachable. */
export async function getBytes(url: string): Promise<Buffer> {
  const res = await request(url);
  if (!res.ok) {
    await res.body?.cancel();
    throw new HttpStatusError(url, res.status, res.statusText);
  }
  const length = Number(res.headers.get('content-length') ?? 0);
  if (length > SMALL_LIMIT) {
    await res.body?.cancel();
    throw new SourceError(`${url}: ${length} bytes where a small metadata file was expected`, {
      hint: 'check that --mirror points at a release mirror',
    });
  }
  try {
    return Buffer.from(await res.arrayBuffer());
  } catch (cause) {
    throw unreachable(url, cause);
  }
}

/** fetch() with transport errors mapped to SourceError; the caller handles the status. */
export async function request(url: string, headers: Record<string, string> = {}): Promise<Response> {
  try {
    return await fetch(url, { headers, redirect: 'follow' });
  } catch (cause) {
    throw unreachable(url, cause);
  }
}

/** A transport failure (refused, reset, DNS, TLS) as the SourceError the CLI prints. */
export function unreachable(url: string, cause: unknown): TransportError {
  return new TransportError(`cannot reach ${url}: ${describe(cause)}`, {
    hint: 'check the network and --mirror; rerun to resume where the download stopped',
    cause,
  });
}

/** The innermost useful message of a fetch failure ("fetch failed" alone says nothing). */
export function describe(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e instanceof Error && e.cause instanceof Error; depth++) e = e.cause;
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  return typeof code === 'string' && !message.includes(code) ? `${code} ${message}` : message;
}

function statusHint(status: number): string {
  if (status === 404) return 'no such release or file on the mirror: check --channel/--stream, --version and --mirror';
  if (status === 401 || status === 403) return 'the mirror refused access: check --mirror';
  return 'the mirror failed; rerun later, or point --mirror at another one';
}
