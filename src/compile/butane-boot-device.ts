// Butane's boot_device sugar (fcos 1.3.0 and later): a mirrored boot disk and/or an encrypted
// root, expanded into the disks, RAID arrays, LUKS volumes and filesystems Butane v0.23 writes
// for the x86_64, aarch64 and ppc64le layouts, then merged with the operator's own storage by
// Ignition's keys (a disk by device, a partition by number or label, …) the way Butane merges
// them (butane-merge.ts), so `boot_device.mirror` plus a /var partition on the same disks works.

import type { Field } from './ignition-spec.js';

/** Butane-only objects the walker types boot_device against (Ignition has no such fields). */
export const BOOT_DEVICE_OBJECTS: Record<string, Field[]> = {
  bootDevice: [
    { name: 'layout', type: 'string' },
    { name: 'mirror', type: { object: 'bootMirror' } },
    { name: 'luks', type: { object: 'bootLuks' } },
  ],
  bootMirror: [{ name: 'devices', type: { list: 'string' } }],
  bootLuks: [
    { name: 'tang', type: { list: { object: 'tang' } } },
    { name: 'tpm2', type: 'boolean' },
    { name: 'threshold', type: 'integer' },
  ],
};

export interface BootDevice {
  layout?: string;
  mirror?: { devices?: string[] };
  luks?: { tang?: unknown[]; tpm2?: boolean; threshold?: number };
}

const BIOS = '21686148-6449-6E6F-744E-656564454649';
const ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const RESERVED = '8DA63339-0007-60C0-C436-083AC8230908';
const PREP = '9E1A2D38-C612-4316-AA26-8B49521E5A8B';

/** The firmware partitions each layout puts before boot and root, and whether it has an ESP. */
const LAYOUTS: Record<string, Array<{ label: string; sizeMiB: number; typeGuid: string }>> = {
  x86_64: [{ label: 'bios', sizeMiB: 1, typeGuid: BIOS }, { label: 'esp', sizeMiB: 127, typeGuid: ESP }],
  aarch64: [{ label: 'reserved', sizeMiB: 1, typeGuid: RESERVED }, { label: 'esp', sizeMiB: 127, typeGuid: ESP }],
  ppc64le: [{ label: 'prep', sizeMiB: 4, typeGuid: PREP }, { label: 'reserved', sizeMiB: 1, typeGuid: RESERVED }],
};

export const BOOT_DEVICE_LAYOUTS = Object.keys(LAYOUTS);

type Obj = Record<string, unknown>;

/** The storage section boot_device stands for (empty when it asks for nothing, as in Butane). */
export function expandBootDevice(boot: BootDevice): Obj {
  const layout = LAYOUTS[boot.layout ?? 'x86_64']!;
  const devices = boot.mirror?.devices ?? [];
  const luks = boot.luks && (boot.luks.tpm2 === true || (boot.luks.tang ?? []).length > 0) ? boot.luks : undefined;
  const storage: Obj = {};
  const filesystems: Obj[] = [];
  if (devices.length > 0) {
    storage.disks = devices.map((device, i) => ({
      device,
      partitions: [...layout.map((p) => ({ ...p, label: `${p.label}-${i + 1}` })), { label: `boot-${i + 1}`, sizeMiB: 384 }, { label: `root-${i + 1}` }],
      wipeTable: true,
    }));
    if (layout.some((p) => p.label === 'esp')) {
      devices.forEach((_, i) => filesystems.push({ device: `/dev/disk/by-partlabel/esp-${i + 1}`, format: 'vfat', label: `esp-${i + 1}`, wipeFilesystem: true }));
    }
    filesystems.push({ device: '/dev/md/md-boot', format: 'ext4', label: 'boot', wipeFilesystem: true });
    storage.raid = [
      { devices: devices.map((_, i) => `/dev/disk/by-partlabel/boot-${i + 1}`), level: 'raid1', name: 'md-boot', options: ['--metadata=1.0'] },
      { devices: devices.map((_, i) => `/dev/disk/by-partlabel/root-${i + 1}`), level: 'raid1', name: 'md-root' },
    ];
  }
  if (luks) {
    const clevis: Obj = {};
    if (luks.tang?.length) clevis.tang = luks.tang;
    if (luks.tpm2 !== undefined) clevis.tpm2 = luks.tpm2;
    if (luks.threshold !== undefined) clevis.threshold = luks.threshold;
    storage.luks = [{ clevis, device: devices.length > 0 ? '/dev/md/md-root' : '/dev/disk/by-partlabel/root', label: 'luks-root', name: 'root', wipeVolume: true }];
  }
  if (devices.length > 0 || luks) filesystems.push({ device: luks ? '/dev/mapper/root' : '/dev/md/md-root', format: 'xfs', label: 'root', wipeFilesystem: true });
  if (filesystems.length > 0) storage.filesystems = filesystems;
  return storage;
}
