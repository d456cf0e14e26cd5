// Boots one QEMU VM whose iPXE (NIC option ROM under SeaBIOS or OVMF, or ipxe.lkrn with the ROM
// off) fetches its boot file from a server on 127.0.0.1, and returns what the serial port said.
// QEMU's user network with restrict=on cuts the guest off from everything; each guestfwd rule
// pipes one in-QEMU address to one local server, a new `busybox nc` per connection.
import { spawn } from 'node:child_process';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bootTimeoutMs, firmware } from './config.js';

/** `uefi-pxe`: OVMF's own PXE (the NIC's iPXE ROM off), the one plain PXE client QEMU has. */
export type Firmware = 'bios' | 'uefi' | 'lkrn' | 'uefi-pxe';

export function isUefi(f: Firmware): boolean {
  return f === 'uefi' || f === 'uefi-pxe';
}

export interface Forward {
  /** An address that exists only inside QEMU (10.0.2.x), port 80. */
  guestHost: string;
  /** The local server it reaches. */
  port: number;
}

export interface VmOptions {
  firmware: Firmware;
  uuid: string;
  mac: string;
  /** The URL QEMU's DHCP hands to iPXE as its boot file (user network only). */
  bootfile?: string;
  /** A folder QEMU's TFTP server serves (user network only): `bootfile` is then a file name in it. */
  tftpRoot?: string;
  forwards?: Forward[];
  /** Instead of the user network: a tap on a segment of netns.ts, QEMU run inside its namespace. */
  tap?: { ns: string; ifname: string };
  /** A folder of this VM's own: serial.log and the UEFI variable store go there. */
  workDir: string;
}

export interface VmResult {
  /** Everything the serial port printed, `\r` removed. */
  serial: string;
  ms: number;
  /** Why QEMU ended: the guest powered off, or we stopped it. */
  end: 'poweroff' | 'timeout' | 'stuck' | 'crashed';
}

/** The firmware and iPXE have given up; waiting longer only burns the CI's time. */
const STUCK = /No more network devices|No bootable device|Could not boot|EFI stub: ERROR|Kernel panic|BdsDxe: No bootable option|EFI Internal Shell/;

function netdev(vm: VmOptions): string {
  if (vm.tap) return `tap,id=n0,ifname=${vm.tap.ifname},script=no,downscript=no`;
  const bootfile = vm.bootfile ?? '';
  if (bootfile.includes(',')) throw new Error(`a comma cannot pass through QEMU's -netdev: ${bootfile}`);
  const fwd = (vm.forwards ?? []).map((f) => `,guestfwd=tcp:${f.guestHost}:80-cmd:busybox nc 127.0.0.1 ${f.port}`).join('');
  if (vm.tftpRoot?.includes(',')) throw new Error(`a comma cannot pass through QEMU's -netdev: ${vm.tftpRoot}`);
  const tftp = vm.tftpRoot ? `,tftp=${vm.tftpRoot}` : '';
  return `user,id=n0,restrict=on${tftp},bootfile=${bootfile}${fwd}`;
}

export async function qemuArgs(vm: VmOptions): Promise<string[]> {
  const rom = { lkrn: ',romfile=', 'uefi-pxe': ',romfile=,bootindex=1', bios: ',bootindex=1', uefi: ',bootindex=1' }[vm.firmware];
  const nic = `virtio-net-pci,netdev=n0,mac=${vm.mac}${rom}`;
  const args = [
    '-accel', 'tcg', '-m', '512', '-smp', '1', '-no-reboot',
    // -nographic also makes SeaBIOS mirror its console (and so iPXE's) to the serial port.
    '-nographic', '-monitor', 'none', '-parallel', 'none', '-serial', 'stdio',
    '-uuid', vm.uuid,
    '-netdev', netdev(vm),
    '-device', nic,
  ];
  if (isUefi(vm.firmware)) {
    const vars = join(vm.workDir, 'OVMF_VARS.fd');
    await copyFile(firmware.ovmfVars, vars);
    args.push(
      '-drive', `if=pflash,format=raw,readonly=on,file=${firmware.ovmfCode}`,
      '-drive', `if=pflash,format=raw,file=${vars}`,
    );
  }
  if (vm.firmware === 'lkrn') args.push('-kernel', firmware.ipxeLkrn);
  return args;
}

export async function bootVm(vm: VmOptions): Promise<VmResult> {
  const args = await qemuArgs(vm);
  const started = Date.now();
  const argv = vm.tap ? ['ip', 'netns', 'exec', vm.tap.ns, 'qemu-system-x86_64', ...args] : ['qemu-system-x86_64', ...args];
  const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let serial = '';
  let stderr = '';
  let end: VmResult['end'] = 'poweroff';
  const stop = (why: VmResult['end']): void => {
    if (child.exitCode === null && child.signalCode === null) {
      end = why;
      child.kill('SIGKILL');
    }
  };
  const timer = setTimeout(() => stop('timeout'), bootTimeoutMs);
  let stuckTimer: NodeJS.Timeout | undefined;
  child.stdout.setEncoding('latin1').on('data', (chunk: string) => {
    serial += chunk;
    // Give the firmware a moment to print why, then stop.
    if (!stuckTimer && STUCK.test(serial)) stuckTimer = setTimeout(() => stop('stuck'), 2000);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((done, fail) => {
    child.on('error', fail);
    child.on('close', (c) => done(c));
  });
  clearTimeout(timer);
  clearTimeout(stuckTimer);
  if (end === 'poweroff' && code !== 0) end = 'crashed';
  serial = serial.replaceAll('\r', '');
  if (stderr) serial += `\n[qemu stderr]\n${stderr}`;
  await writeFile(join(vm.workDir, 'serial.log'), serial);
  return { serial, ms: Date.now() - started, end };
}
