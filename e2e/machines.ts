// The fleet the e2e suite boots: one machine known by uuid, one known by MAC only, one unknown
// (it gets the default). fixture() writes their data directory, in the layout operators use, and
// an images directory holding the real kernel and initramfs under the names the data points at.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { guestHosts, initrdFile, kernelFile } from './config.js';

export interface Machine {
  /** Names the case and goes into the kernel arguments and the cloud config, to prove which was served. */
  name: string;
  /** What bootcfg selects on for this machine. */
  known: 'uuid' | 'mac' | 'default';
  uuid: string;
  /** Colon form, as QEMU takes it. */
  mac: string;
}

export const machines: readonly Machine[] = [
  { name: 'by-uuid', known: 'uuid', uuid: '1cff2cd8-f00a-42c8-9426-f55e6a1847f6', mac: '52:54:00:e2:e0:01' },
  { name: 'by-mac', known: 'mac', uuid: '6f0d3b52-2a7c-4f55-9a43-7d1c0e2b9c10', mac: '52:54:00:e2:e0:02' },
  { name: 'unknown', known: 'default', uuid: 'a3c1e7f4-95b2-4d08-8e6a-0b9f2d4c7e31', mac: '52:54:00:e2:e0:03' },
];

/** The initrd's file name (the built-in template names it on the kernel line for UEFI: initrd=…). */
export const initrdName = 'initramfs.gz';
export const kernelPath = '/images/vmlinuz';
export const initrdPath = `/images/${initrdName}`;

/** The canonical MAC spelling of dist/ and of iPXE's ${net0/mac:hexhyp}. */
export function hexhyp(mac: string): string {
  return mac.toLowerCase().replaceAll(':', '-');
}

/** Whose data a machine is served: its own, or the default's for an unknown one. */
export function dataName(m: Machine): string {
  return m.known === 'default' ? 'default' : m.name;
}

/** Where booted machines fetch their cloud config: QEMU's guestfwd address, or the segment's bootcfg. */
export interface FixtureOptions {
  cloudBase?: string;
  /** Without boot/default and cloud/default an unknown machine has no answer (the Pixiecore 404 case). */
  withDefault?: boolean;
  /** Marks this version of the data in the kernel arguments and cloud configs (the rollback case's A and B). */
  label?: string;
}

export function bootConfig(m: Machine, cloudBase = `http://${guestHosts.bootcfg}`, label?: string): object {
  return {
    kernel: kernelPath,
    initrd: [initrdPath],
    cmdline: {
      quiet: '',
      'e2e.machine': dataName(m),
      ...(label === undefined ? {} : { 'e2e.label': label }),
      'cloud-config-url': `${cloudBase}/cloud?uuid=\${uuid}&mac=\${net0/mac:hexhyp}`,
    },
    // matchbox-style list arguments follow cmdline's; iPXE expands ${net0/mac} here too.
    args: ['console=ttyS0', 'e2e.mac=${net0/mac}'],
  };
}

export function cloudConfig(m: Machine, label?: string): string {
  const version = label === undefined ? '' : `# e2e: data version ${label}\n`;
  return `#cloud-config\n# e2e: the cloud config of ${dataName(m)}\n${version}hostname: ${dataName(m)}\n`;
}

/** The data file name a machine is kept under; MAC spellings differ on purpose (both are accepted). */
function dataFile(kind: 'boot' | 'cloud', m: Machine): string {
  if (m.known === 'uuid') return join(kind, 'uuid', m.uuid);
  if (m.known === 'mac') return join(kind, 'mac', kind === 'boot' ? hexhyp(m.mac) : m.mac.toUpperCase());
  return join(kind, 'default');
}

/** Writes data/ and images/ under root; returns their paths. */
export async function fixture(root: string, opts: FixtureOptions = {}): Promise<{ dataPath: string; imagesPath: string }> {
  const dataPath = join(root, 'data');
  const imagesPath = join(root, 'images');
  for (const m of machines.filter((x) => opts.withDefault !== false || x.known !== 'default')) {
    for (const kind of ['boot', 'cloud'] as const) {
      const file = join(dataPath, dataFile(kind, m));
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(file, kind === 'boot' ? JSON.stringify(bootConfig(m, opts.cloudBase, opts.label), null, 2) + '\n' : cloudConfig(m, opts.label));
    }
  }
  await mkdir(imagesPath, { recursive: true });
  await copyFile(kernelFile, join(imagesPath, 'vmlinuz'));
  await copyFile(initrdFile, join(imagesPath, initrdName));
  return { dataPath, imagesPath };
}
