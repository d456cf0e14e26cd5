// Stage: serve. The fast path: plain GET and HEAD requests answered straight from the socket,
// without node's HTTP layer. A boot storm is all such requests (an iPXE client, wrk), and a
// profile of serve under one put most of its own time per request in node's request and response
// objects, not in bootcfg's routing or its one pread from the answer pack; answered here, one
// process serves about twice the requests (docs/BENCHMARKS.md).
//
// It answers only what it can answer exactly as the server it stands in front of would: a
// complete HTTP/1.1 head in the bytes at hand, `GET` or `HEAD`, an origin-form target of plain
// URL characters, header lines of plain characters that nginx's rules pass (route.ts checkHead),
// no body, no conditional or range header, a Connection of keep-alive or close only, no Expect or
// Upgrade; and only answers the caller (server.ts) makes wholly from one snapshot's pack, with
// the headers node would send, in node's order. Anything else, and everything after it on that
// connection, goes to node's HTTP server with the bytes not yet answered (handOff): odd requests,
// heads split across reads, pipelined requests past a full send buffer. Node's server then owns
// that connection for good, its timeouts included. A connection that stays here is closed after
// the server's keep-alive timeout without a request, as node closes an idle one.

import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { MAX_HEAD, checkHead } from './route.js';

export interface PlainRequest {
  method: 'GET' | 'HEAD';
  /** The request target as sent (origin form). */
  target: string;
  /** Offset just past this request's head in the bytes read. */
  next: number;
  /** The client asked to close the connection after this answer (`Connection: close`). */
  close: boolean;
}

/** What the caller answers with: its status, its headers in order (no Date or Connection), its body. */
export interface QuickReply {
  status: number;
  headers: readonly (readonly [string, string | number])[];
  body: Buffer;
}

export type Answerer = (request: PlainRequest, socket: Socket) => QuickReply | undefined;

const REQUEST_LINE = /^(GET|HEAD) (\/[A-Za-z0-9\-._~:/?@!$&'()*+,;=%]*) HTTP\/1\.1$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*((?:[\x21-\x7e](?:[ \t]*[\x21-\x7e])*)?)[ \t]*$/;
/** Headers whose presence sends a request to node's server: they change the answer or the connection. */
const NOT_PLAIN = new Set(['content-length', 'transfer-encoding', 'expect', 'upgrade', 'range', 'if-range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since']);

/**
 * The plain request whose head starts at `from` in `bytes`: 'partial' when the head is not all
 * there, 'odd' when it is not one the fast path answers (node's server will).
 */
export function readPlainHead(bytes: Buffer, from: number): PlainRequest | 'partial' | 'odd' {
  const end = bytes.indexOf('\r\n\r\n', from, 'latin1');
  if (end === -1) return bytes.length - from > MAX_HEAD ? 'odd' : 'partial';
  if (end - from > MAX_HEAD) return 'odd';
  const lines = bytes.toString('latin1', from, end).split('\r\n');
  const line = REQUEST_LINE.exec(lines[0]!);
  if (!line) return 'odd';
  const rawHeaders: string[] = [];
  let close = false;
  for (let i = 1; i < lines.length; i++) {
    const header = HEADER_LINE.exec(lines[i]!);
    if (!header) return 'odd'; // obs-fold, control or non-ASCII characters, no colon
    const name = header[1]!.toLowerCase();
    const value = header[2]!;
    if (NOT_PLAIN.has(name)) return 'odd';
    if (name === 'connection') {
      const option = value.toLowerCase();
      if (option !== 'keep-alive' && option !== 'close') return 'odd';
      close ||= option === 'close';
    }
    rawHeaders.push(header[1]!, value);
  }
  if (checkHead({ httpVersionMajor: 1, httpVersionMinor: 1, rawHeaders })) return 'odd';
  return { method: line[1] as 'GET' | 'HEAD', target: line[2]!, next: end + 4, close };
}

/**
 * The response head node writes for a reply to an HTTP/1.1 request: the connection closed
 * after it, or kept alive (with a Keep-Alive header when the server has a keep-alive timeout,
 * `keepAliveMs`, as node says it: in whole seconds).
 */
export function responseHead(reply: QuickReply, date: string, keepAliveMs: number | 'close'): string {
  let head = `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? 'unknown'}\r\n`;
  for (const [name, value] of reply.headers) head += `${name}: ${value}\r\n`;
  const connection = keepAliveMs === 'close' ? 'close' : keepAliveMs > 0 ? `keep-alive\r\nKeep-Alive: timeout=${Math.floor(keepAliveMs / 1000)}` : 'keep-alive';
  return `${head}Date: ${date}\r\nConnection: ${connection}\r\n\r\n`;
}

// ---------------------------------------------------------------- I/O

/**
 * Puts the fast path in front of `server`: every new connection is read here first, and handed
 * to node's own connection handling when `answer` declines or the bytes are not a plain
 * request. `close()` ends the connections still held here.
 */
export function frontServer(server: Server, answer: Answerer): { close(): void } {
  const [nodeConnection] = server.listeners('connection') as ((socket: Socket) => void)[];
  if (nodeConnection === undefined) return { close: () => {} }; // not node's HTTP server as we know it: leave it be
  server.removeListener('connection', nodeConnection);
  const held = new Set<Socket>();

  server.on('connection', (socket: Socket) => {
    held.add(socket);
    const destroy = () => socket.destroy(); // on an error, or idle past the keep-alive timeout
    const handOff = (rest: Buffer) => {
      held.delete(socket);
      socket.removeListener('data', onData);
      socket.removeListener('error', destroy);
      socket.removeListener('timeout', destroy);
      socket.setTimeout(0);
      socket.pause();
      if (rest.length > 0) socket.unshift(rest);
      nodeConnection.call(server, socket);
      process.nextTick(() => socket.resume());
    };
    /** As node does after a `Connection: close` answer: nothing more is read, and the socket goes once written. */
    const close = () => {
      held.delete(socket);
      socket.removeListener('data', onData);
      socket.on('data', () => {});
      socket.end(() => socket.destroy());
    };
    const onData = (chunk: Buffer) => {
      let at = 0;
      while (at < chunk.length) {
        const request = readPlainHead(chunk, at);
        // After `Connection: close`, node's parser refuses whatever follows: node answers that.
        const closing = typeof request !== 'string' && request.close;
        let reply: QuickReply | undefined;
        try {
          reply = typeof request === 'string' || (closing && request.next < chunk.length) ? undefined : answer(request, socket);
        } catch {
          return void socket.destroy(); // the pack unreadable mid-answer: end this one, not the server (as sendFile does)
        }
        if (reply === undefined || typeof request === 'string') return handOff(chunk.subarray(at));
        socket.cork();
        socket.write(responseHead(reply, httpNow(), closing ? 'close' : server.keepAliveTimeout), 'latin1');
        if (request.method === 'GET' && reply.body.length > 0) socket.write(reply.body);
        socket.uncork();
        if (closing) return close();
        at = request.next;
        // A client that sends without reading: what is left goes to node, which holds back.
        if (socket.writableNeedDrain && at < chunk.length) return handOff(chunk.subarray(at));
      }
      if (socket.writableNeedDrain) {
        socket.pause();
        socket.once('drain', () => socket.resume());
      }
    };
    socket.on('data', onData);
    socket.on('error', destroy);
    socket.on('timeout', destroy);
    socket.on('close', () => held.delete(socket));
    if (server.keepAliveTimeout > 0) socket.setTimeout(server.keepAliveTimeout);
  });

  return {
    close: () => {
      for (const socket of held) socket.destroy();
      held.clear();
    },
  };
}

/** The Date header's text, made once a second as node makes it. */
function httpNow(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== lastNow.second) lastNow = { second, text: new Date(second * 1000).toUTCString() };
  return lastNow.text;
}
let lastNow = { second: NaN, text: '' };
