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
