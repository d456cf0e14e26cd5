// A synthetic fleet for the benchmarks: N machines, each with its own boot config and cloud
// config, half keyed by UUID and half by MAC (so both selector shapes and Pixiecore answers are
// exercised), plus a default of each. Identifiers are derived from the machine's index, so the
// load generator can name hits and misses without reading the tree back.

import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mapLimit } from '../src/build/pool.js';

export interface Machine {
  index: number;
  uuid: string;
  /** Canonical (hyphenated, lowercase) MAC, as iPXE's `${net0/mac:hexhyp}` sends it. */
  mac: string;
  /** Which key its data files are named by. */
  keyedBy: 'uuid' | 'mac';
}

export function machine(index: number): Machine {
  const hex = index.toString(16).padStart(12, '0');
  const low = index.toString(16).padStart(6, '0');
  return {
    index,
    uuid: `0b00c0f6-0000-4000-8000-${hex}`,
    mac: `52-54-00-${low.slice(0, 2)}-${low.slice(2, 4)}-${low.slice(4, 6)}`,
    keyedBy: index % 2 === 0 ? 'uuid' : 'mac',
  };
}

/** A machine no data file names: its requests fall back to the default. */
export function stranger(index: number): Machine {
  const m = machine(index);
  return { ...m, uuid: m.uuid.replace(/^0b00/, 'dead'), mac: m.mac.replace(/^52-54-00/, '02-00-00') };
}

/** The data-relative path of a machine's boot or cloud config. */
export function dataFile(kind: 'boot' | 'cloud', m: Machine): string {
  return m.keyedBy === 'uuid' ? `${kind}/uuid/${m.uuid}` : `${kind}/mac/${m.mac.replaceAll('-', ':')}`;
}

export function bootConfig(m: Machine, tag = 'v1'): string {
  return `${JSON.stringify({
    kernel: '/images/fedora-coreos/41/vmlinuz',
    initrd: ['/images/fedora-coreos/41/initramfs.img', '/images/fedora-coreos/41/rootfs.img'],
    cmdline: {
      console: 'ttyS0,115200n8',
      'coreos.inst.install_dev': '/dev/sda',
      'ignition.config.url': `http://bootcfg.example/cloud?uuid=${m.uuid}&mac=${m.mac}`,
      hostname: `node-${m.index}`,
      'bench.tag': tag,
    },
  }, null, 2)}\n`;
}

export function cloudConfig(m: Machine, tag = 'v1'): string {
  return `#cloud-config
hostname: node-${m.index}
fqdn: node-${m.index}.rack${Math.floor(m.index / 40)}.example
# bench tag ${tag}
ssh_authorized_keys:
  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG3h0mKxJ7qZ8yVh2Cq0b2n3x4y5z6A7B8C9D0E1F2G3 ops@example
write_files:
  - path: /etc/machine-index
    content: "${m.index}\\n"
runcmd:
  - [systemctl, enable, --now, node-exporter.service]
`;
}

export function defaultBoot(tag = 'v1'): string {
  return `${JSON.stringify({
    kernel: '/images/fedora-coreos/41/vmlinuz',
    initrd: ['/images/fedora-coreos/41/initramfs.img'],
    cmdline: { console: 'ttyS0,115200n8', 'coreos.live.rootfs_url': '/images/fedora-coreos/41/rootfs.img', 'bench.tag': tag },
  }, null, 2)}\n`;
}

/** Writes a fresh data directory for `count` machines. */
export async function writeFleet(dataPath: string, count: number): Promise<void> {
  await rm(dataPath, { recursive: true, force: true });
  for (const dir of ['boot/uuid', 'boot/mac', 'cloud/uuid', 'cloud/mac']) await mkdir(join(dataPath, dir), { recursive: true });
  await writeFile(join(dataPath, 'boot/default'), defaultBoot());
  await writeFile(join(dataPath, 'cloud/default'), '#cloud-config\nhostname: unprovisioned\n');
  const indexes = Array.from({ length: count }, (_, i) => i);
  await mapLimit(indexes, 64, async (i) => {
    const m = machine(i);
    await writeFile(join(dataPath, dataFile('boot', m)), bootConfig(m));
    await writeFile(join(dataPath, dataFile('cloud', m)), cloudConfig(m));
  });
}

/**
 * The same machines described as profiles and groups (docs/groups.md), as matchbox keeps a
 * fleet: one group per machine (selector uuid or mac, its hostname and rack as metadata) naming
 * one of four role profiles, a cloud-config template over the metadata, and a default group.
 * Every machine gets an iPXE script, a grub.cfg, a cloud config and /metadata in both forms;
 * MAC-selected ones a Pixiecore answer too.
 */
export const ROLES = ['compute', 'storage', 'gpu', 'edge'] as const;

export function roleOf(m: Machine): string {
  return ROLES[m.index % ROLES.length]!;
}

/** The data-relative path of a machine's group. */
export function groupFile(m: Machine): string {
  return `groups/node-${m.index}.json`;
}

export function groupConfig(m: Machine, tag = 'v1'): string {
  const selector = m.keyedBy === 'uuid' ? { uuid: m.uuid } : { mac: m.mac.replaceAll('-', ':') };
  const metadata = { hostname: `node-${m.index}`, rack: `rack${Math.floor(m.index / 40)}`, index: String(m.index), tag };
  return `${JSON.stringify({ id: `node-${m.index}`, profile: roleOf(m), selector, metadata }, null, 2)}\n`;
}

export function profileConfig(role: string, tag = 'v1'): string {
  return `${JSON.stringify({
    id: role,
    boot: {
      kernel: '/images/fedora-coreos/41/vmlinuz',
      initrd: ['/images/fedora-coreos/41/initramfs.img', '/images/fedora-coreos/41/rootfs.img'],
      args: ['console=ttyS0,115200n8', 'coreos.inst.install_dev=/dev/sda'],
      cmdline: { 'ignition.config.url': 'http://bootcfg.example/cloud?uuid=${uuid}&mac=${net0/mac:hexhyp}', role, 'bench.tag': tag },
    },
    cloud_id: 'node.yaml',
  }, null, 2)}\n`;
}

const GROUPS_CLOUD_TEMPLATE = `#cloud-config
hostname: {{hostname}}
fqdn: {{hostname}}.{{rack}}.example
# bench tag {{tag}}, role {{bootcfg.profile.id}}
ssh_authorized_keys:
  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG3h0mKxJ7qZ8yVh2Cq0b2n3x4y5z6A7B8C9D0E1F2G3 ops@example
write_files:
  - path: /etc/machine-index
    content: "{{index}}\\n"
runcmd:
  - [systemctl, enable, --now, node-exporter.service]
`;

/** Writes a fresh groups-layout data directory for `count` machines. */
export async function writeGroupsFleet(dataPath: string, count: number): Promise<void> {
  await rm(dataPath, { recursive: true, force: true });
  for (const dir of ['profiles', 'groups', 'cloud']) await mkdir(join(dataPath, dir), { recursive: true });
  await writeFile(join(dataPath, 'cloud/node.yaml'), GROUPS_CLOUD_TEMPLATE);
  for (const role of [...ROLES, 'default']) await writeFile(join(dataPath, `profiles/${role}.json`), profileConfig(role));
  await writeFile(join(dataPath, 'groups/default.json'), `${JSON.stringify({ id: 'default', profile: 'default', metadata: { hostname: 'unprovisioned', rack: 'none', index: '-', tag: 'v1' } }, null, 2)}\n`);
  const indexes = Array.from({ length: count }, (_, i) => i);
  await mapLimit(indexes, 64, (i) => writeFile(join(dataPath, groupFile(machine(i))), groupConfig(machine(i))));
}
