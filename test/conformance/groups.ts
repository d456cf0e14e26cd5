// Conformance cases for profiles and groups (issue 9): a hand-made snapshot laid out as the
// compiler lays one out (`<kind>/<shape-dir>/<values…>`, shapes.json and its marker; see
// src/compile/shapes.ts), and the requests both servers must answer the same way: labels,
// two-key shapes, list selectors (one file per value), arch, hostname, invalid label values,
// unknown label parameters, the default, /generic, /ignition, /metadata and /boot.ipxe's pass-on.

import { shapesFiles } from '../../src/compile/shapes.js';
import { JSON_TYPE, TEXT } from './bodies.js';
import type { Case } from './cases.js';
import type { Tree } from './fixture.js';

const UUID = '4c4c4544-0044-4b10-8058-b7c04f4b4e31';
const MAC = '52-54-00-ab-cd-ef';
const OTHER_MAC = '52-54-00-00-00-09';
const HOST = 'node1.example.com';

const IGNITION_TYPE = 'application/vnd.coreos.ignition+json';
const CHAIN = '#!ipxe\nchain ipxe?uuid=${uuid}&mac=${net0/mac:hexhyp}&arch=${buildarch}${bootcfg_query}\n';

/** Each answer names its group, so a body says which candidate was chosen. */
function answers(kind: string, body: (group: string) => string): [string, string][] {
  return [
    [`${kind}/uuid/${UUID}`, body('by uuid')],
    [`${kind}/mac/${MAC}`, body('by mac')],
    [`${kind}/mac.os/${MAC}/installed`, body('mac and os=installed')],
    // A list selector, arch: [x86_64, arm64], compiles to one file per value.
    [`${kind}/arch.os/x86_64/installer`, body('installer')],
    [`${kind}/arch.os/arm64/installer`, body('installer')],
    [`${kind}/hostname.os/${HOST}/rescue`, body('rescue by hostname')],
    [`${kind}/default`, body('default')],
  ];
}

export const GROUPS: Tree = new Map<string, string>([
  ['boot.ipxe', CHAIN],
  ...answers('ipxe', (g) => `#!ipxe\necho ${g}\n`),
  ...answers('cloud', (g) => `#cloud-config\n# ${g}\n`),
  ...answers('generic', (g) => `generic ${g}\n`),
  ...answers('ignition', (g) => JSON.stringify({ ignition: { version: '3.3.0' }, storage: { files: [{ path: '/etc/group', contents: { source: `data:,${encodeURIComponent(g)}` } }] } })),
  // GRUB answers name their own path too, so the arm64 and x86_64 files of one list selector differ.
  ...answers('grub', (g) => `echo "${g}"\n`).map(([path, body]): [string, string] => [path, `${body}# ${path}\n`]),
  ...answers('metadata', (g) => `GROUP=${g.replace(/ /g, '_')}\n`),
  ...answers('metadata-json', (g) => `${JSON.stringify({ group: g })}\n`),
  [`pixiecore/mac/${MAC}`, '{"kernel":"/images/by-mac"}\n'],
  ['pixiecore/default', '{"kernel":"/images/default"}\n'],
  ...shapesFiles([['uuid'], ['mac'], ['mac', 'os'], ['arch', 'os'], ['hostname', 'os'], []]),
]);

export function groupCases(): Case[] {
  const t = GROUPS;
  const file = (path: string) => t.get(path)!;
  const answer = (name: string, target: string, path: string, type = TEXT): Case => ({ name: `groups: ${name}`, tree: 'groups', target, status: 200, body: file(path), type });
  const bad = (name: string, target: string, key: string, hint = 'expected 1 to 63 of A-Z a-z 0-9 . _ -, not starting with a dot'): Case => ({ name: `groups: ${name}`, tree: 'groups', target, status: 400, body: `invalid ${key}: ${hint}\n`, type: TEXT });
  const chain = (name: string, target: string, passOn: string): Case => ({ name: `groups: ${name}`, tree: 'groups', target, status: 200, body: CHAIN.replace('${bootcfg_query}', passOn), type: TEXT });
  const cases: Case[] = [
    answer('label and mac: two-key shape', `/ipxe?mac=${MAC}&os=installed`, `ipxe/mac.os/${MAC}/installed`),
    answer('two keys beat uuid', `/ipxe?uuid=${UUID}&mac=${MAC}&os=installed`, `ipxe/mac.os/${MAC}/installed`),
    answer('mac spelled with colons, label', '/ipxe?mac=52%3A54%3A00%3AAB%3ACD%3AEF&os=installed', `ipxe/mac.os/${MAC}/installed`),
    answer('label names match in any case', `/ipxe?MAC=${MAC}&OS=installed`, `ipxe/mac.os/${MAC}/installed`),
    answer('another label value falls to the mac', `/ipxe?mac=${MAC}&os=other`, `ipxe/mac/${MAC}`),
    answer('label values are case-sensitive', `/ipxe?mac=${MAC}&os=INSTALLED`, `ipxe/mac/${MAC}`),
    answer('uuid beats mac among one-key shapes', `/ipxe?uuid=${UUID}&mac=${MAC}&os=other`, `ipxe/uuid/${UUID}`),
    answer('arch list selector, first value', '/ipxe?arch=x86_64&os=installer', 'ipxe/arch.os/x86_64/installer'),
    answer('arch list selector, second value', '/ipxe?arch=arm64&os=installer', 'ipxe/arch.os/arm64/installer'),
    answer('arch alone is no shape', '/ipxe?arch=x86_64', 'ipxe/default'),
    answer('hostname with dots', `/ipxe?hostname=${HOST}&os=rescue`, `ipxe/hostname.os/${HOST}/rescue`),
    answer('a label alone gets the default', '/ipxe?os=installed', 'ipxe/default'),
    answer('an empty label is absent', `/ipxe?mac=${MAC}&os=`, `ipxe/mac/${MAC}`),
    answer('first occurrence of a label wins', `/ipxe?mac=${MAC}&os=installed&os=bad/`, `ipxe/mac.os/${MAC}/installed`),
    answer('unknown label parameters are ignored', `/ipxe?rack=..%2f..%2fetc&mac=${MAC}&os=installed`, `ipxe/mac.os/${MAC}/installed`),
    answer('serial is no key of this build: ignored', `/ipxe?serial=To%20Be%20Filled&mac=${MAC}`, `ipxe/mac/${MAC}`),
    answer('ip, domain and format are never selectors', `/ipxe?ip=10.0.0.5&domain=..%2f&format=%00&mac=${MAC}&os=installed`, `ipxe/mac.os/${MAC}/installed`),
    answer('a 63-character label value is valid', `/ipxe?os=${'a'.repeat(63)}`, 'ipxe/default'),
    answer('no parameters: the default', '/ipxe', 'ipxe/default'),
    answer('unknown mac and label: the default', `/ipxe?mac=${OTHER_MAC}&os=installed`, 'ipxe/default'),
    answer('cloud, two-key shape', `/cloud?mac=${MAC}&os=installed`, `cloud/mac.os/${MAC}/installed`),
    answer('cloud, default', '/cloud?os=x', 'cloud/default'),
    answer('generic, two-key shape', `/generic?mac=${MAC}&os=installed`, `generic/mac.os/${MAC}/installed`),
    answer('generic, by uuid', `/generic?uuid=${UUID.toUpperCase()}`, `generic/uuid/${UUID}`),
    answer('generic, default', '/generic', 'generic/default'),
    answer('ignition, two-key shape', `/ignition?mac=${MAC}&os=installed`, `ignition/mac.os/${MAC}/installed`, IGNITION_TYPE),
    answer('ignition, list selector', '/ignition?arch=arm64&os=installer', 'ignition/arch.os/arm64/installer', IGNITION_TYPE),
    answer('ignition, default', '/ignition?os=other', 'ignition/default', IGNITION_TYPE),
    answer('grub, two-key shape', `/grub?mac=${MAC}&os=installed`, `grub/mac.os/${MAC}/installed`),
    answer('grub, arch=x86_64 of a list selector', '/grub?arch=x86_64&os=installer', 'grub/arch.os/x86_64/installer'),
    answer('grub, arch=arm64 of a list selector', '/grub?os=installer&arch=arm64', 'grub/arch.os/arm64/installer'),
    answer('grub, mac with colons as GRUB sends $net_default_mac', '/grub?mac=52:54:00:ab:cd:ef&arch=x86_64', `grub/mac/${MAC}`),
    answer('grub, empty uuid as GRUB sends an unset variable', `/grub?uuid=&mac=${MAC}`, `grub/mac/${MAC}`),
    answer('grub, by uuid', `/grub?uuid=${UUID}`, `grub/uuid/${UUID}`),
    answer('grub, default', '/grub?arch=i386', 'grub/default'),
    { name: 'groups: grub: no answer and no default', tree: 'bare', target: '/grub?mac=52:54:00:00:00:01', status: 404, body: 'no GRUB config for this machine and no default\n', type: TEXT },
    answer('metadata as KEY=value lines', `/metadata?mac=${MAC}&os=installed`, `metadata/mac.os/${MAC}/installed`),
    answer('metadata as JSON', `/metadata?mac=${MAC}&os=installed&format=json`, `metadata-json/mac.os/${MAC}/installed`, JSON_TYPE),
    answer('metadata: format name and value in any case', '/metadata?FORMAT=JSON', 'metadata-json/default', JSON_TYPE),
    answer('metadata: empty format is text', '/metadata?format=&arch=arm64&os=installer', 'metadata/arch.os/arm64/installer'),
    answer('metadata, default', '/metadata', 'metadata/default'),
    answer('pixiecore knows only the mac', `/pixiecore/v1/boot/${MAC}`, `pixiecore/mac/${MAC}`, JSON_TYPE),
    answer('pixiecore: labels in the query are ignored', `/pixiecore/v1/boot/${OTHER_MAC}?os=installed`, 'pixiecore/default', JSON_TYPE),
    bad('label value with a slash', '/ipxe?os=../x', 'os'),
    bad('label value encoded traversal', '/ipxe?os=..%2f..%2fREVISION', 'os'),
    bad('label value "."', '/ipxe?os=.', 'os'),
    bad('label value ".."', '/ipxe?os=..', 'os'),
    bad('label value starting with a dot', '/ipxe?os=.hidden', 'os'),
    bad('label value with a percent escape', '/ipxe?os=inst%61lled', 'os'),
    bad('label value with a plus', '/ipxe?os=a+b', 'os'),
    bad('label value with a colon', '/ipxe?os=a:b', 'os'),
    bad('label value of 64 characters', `/ipxe?os=${'a'.repeat(64)}`, 'os'),
    bad('label value with NUL', '/ipxe?os=a%00', 'os'),
    bad('invalid arch', '/ipxe?arch=x86/64', 'arch'),
    bad('invalid hostname', '/ipxe?hostname=a%20b', 'hostname'),
    bad('keys are checked in canonical order: hostname, arch, then labels', '/ipxe?os=..&arch=..&hostname=..', 'hostname'),
    bad('mac before labels', '/ipxe?os=..&mac=zz', 'mac', 'expected 6 hex octets, like 52:54:00:12:34:56'),
    bad('uuid is still checked', '/ipxe?uuid=zz&os=installed', 'uuid', 'expected 8-4-4-4-12 hex digits'),
    bad('invalid label on cloud', '/cloud?os=../x', 'os'),
    bad('invalid arch on grub', '/grub?arch=../arm64', 'arch'),
    bad('invalid mac on grub', '/grub?mac=52:54:00:ab:cd', 'mac', 'expected 6 hex octets, like 52:54:00:12:34:56'),
    bad('invalid label on generic', '/generic?os=../x', 'os'),
    bad('invalid label on ignition', '/ignition?os=../x', 'os'),
    bad('invalid label on metadata', '/metadata?os=../x&format=json', 'os'),
    { name: 'groups: metadata: unknown format', tree: 'groups', target: '/metadata?format=yaml', status: 400, body: 'invalid format: expected json or nothing\n', type: TEXT },
    { name: 'groups: metadata: hostile format', tree: 'groups', target: '/metadata?format=..%2fx', status: 400, body: 'invalid format: expected json or nothing\n', type: TEXT },
    chain('chain script without labels', '/boot.ipxe', ''),
    chain('chain script passes a label on', '/boot.ipxe?os=installed', '&os=installed'),
    chain('chain script .0 passes a label on', '/boot.ipxe.0?OS=installed', '&os=installed'),
    chain('chain script passes on only labels of this build', '/boot.ipxe?rack=r1&os=installed', '&os=installed'),
    chain('chain script ignores other keys', `/boot.ipxe?mac=zz&uuid=../x&hostname=..&arch=x86_64&ip=1`, ''),
    chain('chain script: an empty label is absent', '/boot.ipxe?os=', ''),
    bad('chain script refuses a bad label value', '/boot.ipxe?os=../x', 'os'),
    { name: 'groups: HEAD chain script with a label', tree: 'groups', method: 'HEAD', target: '/boot.ipxe?os=installed', status: 200, body: '', type: TEXT },
    { name: 'groups: HEAD ignition', tree: 'groups', method: 'HEAD', target: `/ignition?uuid=${UUID}`, status: 200, body: '', type: IGNITION_TYPE },
    { name: 'groups: HEAD grub', tree: 'groups', method: 'HEAD', target: '/grub?arch=arm64&os=installer', status: 200, body: '', type: TEXT },
    { name: 'groups: HEAD metadata json', tree: 'groups', method: 'HEAD', target: '/metadata?format=json', status: 200, body: '', type: JSON_TYPE },
    { name: 'groups: internal metadata locations are not routes', tree: 'groups', target: '/.bootcfg/metadata', status: 404, body: 'not found\n', type: TEXT },
    { name: 'groups: the internal ignition location is not a route', tree: 'groups', target: '/.bootcfg/ignition', status: 404, body: 'not found\n', type: TEXT },
    { name: 'groups: shape directories are not routes', tree: 'groups', target: `/ipxe/mac.os/${MAC}/installed`, status: 404, body: 'not found\n', type: TEXT },
    { name: 'groups: shapes.json is not a route', tree: 'groups', target: '/shapes.json', status: 404, body: 'not found\n', type: TEXT },
  ];
  return cases;
}
