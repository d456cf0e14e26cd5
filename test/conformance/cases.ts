// The one list of HTTP cases both servers must answer identically (docs/http.md, row by row).
// Each case names the tree it runs against, the exact request bytes, and the expected status,
// body and headers; the suite runs every case against `bootcfg serve` and against nginx with
// the generated block, and compares each to the expectation and to the other server.

import { BAD_MAC, BAD_REQUEST, BAD_UUID, JSON_TYPE, NOT_FOUND, OCTETS, TEXT } from './bodies.js';
import type { Tree } from './fixture.js';
import { GROUPS, groupCases } from './groups.js';
import { BIG_IMAGE, oddCases } from './odd-cases.js';

export const UUID = '4c4c4544-0044-4b10-8058-b7c04f4b4e31';
export const UUID_UPPER = UUID.toUpperCase();
export const UUID_UNKNOWN = '11111111-2222-3333-4444-555555555555';
export const MAC = '52-54-00-ab-cd-ef';
export const MAC_UNKNOWN = '52-54-00-00-00-02';

/** Every answer file, distinct, so a body says which candidate was chosen. */
export const FULL: Tree = new Map<string, string>([
  ['boot.ipxe', '#!ipxe\nchain ipxe?uuid=${uuid}&mac=${net0/mac:hexhyp}\n'],
  [`ipxe/uuid/${UUID}`, '#!ipxe\necho by uuid\n'],
  [`ipxe/mac/${MAC}`, '#!ipxe\necho by mac\n'],
  ['ipxe/default', '#!ipxe\necho default\n'],
  [`pixiecore/mac/${MAC}`, '{"kernel":"/images/by-mac"}\n'],
  ['pixiecore/default', '{"kernel":"/images/default"}\n'],
  [`cloud/uuid/${UUID}`, '#cloud-config\n# by uuid\n'],
  [`cloud/mac/${MAC}`, '#cloud-config\n# by mac\n'],
  ['cloud/default', '#cloud-config\n# default\n'],
]);

/** No defaults and no chainload script: the 404 rows. */
export const BARE: Tree = new Map<string, string>([
  [`ipxe/mac/${MAC}`, '#!ipxe\necho by mac\n'],
  [`pixiecore/mac/${MAC}`, '{"kernel":"/images/by-mac"}\n'],
  [`cloud/uuid/${UUID}`, '#cloud-config\n# by uuid\n'],
]);

export const IMAGES: Tree = new Map<string, string | Buffer>([
  ['vmlinuz', Buffer.from([0x4d, 0x5a, 0x00, 0xff, 0x0a, 0x0d])],
  ['coreos/initrd.img', 'initrd bytes\n'],
  ['.hidden', 'secret\n'],
  ['empty-dir/', ''],
  ['café', 'a UTF-8 file name\n'],
  ['big.img', BIG_IMAGE],
]);

/** full and bare have no shapes.json (built before groups: the legacy shapes); groups has one. */
export const TREES = { full: FULL, bare: BARE, groups: GROUPS } as const;

export interface Case {
  name: string;
  tree: keyof typeof TREES;
  method?: string;
  target: string;
  status: number;
  body: string | Buffer;
  /** Expected Content-Type; undefined: not compared (images: whatever the server's mime table says). */
  type?: string;
  /** Extra headers that must be present with exactly this value. */
  headers?: Record<string, string>;
  /** Request headers to send besides Host and Connection. */
  request?: Record<string, string>;
  /** The whole request, byte for byte (latin1), instead of method, target and request headers. */
  raw?: string;
  /**
   * A documented difference (docs/http.md, "Where the two servers differ"): what nginx answers
   * instead. Each server is held to its own expectation; the two are not compared.
   */
  nginx?: Partial<Pick<Case, 'status' | 'body' | 'type' | 'headers'>>;
}

const file = (tree: Tree, path: string): string | Buffer => tree.get(path)!;

/** Every MAC spelling the contract accepts, for the MAC in FULL. */
export const MAC_SPELLINGS = [
  '52:54:00:ab:cd:ef',
  '52:54:00:AB:CD:EF',
  '52:54:00:Ab:cD:eF',
  '52-54-00-ab-cd-ef',
  '52-54-00-AB-CD-EF',
  '525400abcdef',
  '525400ABCDEF',
  '5254.00ab.cdef',
  '5254.00AB.CDEF',
];
/** Query-only spellings: iPXE percent-encodes the colons of ${net0/mac}. */
export const QUERY_ONLY_MAC_SPELLINGS = ['52%3A54%3A00%3AAB%3ACD%3AEF', '52%3a54%3a00%3aab%3acd%3aef', '52%3A54:00%3aab:cd%3Aef'];

/** Values that must never select anything: 400 in a query, whatever the parameter. */
const HOSTILE = [
  '..%2f..%2fetc%2fpasswd',
  '../../etc/passwd',
  '..',
  '%2e%2e',
  '%252e%252e%252f',
  '52-54-00-ab-cd-ef%00',
  '%00',
  '52-54-00-ab-cd-ef%2f..',
  '52-54-00-ab-cd-ef/../default',
  'default',
  `${'a'.repeat(3000)}`,
  '52+54+00+ab+cd+ef',
  '%35%32-54-00-ab-cd-ef',
];

const BAD_MACS = ['52:54:00:ab:cd', '52:54:00:ab:cd:ef:01', '52:54-00:ab-cd:ef', '52.54.00.ab.cd.ef', '5254.00ab.cdef.', 'g2:54:00:ab:cd:ef', '52:54:00:ab:cd:e', ' 52:54:00:ab:cd:ef', '52::54:00:ab:cd:ef'];
const BAD_UUIDS = [UUID.replace(/-/g, ''), `{${UUID}}`, `${UUID}0`, UUID.replace('4c', 'xx'), UUID.slice(1), `urn:uuid:${UUID}`];

function routeCases(): Case[] {
  const t = FULL;
  const text = (name: string, target: string, path: string): Case => ({ name, tree: 'full', target, status: 200, body: file(t, path), type: TEXT });
  return [
    text('chainload script', '/boot.ipxe', 'boot.ipxe'),
    text('chainload script, .0 alias', '/boot.ipxe.0', 'boot.ipxe'),
    text('chainload script ignores the query', '/boot.ipxe?mac=whatever&uuid=../x', 'boot.ipxe'),
    text('ipxe: uuid beats mac', `/ipxe?uuid=${UUID}&mac=${MAC}`, `ipxe/uuid/${UUID}`),
    text('ipxe: uuid in upper case', `/ipxe?uuid=${UUID_UPPER}`, `ipxe/uuid/${UUID}`),
    text('ipxe: unknown uuid falls to mac', `/ipxe?uuid=${UUID_UNKNOWN}&mac=${MAC}`, `ipxe/mac/${MAC}`),
    text('ipxe: unknown uuid and mac fall to default', `/ipxe?uuid=${UUID_UNKNOWN}&mac=${MAC_UNKNOWN}`, 'ipxe/default'),
    text('ipxe: no parameters get the default', '/ipxe', 'ipxe/default'),
    text('ipxe: empty parameters are absent', '/ipxe?uuid=&mac=', 'ipxe/default'),
    text('ipxe: empty uuid, known mac (iPXE without SMBIOS uuid)', `/ipxe?uuid=&mac=${MAC}`, `ipxe/mac/${MAC}`),
    text('ipxe: parameter names match in any case', `/ipxe?UUID=${UUID}`, `ipxe/uuid/${UUID}`),
    text('ipxe: first occurrence wins', `/ipxe?uuid=${UUID}&uuid=nonsense`, `ipxe/uuid/${UUID}`),
    text('ipxe: first occurrence wins even when empty', `/ipxe?uuid=&uuid=${UUID}`, 'ipxe/default'),
    text('ipxe: other parameters are ignored', `/ipxe?hostname=node1&serial=X%20Y&domain=..%2f&arch=x86_64&mac=${MAC}`, `ipxe/mac/${MAC}`),
    text('ipxe: a name must match whole', `/ipxe?xuuid=${UUID}&macx=${MAC}`, 'ipxe/default'),
    text('ipxe: a name without "=" is absent', `/ipxe?uuid&mac=${MAC}`, `ipxe/mac/${MAC}`),
    text('cloud: uuid', `/cloud?uuid=${UUID}&mac=${MAC}`, `cloud/uuid/${UUID}`),
    text('cloud: mac', `/cloud?mac=${MAC}`, `cloud/mac/${MAC}`),
    text('cloud: default', `/cloud?mac=${MAC_UNKNOWN}`, 'cloud/default'),
    text('cloud: no parameters', '/cloud', 'cloud/default'),
    { name: 'pixiecore: known mac', tree: 'full', target: `/pixiecore/v1/boot/${MAC}`, status: 200, body: file(t, `pixiecore/mac/${MAC}`), type: JSON_TYPE },
    { name: 'pixiecore: unknown mac gets the default', tree: 'full', target: `/pixiecore/v1/boot/${MAC_UNKNOWN}`, status: 200, body: file(t, 'pixiecore/default'), type: JSON_TYPE },
    { name: 'pixiecore: query is ignored', tree: 'full', target: `/pixiecore/v1/boot/${MAC}?uuid=bad&mac=bad`, status: 200, body: file(t, `pixiecore/mac/${MAC}`), type: JSON_TYPE },
    { name: 'revision', tree: 'full', target: '/-/revision', status: 200, body: 'full\n', type: TEXT },
    { name: 'HEAD chainload script', tree: 'full', method: 'HEAD', target: '/boot.ipxe', status: 200, body: '', type: TEXT },
    { name: 'HEAD ipxe', tree: 'full', method: 'HEAD', target: `/ipxe?mac=${MAC}`, status: 200, body: '', type: TEXT },
    { name: 'HEAD pixiecore', tree: 'full', method: 'HEAD', target: `/pixiecore/v1/boot/${MAC}`, status: 200, body: '', type: JSON_TYPE },
    { name: 'HEAD of an invalid uuid', tree: 'full', method: 'HEAD', target: '/ipxe?uuid=zz', status: 400, body: '', type: TEXT },
    { name: 'HEAD of a missing route', tree: 'full', method: 'HEAD', target: '/nope', status: 404, body: '', type: TEXT },
  ];
}

function spellingCases(): Case[] {
  const out: Case[] = [];
  for (const mac of [...MAC_SPELLINGS, ...QUERY_ONLY_MAC_SPELLINGS]) {
    out.push({ name: `ipxe: mac spelled ${mac}`, tree: 'full', target: `/ipxe?mac=${mac}`, status: 200, body: file(FULL, `ipxe/mac/${MAC}`), type: TEXT });
    out.push({ name: `cloud: mac spelled ${mac}`, tree: 'full', target: `/cloud?mac=${mac}`, status: 200, body: file(FULL, `cloud/mac/${MAC}`), type: TEXT });
  }
  for (const mac of MAC_SPELLINGS) {
    out.push({ name: `pixiecore: mac spelled ${mac}`, tree: 'full', target: `/pixiecore/v1/boot/${mac}`, status: 200, body: file(FULL, `pixiecore/mac/${MAC}`), type: JSON_TYPE });
  }
  // The path is percent-decoded once, so an encoded colon is a colon there too.
  out.push({ name: 'pixiecore: percent-encoded colons', tree: 'full', target: '/pixiecore/v1/boot/52%3A54%3A00%3Aab%3Acd%3Aef', status: 200, body: file(FULL, `pixiecore/mac/${MAC}`), type: JSON_TYPE });
  return out;
}

function invalidCases(): Case[] {
  const out: Case[] = [];
  const bad = (name: string, target: string, body: string): Case => ({ name, tree: 'full', target, status: 400, body, type: TEXT });
  for (const route of ['ipxe', 'cloud']) {
    for (const value of HOSTILE) {
      out.push(bad(`${route}: hostile uuid ${value.slice(0, 40)}`, `/${route}?uuid=${value}`, BAD_UUID));
      out.push(bad(`${route}: hostile mac ${value.slice(0, 40)}`, `/${route}?mac=${value}`, BAD_MAC));
    }
  }
  for (const value of BAD_MACS) out.push(bad(`ipxe: bad mac ${JSON.stringify(value)}`, `/ipxe?mac=${encodeSpace(value)}`, BAD_MAC));
  for (const value of BAD_UUIDS) out.push(bad(`ipxe: bad uuid ${value}`, `/ipxe?uuid=${value}`, BAD_UUID));
  out.push(bad('uuid is checked before mac', '/ipxe?mac=bad&uuid=bad', BAD_UUID));
  out.push(bad('mac is checked even when the uuid matches', `/ipxe?uuid=${UUID}&mac=bad`, BAD_MAC));
  out.push(bad('an invalid first occurrence is not rescued by a later one', `/ipxe?uuid=bad&uuid=${UUID}`, BAD_UUID));
  const pixie = ['zz', '52:54:00:ab:cd', `${MAC}/extra`, '52%253A54%253A00%253Aab%253Acd%253Aef', 'default', '%252e%252e', ''];
  for (const value of pixie) out.push(bad(`pixiecore: bad mac ${JSON.stringify(value)}`, `/pixiecore/v1/boot/${value}`, BAD_MAC));
  return out;
}

/** iPXE never sends a raw space; a test that needs one sends it encoded. */
function encodeSpace(value: string): string {
  return value.replace(/ /g, '%20');
}

function pathCases(): Case[] {
  const notFound = (name: string, target: string): Case => ({ name, tree: 'full', target, status: 404, body: NOT_FOUND, type: TEXT });
  const refused = (name: string, target: string): Case => ({ name, tree: 'full', target, status: 400, body: BAD_REQUEST, type: TEXT });
  const chain = (name: string, target: string): Case => ({ name, tree: 'full', target, status: 200, body: file(FULL, 'boot.ipxe'), type: TEXT });
  const image = (name: string, target: string, path: string): Case => ({ name, tree: 'full', target, status: 200, body: file(IMAGES, path), type: OCTETS });
  return [
    notFound('root', '/'),
    notFound('unknown route', '/nope'),
    notFound('route names match in one case only', '/BOOT.IPXE'),
    notFound('trailing slash is another path', '/boot.ipxe/'),
    notFound('ipxe with a trailing slash', '/ipxe/'),
    notFound('dist files are not routes: ipxe/default', '/ipxe/default'),
    notFound('dist files are not routes: by uuid', `/ipxe/uuid/${UUID}`),
    notFound('dist files are not routes: REVISION', '/REVISION'),
    notFound('dist files are not routes: manifest.json', '/manifest.json'),
    notFound('dist files are not routes: current', '/current/boot.ipxe'),
    notFound('dist files are not routes: revs', '/revs/full/boot.ipxe'),
    notFound('pixiecore without a mac segment', '/pixiecore/v1/boot'),
    notFound('pixiecore API root', '/pixiecore/v1/'),
    notFound('images without a slash', '/images'),
    notFound('images directory itself', '/images/'),
    notFound('an images subdirectory', '/images/coreos'),
    notFound('an images subdirectory with a slash', '/images/coreos/'),
    notFound('an empty images subdirectory', '/images/empty-dir'),
    notFound('images dot-file', '/images/.hidden'),
    notFound('images dot-file, encoded dot', '/images/%2ehidden'),
    notFound('missing image', '/images/nope'),
    notFound('internal locations are not routes', '/.bootcfg/400'),
    notFound('encoded "?" is part of the path', '/boot.ipxe%3F'),
    // Traversal: the path is decoded once and "." / ".." resolved before routing, as nginx does;
    // a path that climbs above the root is refused; what stays inside is just another path.
    chain('repeated slashes are merged', '//boot.ipxe'),
    chain('encoded dot in a route name', '/boot%2eipxe'),
    chain('dot-dot back to a route', '/x/../boot.ipxe'),
    chain('dot-dot out of images lands on a route, not a file', '/images/../boot.ipxe'),
    chain('encoded dot-dot out of images', '/images/%2E%2E/boot.ipxe'),
    chain('encoded dot-dot and slash out of images', '/images/%2e%2e%2fboot.ipxe'),
    image('dot segment', '/images/./vmlinuz', 'vmlinuz'),
    image('dot-dot inside images', '/images/coreos/../vmlinuz', 'vmlinuz'),
    image('repeated slashes inside images', '/images//coreos///initrd.img', 'coreos/initrd.img'),
    notFound('dot-dot out of images onto a dist file', '/images/../ipxe/default'),
    notFound('dot-dot out of images onto REVISION', '/images/../REVISION'),
    notFound('dot-dot at the end', '/images/coreos/..'),
    notFound('dot-dot inside the pixiecore path', '/pixiecore/v1/boot/../../boot.ipxe'),
    notFound('encoded dot-dot inside the pixiecore path', '/pixiecore/v1/boot/..%2f..%2fdefault'),
    notFound('encoded dot-dot as the pixiecore mac', '/pixiecore/v1/boot/%2e%2e'),
    notFound('double-encoded dots are a file name, not a segment', '/images/%252e%252e/%252e%252e/etc/passwd'),
    { name: 'dot-dot back into ipxe keeps the query', tree: 'full', target: `/x/../ipxe?mac=${MAC}`, status: 200, body: file(FULL, `ipxe/mac/${MAC}`), type: TEXT },
    refused('dot-dot above the root', '/../etc/passwd'),
    refused('dot-dot above the root from images', '/images/../../etc/passwd'),
    refused('dot-dot above the root, deep', '/images/coreos/../../../../../../etc/passwd'),
    refused('encoded dot-dot above the root', '/images/%2e%2e/%2e%2e/etc/passwd'),
    refused('dot-dot and encoded slashes above the root', '/images/..%2f..%2fetc/passwd'),
    refused('dot-dot and encoded slashes above the root, upper case', '/images/..%2F..%2Fetc%2Fpasswd'),
    refused('all encoded, above the root', '/images/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd'),
    refused('above the root towards dist', '/images/../../dist/current/ipxe/default'),
    refused('encoded NUL in the path', '/images/vmlinuz%00.txt'),
    refused('encoded NUL in a route', '/boot.ipxe%00'),
    refused('malformed percent-encoding', '/images/%zz'),
    refused('truncated percent-encoding', '/images/vmlinuz%4'),
  ];
}

function imageCases(): Case[] {
  return [
    { name: 'image', tree: 'full', target: '/images/vmlinuz', status: 200, body: file(IMAGES, 'vmlinuz'), type: OCTETS },
    { name: 'image in a subdirectory', tree: 'full', target: '/images/coreos/initrd.img', status: 200, body: file(IMAGES, 'coreos/initrd.img'), type: OCTETS },
    { name: 'image, query ignored', tree: 'full', target: '/images/vmlinuz?mac=zz', status: 200, body: file(IMAGES, 'vmlinuz'), type: OCTETS },
    { name: 'image, percent-encoded name', tree: 'full', target: '/images/coreos/initrd%2Eimg', status: 200, body: file(IMAGES, 'coreos/initrd.img'), type: OCTETS },
    { name: 'image, encoded slash', tree: 'full', target: '/images/coreos%2Finitrd.img', status: 200, body: file(IMAGES, 'coreos/initrd.img'), type: OCTETS },
    { name: 'HEAD image', tree: 'full', method: 'HEAD', target: '/images/vmlinuz', status: 200, body: '', type: OCTETS },
  ];
}

function methodCases(): Case[] {
  const headers = { allow: 'GET, HEAD' };
  const refuse = (method: string, target: string): Case => ({ name: `${method} ${target}`, tree: 'full', method, target, status: 405, body: 'method not allowed\n', type: TEXT, headers });
  return [refuse('POST', '/ipxe'), refuse('PUT', '/boot.ipxe'), refuse('DELETE', `/pixiecore/v1/boot/${MAC}`), refuse('OPTIONS', '/cloud'), refuse('POST', '/images/vmlinuz'), refuse('PATCH', '/nope'), refuse('TRACE', '/boot.ipxe')];
}

/** Requests that nginx's or Node's HTTP parser sees before any route does. */
function requestLineCases(): Case[] {
  const refused = (name: string, target: string, method = 'GET'): Case => ({ name, tree: 'full', method, target, status: 400, body: BAD_REQUEST, type: TEXT });
  const cases: Case[] = [
    refused('raw NUL in the path', '/images/vmlinuz\u0000'),
    refused('raw NUL in the query', '/ipxe?uuid=\u0000'),
    refused('raw control character in the query', `/ipxe?mac=52:54:00:ab:cd:ef\u0001`),
    refused('raw space in the path', '/images/a b'),
    refused('lower-case method', '/boot.ipxe', 'get'),
    { name: 'unknown method token', tree: 'full', method: 'FOO', target: '/boot.ipxe', status: 405, body: 'method not allowed\n', type: TEXT, headers: { allow: 'GET, HEAD' } },
    refused('fragment in the path', '/boot.ipxe#x'),
    refused('fragment in an image path', '/images/vmlinuz#x'),
    refused('fragment after the query', `/ipxe?mac=${MAC}#x`),
    { name: 'absolute-form target', tree: 'full', target: 'http://localhost/boot.ipxe', status: 200, body: file(FULL, 'boot.ipxe'), type: TEXT },
    { name: 'absolute-form target with a query', tree: 'full', target: `http://localhost/ipxe?mac=${MAC}`, status: 200, body: file(FULL, `ipxe/mac/${MAC}`), type: TEXT },
    refused('absolute-form target above the root', 'http://localhost/../boot.ipxe'),
    refused('asterisk-form target', '*'),
    { name: 'over-long path under the limit', tree: 'full', target: `/images/${'a'.repeat(4000)}`, status: 404, body: NOT_FOUND, type: TEXT },
    { name: 'over-long pixiecore mac under the limit', tree: 'full', target: `/pixiecore/v1/boot/${'52:'.repeat(1300)}`, status: 400, body: BAD_MAC, type: TEXT },
    { name: 'request-target over 8 KiB', tree: 'full', target: `/ipxe?mac=${'a'.repeat(12_000)}`, status: 414, body: 'request too long\n', type: TEXT },
  ];
  return cases;
}

function bareCases(): Case[] {
  const none = (name: string, target: string, body: string): Case => ({ name, tree: 'bare', target, status: 404, body, type: TEXT });
  return [
    none('no chainload script', '/boot.ipxe', NOT_FOUND),
    none('no chainload script, .0 alias', '/boot.ipxe.0', NOT_FOUND),
    none('ipxe: no match, no default', `/ipxe?uuid=${UUID}&mac=${MAC_UNKNOWN}`, 'no iPXE config for this machine and no default\n'),
    none('ipxe: no parameters, no default', '/ipxe', 'no iPXE config for this machine and no default\n'),
    none('cloud: no match, no default', `/cloud?mac=${MAC}`, 'no cloud config for this machine and no default\n'),
    none('pixiecore: no match, no default', `/pixiecore/v1/boot/${MAC_UNKNOWN}`, 'no Pixiecore config for this MAC and no default\n'),
    none('ignition: no match, no default', `/ignition?mac=${MAC}`, 'no Ignition config for this machine and no default\n'),
    { name: 'bare: ipxe by mac still answers', tree: 'bare', target: `/ipxe?uuid=${UUID}&mac=${MAC}`, status: 200, body: file(BARE, `ipxe/mac/${MAC}`), type: TEXT },
    { name: 'bare: cloud by uuid still answers', tree: 'bare', target: `/cloud?uuid=${UUID}`, status: 200, body: file(BARE, `cloud/uuid/${UUID}`), type: TEXT },
    { name: 'bare: pixiecore by mac, upper case', tree: 'bare', target: '/pixiecore/v1/boot/52:54:00:AB:CD:EF', status: 200, body: file(BARE, `pixiecore/mac/${MAC}`), type: JSON_TYPE },
    { name: 'bare: revision', tree: 'bare', target: '/-/revision', status: 200, body: 'bare\n', type: TEXT },
  ];
}

export const CASES: readonly Case[] = [...routeCases(), ...spellingCases(), ...invalidCases(), ...pathCases(), ...imageCases(), ...methodCases(), ...requestLineCases(), ...oddCases(FULL, IMAGES), ...bareCases(), ...groupCases()];
