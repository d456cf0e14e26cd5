// A deliberately dumb HTTP/1.1 client for the conformance suite. fetch() and http.request()
// normalise or refuse exactly the requests we need to send (`/../`, `%00`, raw NUL, odd
// methods), so this one writes the request bytes as given and parses what comes back.

import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  /** Header names lowercased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

export interface RequestSpec {
  method?: string;
  /** The request-target exactly as sent: path and query, no normalising, no encoding. */
  target: string;
  headers?: Record<string, string>;
}

/** Sends one request on a fresh connection (Connection: close) and reads the whole answer. */
export async function send(url: string, spec: RequestSpec): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  const lines = [`${spec.method ?? 'GET'} ${spec.target} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close'];
  for (const [name, value] of Object.entries(spec.headers ?? {})) lines.push(`${name}: ${value}`);
  const raw = await exchange(hostname, Number(port), Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
  return parse(raw, (spec.method ?? 'GET') === 'HEAD');
}

/**
 * Sends request bytes exactly as given (latin1), for requests no client library would write:
 * LF-only lines, repeated or missing Host, odd versions. The server must close the connection.
 */
export async function sendRaw(url: string, request: string, head = false): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return parse(await exchange(hostname, Number(port), Buffer.from(request, 'latin1')), head);
}

function exchange(host: string, port: number, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, host, () => socket.write(request));
    socket.setTimeout(15_000, () => socket.destroy(new Error(`no answer from ${host}:${port} in 15s`)));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

function parse(raw: Buffer, head: boolean): RawResponse {
  // An HTTP/0.9 answer is the body alone; status 0 says so.
  if (!raw.subarray(0, 5).equals(Buffer.from('HTTP/'))) return { status: 0, headers: {}, body: raw };
  // Interim answers (100 Continue) come before the real one.
  while (/^HTTP\/1\.[01] 1\d\d /.test(raw.subarray(0, 13).toString('latin1')) && raw.includes('\r\n\r\n')) raw = raw.subarray(raw.indexOf('\r\n\r\n') + 4);
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`malformed response: ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`);
  const [statusLine, ...headerLines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let body = raw.subarray(end + 4);
  // A HEAD answer keeps whatever followed the headers: it must be nothing.
  if (head) return { status, headers, body };
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = unchunk(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status, headers, body };
}

function unchunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (let guard = 0; guard < 100_000 && at < data.length; guard++) {
    const lineEnd = data.indexOf('\r\n', at);
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
