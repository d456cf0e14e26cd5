// A groups-and-labels fleet for the static publishing tests (publish, the chain's order against
// bootcfg serve's, rclone under load), and the machines that boot from it. Every answer names
// its generation, so a test that republishes can tell revisions apart in anything it fetches.

import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Fetch, Settings } from './ipxe-sim.js';

/** Where the profiles say bootcfg is, as a data repo for `bootcfg serve` would. */
export const ORIGIN = 'http://bootcfg.example:8080';
export const CP_MACS = ['52:54:00:89:d8:10', '52:54:00:89:d8:11'];
export const PINNED_UUID = '1cff2cd8-f00a-42c8-9426-f55e6a1847f6';
const OWN = 'mac=${net0/mac:hexhyp}&arch=${buildarch}';

function profile(id: string, arch: string, urls: Record<string, string>, extra: object, gen: number): string {
  return `${JSON.stringify({
    id,
    boot: {
      kernel: `/images/${arch}/vmlinuz`,
      initrd: [`/images/${arch}/initrd`],
      cmdline: { ...urls, console: 'ttyS0' },
      args: [`bootcfg.gen=${gen}`, `bootcfg.profile=${id}`],
    },
    ...extra,
  }, null, 1)}\n`;
}

const group = (id: string, profileId: string, selector: object, metadata: object = {}) => `${JSON.stringify({ id, profile: profileId, selector, metadata })}\n`;

/** The data directory of generation `gen`. */
export function fleetData(gen = 1): Record<string, string> {
  return {
    'profiles/install.json': profile('install', 'amd64', { 'cloud-config-url': `${ORIGIN}/cloud?${OWN}` }, { cloud_id: 'install.yaml' }, gen),
    'profiles/install-arm64.json': profile('install-arm64', 'arm64', { 'cloud-config-url': `${ORIGIN}/cloud?${OWN}` }, { cloud_id: 'install.yaml' }, gen),
    'profiles/worker.json': profile('worker', 'amd64', { 'cloud-config-url': `${ORIGIN}/cloud?${OWN}&os=installed` }, { cloud_id: 'worker.yaml' }, gen),
    'profiles/control.json': profile('control', 'amd64', {
      'cloud-config-url': `${ORIGIN}/cloud?${OWN}`,
      'bootcfg.env': `${ORIGIN}/generic?${OWN}`,
      'bootcfg.metadata': `${ORIGIN}/metadata?${OWN}&format=json`,
    }, { cloud_id: 'control.yaml', generic_id: 'etcd.env' }, gen),
    'profiles/pinned.json': profile('pinned', 'amd64', { 'cloud-config-url': `${ORIGIN}/cloud?uuid=\${uuid}&os=installed&arch=\${buildarch}` }, { cloud_id: 'pinned.yaml' }, gen),
    'cloud/install.yaml': `#cloud-config\nhostname: installer-{{bootcfg.group.id}}-gen${gen}\n`,
    'cloud/worker.yaml': `#cloud-config\nhostname: worker-{{bootcfg.group.id}}-gen${gen}\n`,
    'cloud/control.yaml': `#cloud-config\nhostname: {{hostname}}-{{arch}}-gen${gen}\n`,
    'cloud/pinned.yaml': `#cloud-config\nhostname: pinned-gen${gen}\n`,
    'generic/etcd.env': `ETCD_NAME={{hostname}}\nGEN=${gen}\n`,
    'groups/install.json': group('install', 'install', {}),
    'groups/install-arm64.json': group('install-arm64', 'install-arm64', { arch: 'arm64' }),
    'groups/workers.json': group('workers', 'worker', { os: 'installed' }),
    'groups/workers-arm64.json': group('workers-arm64', 'worker', { arch: 'arm64', os: 'installed' }),
    'groups/cp1.json': group('cp1', 'control', { mac: CP_MACS[0], arch: ['x86_64', 'i386'] }, { hostname: 'cp1' }),
    'groups/cp2.json': group('cp2', 'control', { mac: CP_MACS[1], arch: ['x86_64', 'i386'] }, { hostname: 'cp2' }),
    'groups/pinned.json': group('pinned', 'pinned', { uuid: PINNED_UUID, arch: 'x86_64', os: 'installed' }),
  };
}

export interface FleetMachine {
  name: string;
  settings: Settings;
  /** Labels, which bootcfg serve takes from /boot.ipxe's query and the static chain from iPXE settings. */
  labels: Record<string, string>;
}

/** Every combination of a known and unknown uuid, MAC (`macs` and one unknown), architecture and os label. */
export function fleetMachines(macs: readonly string[] = CP_MACS): FleetMachine[] {
  const machines: FleetMachine[] = [];
  for (const uuid of [PINNED_UUID, '0b6f4f5e-1111-4222-8333-944455556666', ''])
    for (const mac of [...macs, '52:54:00:12:34:56'])
      for (const arch of ['x86_64', 'i386', 'arm64'])
        for (const os of ['', 'installed', 'other']) {
          const labels: Record<string, string> = os ? { os } : {};
          machines.push({ name: `uuid=${uuid || '-'} mac=${mac} arch=${arch} os=${os || '-'}`, settings: { uuid, 'net0/mac': mac, buildarch: arch, ...labels }, labels });
        }
  return machines;
}

/** A plain static host over a directory, as a fetch: 200 with the file, 404 for anything else. */
export function staticHost(base: string, root: string): (url: string) => Promise<{ status: number; body: string } | undefined> {
  return async (url) => {
    if (!url.startsWith(`${base}/`)) return undefined;
    const path = decodeURIComponent(new URL(url).pathname).slice(new URL(base).pathname.replace(/\/$/, '').length + 1);
    if (path.split('/').some((segment) => segment === '..' || segment === '')) return { status: 404, body: '' };
    const file = join(root, path);
    if (!(await lstat(file).catch(() => undefined))?.isFile()) return { status: 404, body: '' };
    return { status: 200, body: await readFile(file, 'utf8') };
  };
}

/** Tries each host in turn; an URL none of them takes is a test bug. */
export function routeFetch(...hosts: Array<(url: string) => Promise<{ status: number; body: string } | undefined>>): Fetch {
  return async (url) => {
    for (const host of hosts) {
      const answer = await host(url);
      if (answer) return answer;
    }
    throw new Error(`no test host for ${url}`);
  };
}
