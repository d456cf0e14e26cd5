// Cases for the requests a boot loader never sends but a scanner, a proxy or a curious admin
// does: ranges and conditional requests (nginx's rules: RFC 9110, one range per request),
// a newline after a MAC, and request heads that both HTTP parsers see before any route (odd
// versions, Host, repeated headers, Transfer-Encoding, header sizes, absolute-form targets,
// raw bytes). Both servers give one answer to each, or the case names nginx's documented
// answer (docs/http.md, "Where the two servers differ").

import { BAD_MAC, BAD_REQUEST, BAD_UUID, NOT_FOUND, OCTETS, TEXT } from './bodies.js';
import type { Case } from './cases.js';
import { IMAGE_MTIME, type Tree } from './fixture.js';

const TOO_LARGE = 'request header too large\n';

const LAST_MODIFIED = new Date(IMAGE_MTIME * 1000).toUTCString();
const OLDER = 'Mon, 28 Dec 2015 00:00:00 GMT';
const LATER = 'Wed, 30 Dec 2015 00:00:00 GMT';

/** More than the Node server reads at once, so ranges of it are streamed. */
export const BIG_IMAGE = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff));

/** The request, byte for byte: a request line, header lines, then Connection: close. */
function raw(line: string, ...headers: string[]): string {
  return [line, ...headers, 'Connection: close', '', ''].join('\r\n');
}

export function oddCases(full: Tree, images: Tree): Case[] {
  return [...rangeCases(full, images), ...conditionalCases(full, images), ...newlineCases(), ...targetCases(full, images), ...headCases(full)];
}

function rangeCases(full: Tree, images: Tree): Case[] {
  const vmlinuz = images.get('vmlinuz') as Buffer;
  const etag = `"${IMAGE_MTIME.toString(16)}-${vmlinuz.length.toString(16)}"`;
  const size = vmlinuz.length;
  const part = (name: string, range: string, start: number, end: number, request: Record<string, string> = {}): Case => ({
    name: `range: ${name}`, tree: 'full', target: '/images/vmlinuz', request: { Range: range, ...request },
    status: 206, body: vmlinuz.subarray(start, end + 1), type: OCTETS, headers: { 'content-range': `bytes ${start}-${end}/${size}` },
  });
  const whole = (name: string, range: string, request: Record<string, string> = {}): Case => ({
    name: `range: ${name}`, tree: 'full', target: '/images/vmlinuz', request: { Range: range, ...request }, status: 200, body: vmlinuz, type: OCTETS,
  });
  const unsatisfiable = (name: string, range: string, target = '/images/vmlinuz', length = size): Case => ({
    name: `range: ${name}`, tree: 'full', target, request: { Range: range },
    status: 416, body: 'range not satisfiable\n', type: TEXT, headers: { 'content-range': `bytes */${length}` },
  });
  const chain = full.get('boot.ipxe')!;
  const ipxe = Buffer.from(full.get('ipxe/default')!);
  const big = (name: string, range: string, start: number, end: number): Case => ({
    name: `range: ${name}`, tree: 'full', target: '/images/big.img', request: { Range: range },
    status: 206, body: BIG_IMAGE.subarray(start, end + 1), type: OCTETS, headers: { 'content-range': `bytes ${start}-${end}/${BIG_IMAGE.length}` },
  });
  return [
    part('bytes=0-0 is one byte, not the file', 'bytes=0-0', 0, 0),
    part('a middle range', 'bytes=2-3', 2, 3),
    part('a suffix range', 'bytes=-2', 4, 5),
    part('an open range', 'bytes=4-', 4, 5),
    part('an end past the size is cut to it', 'bytes=3-100', 3, 5),
    part('a suffix longer than the file is all of it', 'bytes=-100', 0, 5),
    part('the unit in any case', 'BYTES=0-1', 0, 1),
    part('spaces around the numbers', 'bytes= 1 - 2', 1, 2),
    part('one satisfiable range among unsatisfiable ones', 'bytes=0-1,9-10', 0, 1),
    unsatisfiable('a start past the end', 'bytes=10-'),
    unsatisfiable('an end before the start', 'bytes=5-2'),
    unsatisfiable('an empty suffix', 'bytes=-0'),
    unsatisfiable('not a number', 'bytes=abc'),
    unsatisfiable('a trailing comma', 'bytes=0-1,'),
    unsatisfiable('no range satisfiable', 'bytes=9-10,20-30'),
    whole('several ranges get the whole file, never multipart', 'bytes=0-0,2-3'),
    whole('another unit is ignored', 'items=0-1'),
    whole('"bytes =" is not "bytes="', 'bytes = 0-1'),
    whole('"bytes=" alone is ignored', 'bytes='),
    part('If-Range with the current ETag', 'bytes=0-1', 0, 1, { 'If-Range': etag }),
    whole('If-Range with another ETag: the whole, current file', 'bytes=0-1', { 'If-Range': '"5681cc00-7"' }),
    whole('If-Range with a weak ETag never matches', 'bytes=0-1', { 'If-Range': `W/${etag}` }),
    part('If-Range with the Last-Modified date', 'bytes=0-1', 0, 1, { 'If-Range': LAST_MODIFIED }),
    whole('If-Range with an older date', 'bytes=0-1', { 'If-Range': OLDER }),
    whole('If-Range that is not a date', 'bytes=0-1', { 'If-Range': 'yesterday' }),
    { ...part('HEAD with a range', 'bytes=0-0', 0, 0), method: 'HEAD', body: '' },
    { name: 'range: on a compiled answer', tree: 'full', target: '/ipxe', request: { Range: 'bytes=0-6' }, status: 206, body: ipxe.subarray(0, 7), type: TEXT, headers: { 'content-range': `bytes 0-6/${ipxe.length}` } },
    unsatisfiable('past the end of a compiled answer', 'bytes=1000-', '/ipxe', ipxe.length),
    // Its body depends on the query (labels passed on), so, as after nginx's sub_filter, no range.
    { name: 'range: never on the chainload script', tree: 'full', target: '/boot.ipxe', request: { Range: 'bytes=0-6' }, status: 200, body: chain, type: TEXT },
    { name: 'range: on a Pixiecore answer', tree: 'full', target: '/pixiecore/v1/boot/52:54:00:ab:cd:ef', request: { Range: 'bytes=0-0' }, status: 206, body: '{', type: 'application/json' },
    { name: 'range: a 404 is not ranged', tree: 'full', target: '/nope', request: { Range: 'bytes=0-0' }, status: 404, body: NOT_FOUND, type: TEXT },
    { name: 'range: an error is not ranged', tree: 'full', target: '/ipxe?mac=zz', request: { Range: 'bytes=0-0' }, status: 400, body: BAD_MAC, type: TEXT },
    { name: 'range: a big image whole', tree: 'full', target: '/images/big.img', status: 200, body: BIG_IMAGE, type: OCTETS },
    big('inside a big image', 'bytes=70000-70009', 70000, 70009),
    big('a suffix of a big image, streamed', 'bytes=-70000', 30000, 99999),
    {
      name: 'range: the first of two Range headers counts', tree: 'full', target: '/images/vmlinuz', raw: raw('GET /images/vmlinuz HTTP/1.1', 'Host: x', 'Range: bytes=0-0', 'Range: bytes=2-3'),
      status: 206, body: vmlinuz.subarray(0, 1), type: OCTETS, headers: { 'content-range': `bytes 0-0/${size}` },
    },
  ];
}

function conditionalCases(full: Tree, images: Tree): Case[] {
  const vmlinuz = images.get('vmlinuz') as Buffer;
  const etag = `"${IMAGE_MTIME.toString(16)}-${vmlinuz.length.toString(16)}"`;
  const ask = (name: string, request: Record<string, string>, status: number, target = '/images/vmlinuz'): Case => {
    const body = status === 200 ? (target === '/boot.ipxe' ? full.get('boot.ipxe')! : vmlinuz) : status === 412 ? 'precondition failed\n' : '';
    const type = status === 200 ? (target === '/boot.ipxe' ? TEXT : OCTETS) : status === 412 ? TEXT : undefined;
    return { name: `conditional: ${name}`, tree: 'full', target, request, status, body, type };
  };
  return [
    { name: 'conditional: images carry nginx\'s ETag and Last-Modified', tree: 'full', target: '/images/vmlinuz', status: 200, body: vmlinuz, type: OCTETS, headers: { etag, 'last-modified': LAST_MODIFIED } },
    ask('If-None-Match: * on a compiled answer', { 'If-None-Match': '*' }, 304, '/boot.ipxe'),
    ask('If-None-Match: * on an image', { 'If-None-Match': '*' }, 304),
    ask('If-None-Match with the ETag', { 'If-None-Match': etag }, 304),
    ask('If-None-Match compares weakly', { 'If-None-Match': `W/${etag}` }, 304),
    ask('If-None-Match with a list', { 'If-None-Match': `"a", ${etag}` }, 304),
    ask('If-None-Match with another ETag', { 'If-None-Match': '"a"' }, 200),
    ask('If-None-Match wins over a Range', { 'If-None-Match': '*', Range: 'bytes=0-0' }, 304),
    ask('If-Modified-Since the Last-Modified date', { 'If-Modified-Since': LAST_MODIFIED }, 304),
    ask('If-Modified-Since a later date: only an exact date counts', { 'If-Modified-Since': LATER }, 200),
    ask('If-Modified-Since that is not a date', { 'If-Modified-Since': 'yesterday' }, 200),
    ask('If-Match with another ETag', { 'If-Match': '"x"' }, 412),
    ask('If-Match: *', { 'If-Match': '*' }, 200),
    ask('If-Match with the ETag', { 'If-Match': etag }, 200),
    ask('If-Match compares strongly', { 'If-Match': `W/${etag}` }, 412),
    ask('If-Unmodified-Since an older date', { 'If-Unmodified-Since': OLDER }, 412),
    ask('If-Unmodified-Since the Last-Modified date', { 'If-Unmodified-Since': LAST_MODIFIED }, 200),
    ask('If-Unmodified-Since that is not a date', { 'If-Unmodified-Since': 'yesterday' }, 412),
    ask('If-Match on a compiled answer', { 'If-Match': '"x"' }, 412, '/boot.ipxe'),
  ];
}

/** PCRE's `$` matches before a final newline: nginx once took `<mac>\n` for the MAC. */
function newlineCases(): Case[] {
  const bad = (name: string, target: string, body: string): Case => ({ name: `newline: ${name}`, tree: 'full', target, status: 400, body, type: TEXT });
  return [
    bad('after a Pixiecore MAC', '/pixiecore/v1/boot/52:54:00:ab:cd:ef%0a', BAD_MAC),
    bad('after a Pixiecore MAC, upper-case escape', '/pixiecore/v1/boot/52-54-00-AB-CD-EF%0A', BAD_MAC),
    bad('after a bare Pixiecore MAC', '/pixiecore/v1/boot/525400abcdef%0a', BAD_MAC),
    bad('after a Cisco Pixiecore MAC', '/pixiecore/v1/boot/5254.00ab.cdef%0a', BAD_MAC),
    bad('CR LF after a Pixiecore MAC', '/pixiecore/v1/boot/52:54:00:ab:cd:ef%0d%0a', BAD_MAC),
    bad('after a query MAC', '/ipxe?mac=52:54:00:ab:cd:ef%0a', BAD_MAC),
    bad('after a query UUID', '/cloud?uuid=4c4c4544-0044-4b10-8058-b7c04f4b4e31%0a', BAD_UUID),
  ];
}

function targetCases(full: Tree, images: Tree): Case[] {
  const chain = full.get('boot.ipxe')!;
  const refused = (name: string, target: string, method = 'GET'): Case => ({ name, tree: 'full', method, target, status: 400, body: BAD_REQUEST, type: TEXT });
  const answered = (name: string, target: string): Case => ({ name, tree: 'full', target, status: 200, body: chain, type: TEXT });
  const notFound = (name: string, target: string): Case => ({ name, tree: 'full', target, status: 404, body: NOT_FOUND, type: TEXT });
  return [
    { name: 'raw UTF-8 in the path', tree: 'full', target: '/images/caf\u00c3\u00a9', status: 400, body: BAD_REQUEST, type: TEXT },
    { name: 'raw UTF-8 in the query', tree: 'full', target: '/ipxe?hostname=caf\u00c3\u00a9', status: 400, body: BAD_REQUEST, type: TEXT },
    { name: 'an encoded UTF-8 file name', tree: 'full', target: '/images/caf%C3%A9', status: 200, body: images.get('café')!, type: OCTETS },
    notFound('an encoded Latin-1 name is another name', '/images/caf%E9'),
    notFound('overlong UTF-8 dots are two bytes, not a dot', '/images/%c0%ae%c0%ae/boot.ipxe'),
    notFound('an overlong UTF-8 dot as a route', '/%c0%ae'),
    notFound('an invalid UTF-8 byte in a route', '/boot.ipxe%ff'),
    answered('absolute-form: https', 'https://x/boot.ipxe'),
    answered('absolute-form: the scheme in any case', 'HTTP://x/boot.ipxe'),
    refused('absolute-form: another scheme', 'ftp://x/boot.ipxe'),
    refused('absolute-form: a scheme with + . -', 'h2+x.y-z://x/boot.ipxe'),
    answered('absolute-form: a port', 'http://x:8080/boot.ipxe'),
    answered('absolute-form: an IPv6 literal', 'http://[::1]:8080/boot.ipxe'),
    notFound('absolute-form: no path is /', 'http://x'),
    refused('absolute-form: a scheme starting with a digit', '2h://x/boot.ipxe'),
    refused('absolute-form: userinfo', 'http://u:p@x/boot.ipxe'),
    refused('absolute-form: an underscore in the host', 'http://a_b/boot.ipxe'),
    refused('absolute-form: an empty host', 'http:///boot.ipxe'),
    refused('absolute-form: ".." in the host', 'http://a..b/boot.ipxe'),
    refused('a fragment is refused before the method', '/boot.ipxe#x', 'POST'),
    refused('OPTIONS *', '*', 'OPTIONS'),
    refused('asterisk-form with another method', '*', 'POST'),
    { name: 'CONNECT to an authority', tree: 'full', target: 'x:443', raw: raw('CONNECT x:443 HTTP/1.1', 'Host: x'), status: 400, body: BAD_REQUEST, type: TEXT },
    { name: 'CONNECT to a path', tree: 'full', target: '/boot.ipxe', raw: raw('CONNECT /boot.ipxe HTTP/1.1', 'Host: x'), status: 405, body: 'method not allowed\n', type: TEXT, headers: { allow: 'GET, HEAD' } },
  ];
}

function headCases(full: Tree): Case[] {
  const chain = full.get('boot.ipxe')!;
  const head = (name: string, request: string, status: number, body: string | Buffer, nginx?: Case['nginx']): Case => ({
    name, tree: 'full', target: '/boot.ipxe', raw: request, status, body, type: status === 0 ? undefined : TEXT, ...(nginx ? { nginx } : {}),
  });
  const ok = (name: string, ...headers: string[]) => head(name, raw('GET /boot.ipxe HTTP/1.1', ...headers), 200, chain);
  const bad = (name: string, ...headers: string[]) => head(name, raw('GET /boot.ipxe HTTP/1.1', ...headers), 400, BAD_REQUEST);
  const line = (name: string, requestLine: string, status: number, body: string | Buffer) => head(name, raw(requestLine, 'Host: x'), status, body);
  const k = (n: number) => 'k'.repeat(n);
  return [
    bad('Host missing in HTTP/1.1'),
    head('Host missing in HTTP/1.0', raw('GET /boot.ipxe HTTP/1.0'), 200, chain),
    bad('two Host headers', 'Host: a', 'Host: a'),
    head('two Host headers in HTTP/1.0', raw('GET /boot.ipxe HTTP/1.0', 'Host: a', 'Host: b'), 400, BAD_REQUEST),
    bad('an empty Host', 'Host: '),
    bad('a Host with a slash', 'Host: a/b'),
    bad('a Host with ".."', 'Host: a..b'),
    bad('a Host that is only a port', 'Host: :80'),
    ok('a Host with an underscore', 'Host: a_b'),
    ok('a Host with a trailing dot', 'Host: boot.example.'),
    ok('a Host with a port', 'Host: boot.example:8080'),
    head('absolute-form without Host in HTTP/1.1', raw('GET http://x/boot.ipxe HTTP/1.1'), 400, BAD_REQUEST),
    bad('If-Modified-Since twice', 'Host: x', `If-Modified-Since: ${LAST_MODIFIED}`, `If-Modified-Since: ${LAST_MODIFIED}`),
    bad('If-None-Match twice', 'Host: x', 'If-None-Match: "a"', 'If-None-Match: "b"'),
    bad('Expect twice', 'Host: x', 'Expect: foo', 'Expect: foo'),
    ok('User-Agent twice', 'Host: x', 'User-Agent: a', 'User-Agent: b'),
    ok('an unknown expectation is ignored', 'Host: x', 'Expect: foo'),
    ok('Expect: 100-continue', 'Host: x', 'Expect: 100-continue'),
    ok('a header name with an underscore', 'Host: x', 'X_Forwarded: 1'),
    ok('a raw UTF-8 header value', 'Host: x', 'X-Name: caf\u00c3\u00a9'),
    ok('a header line of 8000 bytes', 'Host: x', `X-Big: ${k(8000)}`),
    head('a header line over 8 KiB', raw('GET /boot.ipxe HTTP/1.1', 'Host: x', `X-Big: ${k(9000)}`), 400, TOO_LARGE),
    head('a header line of 16 KiB', raw('GET /boot.ipxe HTTP/1.1', 'Host: x', `X-Big: ${k(16_000)}`), 400, TOO_LARGE),
    ok('three header lines of 7 KiB (21 KiB)', 'Host: x', `X-A: ${k(7000)}`, `X-B: ${k(7000)}`, `X-C: ${k(7000)}`),
    head('five header lines of 7 KiB (35 KiB)', raw('GET /boot.ipxe HTTP/1.1', 'Host: x', ...['A', 'B', 'C', 'D', 'E'].map((n) => `X-${n}: ${k(7000)}`)), 400, TOO_LARGE),
    head('Transfer-Encoding other than chunked', raw('GET /boot.ipxe HTTP/1.1', 'Host: x', 'Transfer-Encoding: xchunked'), 501, 'not implemented\n'),
    head('Transfer-Encoding gzip, chunked', `GET /boot.ipxe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`, 501, 'not implemented\n'),
    head('Transfer-Encoding in HTTP/1.0', raw('GET /boot.ipxe HTTP/1.0', 'Transfer-Encoding: chunked'), 400, BAD_REQUEST),
    head('a chunked GET', `GET /boot.ipxe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, 200, chain),
    head('Transfer-Encoding and Content-Length', `GET /boot.ipxe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\nConnection: close\r\n\r\n0\r\n\r\n`, 400, BAD_REQUEST),
    head('a GET with a body', `GET /boot.ipxe HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc`, 200, chain),
    line('HTTP/1.0', 'GET /boot.ipxe HTTP/1.0', 200, chain),
    line('HTTP/2.0 in an HTTP/1 request line', 'GET /boot.ipxe HTTP/2.0', 505, 'http version not supported\n'),
    line('HTTP/3.0', 'GET /boot.ipxe HTTP/3.0', 505, 'http version not supported\n'),
    line('HTTP/1.2', 'GET /boot.ipxe HTTP/1.2', 400, BAD_REQUEST),
    line('HTTP/1.10', 'GET /boot.ipxe HTTP/1.10', 400, BAD_REQUEST),
    line('HTTP/0.9 spelled out', 'GET /boot.ipxe HTTP/0.9', 400, BAD_REQUEST),
    line('a lower-case protocol name', 'GET /boot.ipxe http/1.1', 400, BAD_REQUEST),
    line('two spaces before the target', 'GET  /boot.ipxe HTTP/1.1', 200, chain),
    // nginx waits up to 5 s (lingering close) for the body these never send: three cases only.
    head('a Content-Length over 1 MiB', raw('GET /boot.ipxe HTTP/1.1', 'Host: x', 'Content-Length: 1048577'), 413, 'request body too large\n'),
    { name: 'a Content-Length over 1 MiB on a bad query (checked after the size)', tree: 'full', target: '/ipxe?mac=zz', raw: raw('GET /ipxe?mac=zz HTTP/1.1', 'Host: x', 'Content-Length: 2000000'), status: 413, body: 'request body too large\n', type: TEXT },
    { name: 'a Content-Length over 1 MiB on a bad Pixiecore MAC (checked before the size)', tree: 'full', target: '/pixiecore/v1/boot/zz', raw: raw('GET /pixiecore/v1/boot/zz HTTP/1.1', 'Host: x', 'Content-Length: 2000000'), status: 400, body: BAD_MAC, type: TEXT },
    // Where the parsers differ and neither can be changed safely (docs/http.md).
    head('LF-only line endings', 'GET /boot.ipxe HTTP/1.1\nHost: x\nConnection: close\n\n', 400, BAD_REQUEST, { status: 200, body: chain }),
    head('a header line without a colon', raw('GET /boot.ipxe HTTP/1.1', 'Host: x', 'NoColon'), 400, BAD_REQUEST, { status: 200, body: chain }),
    head('an HTTP/0.9 request', 'GET /boot.ipxe\r\n\r\n', 200, chain, { status: 0, body: chain, type: undefined }),
  ];
}
