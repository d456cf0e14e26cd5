// POST /-/hooks/git: a forge (GitHub, Gitea, Forgejo, GitLab-compatible relays) tells us a push
// happened, so serve fetches now instead of at the next poll. The hook only triggers a fetch;
// its body is never read as config. It is authenticated by an HMAC-SHA256 of the raw body with
// the shared secret (BOOTCFG_WEBHOOK_SECRET), compared in constant time; without a secret the
// hook is off: every request is a 404 that says so, and nothing is fetched.
//
// Anyone who can reach serve can send a body, and its signature can only be checked once all of
// it has arrived; so what anonymous clients can make serve hold is bounded: no signature header
// or a declared length over 1 MiB is refused before a byte is read, at most 8 bodies are read at
// once (more get 503 and Retry-After), each must arrive within 10 s, and every refusal closes
// the connection.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

export const HOOK_PATH = '/-/hooks/git';

/** Push payloads are a few kB; GitHub caps them at 25 MB, but we never need the content. */
export const DEFAULT_MAX_BYTES = 1024 * 1024;

/** The whole body must arrive within this time, counted from the request's headers. */
export const DEFAULT_BODY_TIMEOUT_MS = 10_000;

/**
 * Bodies read at once, before their signature can be checked. Anyone can send one, so this and
 * maxBytes bound what anonymous clients can make serve hold: 8 x 1 MiB, each for at most 10 s.
 */
export const DEFAULT_MAX_PENDING = 8;

export interface WebhookOptions {
  /** The shared secret configured on the forge. */
  secret: string;
  /** Called once per authenticated delivery; must not throw. */
  onPush: () => void;
  /** Larger bodies get 413 and are not read further. */
  maxBytes?: number;
  /** A body still incomplete after this long gets 408 and its connection is closed. */
  bodyTimeoutMs?: number;
  /** Over this many bodies being read, a request gets 503 with Retry-After, unread. */
  maxPending?: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** What a body read ended with: the bytes, or the answer to give instead. */
type BodyResult = { body: Buffer } | { status: 400 | 408 | 413; text: string };

/** The request handler for HOOK_PATH. */
export function webhookHandler(options: WebhookOptions): Handler {
  const limits = {
    maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES,
    timeoutMs: options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
  };
  const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  let pending = 0;
  return (req, res) => {
    // Everything that can be refused from the headers alone is refused before a byte of body is read.
    if (req.method !== 'POST') return refuse(res, 405, 'method not allowed', { Allow: 'POST' });
    if (!SIGNATURE_HEADERS.some((name) => header(req.headers, name) !== undefined)) return refuse(res, 401, 'bad or missing signature');
    if (Number(req.headers['content-length'] ?? 0) > limits.maxBytes) return refuse(res, 413, 'payload too large');
    if (pending >= maxPending) return refuse(res, 503, 'too many webhook deliveries at once', { 'Retry-After': String(Math.ceil(limits.timeoutMs / 1000)) });
    pending++;
    readBounded(req, limits).then((result) => {
      pending--;
      if (!('body' in result)) return refuse(res, result.status, result.text);
      if (!verifySignature(options.secret, result.body, req.headers)) return answer(res, 401, 'bad or missing signature');
      options.onPush();
      answer(res, 202, 'fetch scheduled');
    });
  };
}

/** What HOOK_PATH answers when no secret is set: the hook is off, and says how to turn it on. */
export function webhookOffHandler(): Handler {
  return (_req, res) => answer(res, 404, 'webhook off: set BOOTCFG_WEBHOOK_SECRET on the server to enable it');
}

/** Where forges put the HMAC: GitHub (with a "sha256=" prefix), Gitea, Forgejo. */
const SIGNATURE_HEADERS = ['x-hub-signature-256', 'x-gitea-signature', 'x-forgejo-signature'] as const;

/**
 * True when the request carries a valid HMAC-SHA256 of the body: GitHub's
 * `X-Hub-Signature-256: sha256=<hex>` or Gitea's `X-Gitea-Signature: <hex>` (also sent by Forgejo
 * as `X-Forgejo-Signature`).
 */
export function verifySignature(secret: string, body: Buffer, headers: IncomingHttpHeaders): boolean {
  const expected = createHmac('sha256', secret).update(body).digest();
  const [github, ...others] = SIGNATURE_HEADERS;
  const candidates = [stripPrefix(header(headers, github), 'sha256='), ...others.map((name) => header(headers, name))];
  return candidates.some((hex) => hex !== undefined && sameDigest(expected, hex));
}

/** Compare without leaking, through timing, how many leading bytes matched. */
function sameDigest(expected: Buffer, hex: string): boolean {
  if (!/^[0-9a-f]{64}$/i.test(hex)) return false;
  return timingSafeEqual(expected, Buffer.from(hex, 'hex'));
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function stripPrefix(value: string | undefined, prefix: string): string | undefined {
  if (value === undefined || !value.toLowerCase().startsWith(prefix)) return undefined;
  return value.slice(prefix.length);
}

/**
 * The whole body; or 413 as soon as it is known to exceed maxBytes, 408 when it is not complete
 * within timeoutMs. Settles exactly once, also when the client goes away (then nobody reads the
 * answer, but the slot is freed).
 */
function readBounded(req: IncomingMessage, limits: { maxBytes: number; timeoutMs: number }): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      chunks.length = 0;
      req.removeListener('data', onData);
      req.resume(); // discard the rest; the answer closes the connection
      resolve(result);
    };
    const timer = setTimeout(() => settle({ status: 408, text: 'request body too slow' }), limits.timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBytes) settle({ status: 413, text: 'payload too large' });
      else chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => settle({ body: Buffer.concat(chunks) }));
    req.once('error', () => settle({ status: 400, text: 'could not read the request body' }));
    req.once('close', () => settle({ status: 408, text: 'request body incomplete' }));
  });
}

/** An answer that closes the connection: whatever body is left is never read. */
function refuse(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  answer(res, status, text, { ...headers, Connection: 'close' });
}

/** One-line text answers, like every other error answer of bootcfg serve (docs/http.md). */
function answer(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const body = `${text}\n`;
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-cache',
    ...headers,
  });
  res.end(body);
}
