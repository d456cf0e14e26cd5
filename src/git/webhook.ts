// POST /-/hooks/git: a forge (GitHub, Gitea, Forgejo, GitLab-compatible relays) tells us a push
// happened, so serve fetches now instead of at the next poll. The hook only triggers a fetch;
// its body is never read as config. It is authenticated by an HMAC-SHA256 of the raw body with
// the shared secret (BOOTCFG_WEBHOOK_SECRET), compared in constant time; without a secret the
// hook is off: every request is a 404 that says so, and nothing is fetched.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

export const HOOK_PATH = '/-/hooks/git';

/** Push payloads are a few kB; GitHub caps them at 25 MB, but we never need the content. */
export const DEFAULT_MAX_BYTES = 1024 * 1024;

export interface WebhookOptions {
  /** The shared secret configured on the forge. */
  secret: string;
  /** Called once per authenticated delivery; must not throw. */
  onPush: () => void;
  /** Larger bodies get 413 and are not read further. */
  maxBytes?: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The request handler for HOOK_PATH. */
export function webhookHandler(options: WebhookOptions): Handler {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  return (req, res) => {
    if (req.method !== 'POST') return answer(res, 405, 'method not allowed', { Allow: 'POST' });
    readBounded(req, maxBytes).then(
      (body) => {
        if (body === undefined) return answer(res, 413, 'payload too large', { Connection: 'close' });
        if (!verifySignature(options.secret, body, req.headers)) return answer(res, 401, 'bad or missing signature');
        options.onPush();
        answer(res, 202, 'fetch scheduled');
      },
      () => answer(res, 400, 'could not read the request body'),
    );
  };
}

/** What HOOK_PATH answers when no secret is set: the hook is off, and says how to turn it on. */
export function webhookOffHandler(): Handler {
  return (_req, res) => answer(res, 404, 'webhook off: set BOOTCFG_WEBHOOK_SECRET on the server to enable it');
}

/**
 * True when the request carries a valid HMAC-SHA256 of the body: GitHub's
 * `X-Hub-Signature-256: sha256=<hex>` or Gitea's `X-Gitea-Signature: <hex>` (also sent by Forgejo
 * as `X-Forgejo-Signature`).
 */
export function verifySignature(secret: string, body: Buffer, headers: IncomingHttpHeaders): boolean {
  const expected = createHmac('sha256', secret).update(body).digest();
  const candidates = [
    stripPrefix(header(headers, 'x-hub-signature-256'), 'sha256='),
    header(headers, 'x-gitea-signature'),
    header(headers, 'x-forgejo-signature'),
  ];
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

/** The whole body, or undefined as soon as it is known to exceed maxBytes. */
function readBounded(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        // Stop buffering; keep draining so the 413 can be written, then close the connection.
        chunks.length = 0;
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** One-line text answers, like every other error answer of bootcfg serve (docs/http.md). */
function answer(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-cache',
    ...headers,
  });
  res.end(`${text}\n`);
}
