// Where the e2e suite finds its tools and artefacts, and the fixed addresses inside QEMU's
// user network. One place, so the runner, the docs and mk/e2e.mk agree.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this file compiles to lib/e2e/config.js. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Downloaded and built artefacts (kernel, initramfs), made by e2e/assets.sh. */
export const cacheDir = resolve(process.env.E2E_CACHE ?? join(repoRoot, '.cache', 'e2e'));

export const kernelFile = join(cacheDir, 'vmlinuz');
export const initrdFile = join(cacheDir, 'initramfs.gz');
/** The Ignition guest's initramfs (Debian's Ignition binary; e2e/ignition-init). */
export const ignitionInitrdFile = join(cacheDir, 'initramfs-ignition.gz');

/** Debian's firmware and iPXE builds (packages ovmf, ipxe, ipxe-qemu). */
export const firmware = {
  ovmfCode: '/usr/share/OVMF/OVMF_CODE_4M.fd',
  ovmfVars: '/usr/share/OVMF/OVMF_VARS_4M.fd',
  ipxeLkrn: '/usr/lib/ipxe/ipxe.lkrn',
  virtioRom: '/usr/lib/ipxe/qemu/efi-virtio.rom',
} as const;

/**
 * Inside QEMU's user network these addresses exist only as guestfwd rules, each piped to one
 * server on 127.0.0.1. With restrict=on they are the guest's only way out.
 */
export const guestHosts = {
  bootcfg: '10.0.2.100',
  pixiecore: '10.0.2.101',
} as const;

/** VMs booted at once; each is one emulated CPU, and CI has two cores. */
export const jobs = Math.max(1, Math.floor(Number(process.env.E2E_JOBS)) || 2);

/** A boot that has not powered off by then has failed (a UEFI boot takes 12-40 s on a busy machine). */
export const bootTimeoutMs = Number(process.env.E2E_BOOT_TIMEOUT_MS) || 150_000;

/** What must be on the machine; the message says how to get it. */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  const need = (file: string, how: string): void => {
    if (!existsSync(file)) missing.push(`${file} (${how})`);
  };
  need('/usr/bin/qemu-system-x86_64', 'make deps-e2e');
  need('/bin/busybox', 'make deps-e2e');
  need(firmware.ovmfCode, 'make deps-e2e');
  need(firmware.ovmfVars, 'make deps-e2e');
  need(firmware.ipxeLkrn, 'make deps-e2e');
  need(firmware.virtioRom, 'make deps-e2e');
  need(kernelFile, 'make e2e-assets');
  need(initrdFile, 'make e2e-assets');
  return missing;
}
