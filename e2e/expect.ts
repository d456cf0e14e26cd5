// What one boot must prove, checked from the server's request log and the guest's serial port:
// the chain URL carried the machine's uuid and MAC, the machine's own script was served, kernel
// and initrd came from /images, the kernel got exactly the script's arguments (with iPXE's
// ${…} expanded), and the booted system fetched its own cloud config. Every check runs and all
// failures are reported together, with the serial tail and the request logs.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { queryOf, type AccessLog } from './access-log.js';
import { cloudConfig, dataName, hexhyp, initrdPath, kernelPath, type Machine } from './machines.js';
import { isUefi, type Firmware, type VmResult } from './qemu.js';
import { distFile } from '../src/compile/shapes.js';

export interface Boot {
  machine: Machine;
  firmware: Firmware;
  /** How iPXE got its script: bootcfg's chain (boot.ipxe → /ipxe), or Pixiecore's. */
  via: 'chain' | 'pixiecore';
  vm: VmResult;
  /** bootcfg's (or nginx's) request log. */
  log: AccessLog;
  /** The server's stderr and, for Pixiecore boots, the stand-in's log: for failure reports. */
  extra: Record<string, string>;
  distPath: string;
  /** For Pixiecore boots: the script the stand-in sent (for the real one: what it must have sent). */
  pixiecoreScript?: string;
  /** The real Pixiecore asks the API at DHCP time and again for the script: at least once, not once. */
  realPixiecore?: boolean;
}

/** The dist/ key a machine's answers come from (ipxe/<key>, cloud/<key>, pixiecore/<key>). */
export function keyOf(m: Machine, area: 'ipxe' | 'cloud' | 'pixiecore' | 'ignition'): string {
  if (m.known === 'uuid' && area !== 'pixiecore') return `uuid/${m.uuid}`;
  if (m.known === 'uuid' || m.known === 'default') return 'default';
  return `mac/${hexhyp(m.mac)}`;
}

/** What iPXE substitutes for the settings our scripts use. */
export function expand(s: string, m: Machine): string {
  return s
    .replaceAll('${uuid}', m.uuid)
    .replaceAll('${net0/mac:hexhyp}', hexhyp(m.mac))
    .replaceAll('${net0/mac}', m.mac)
    .replaceAll('${mac}', m.mac);
}

/** One `kernel`/`boot` line: options, the image, the arguments. */
function imageLine(line: string): { verb: string; name?: string; image: string; args: string[] } | undefined {
  const words = line.trim().split(/\s+/);
  const verb = words[0] ?? '';
  if (verb !== 'kernel' && verb !== 'boot') return undefined;
  let i = 1;
  let name: string | undefined;
  for (; i < words.length && words[i]?.startsWith('-'); i++) {
    if (words[i] === '--name' || words[i] === '-n') name = words[++i];
    else if (words[i] === '--timeout' || words[i] === '-t') i++;
  }
  return { verb, name, image: words[i] ?? '', args: words.slice(i + 1) };
}

/**
 * The kernel's image name (--name, or the URL's file name) and the arguments it boots with: those
 * of the `kernel` line, unless a later `boot <image> args…` replaces them (as Pixiecore's does).
 */
export function kernelLine(script: string): { name: string; args: string } | undefined {
  let found: { name: string; args: string } | undefined;
  for (const line of script.split('\n')) {
    const l = imageLine(line);
    if (l?.verb === 'kernel') {
      found = { name: l.name ?? l.image.split('?')[0]?.split('/').pop() ?? '', args: l.args.join(' ') };
    } else if (l?.verb === 'boot' && found && l.image === found.name && l.args.length) {
      found.args = l.args.join(' ');
    }
  }
  return found;
}

export function serialField(serial: string, tag: string): string | undefined {
  return new RegExp(`${tag}: (.*)$`, 'm').exec(serial)?.[1];
}

export function cloudBody(serial: string): string | undefined {
  const m = /E2E-CLOUD-BEGIN\n([\s\S]*?)\nE2E-CLOUD-END/.exec(serial);
  return m?.[1];
}

/** Firmware banners: proves the VM ran the firmware the case names. */
function firmwareProblems(b: Pick<Boot, 'vm' | 'firmware'>): string[] {
  const seabios = b.vm.serial.includes('SeaBIOS');
  const romIpxe = /iPXE \(PCI [0-9a-f:.]+\) starting execution/.test(b.vm.serial);
  if (b.firmware === 'bios' && !(seabios && romIpxe)) return ['BIOS: expected SeaBIOS starting the NIC ROM iPXE'];
  if (b.firmware === 'uefi' && seabios) return ['UEFI: SeaBIOS ran instead of OVMF'];
  if (b.firmware === 'lkrn' && (!seabios || romIpxe)) return ['lkrn: expected SeaBIOS and no NIC ROM iPXE'];
  if (b.firmware === 'uefi-pxe' && (seabios || !b.vm.serial.includes('>>Start PXE over IPv4'))) {
    return ["UEFI PXE: expected OVMF's own PXE (>>Start PXE over IPv4)"];
  }
  return [];
}

export type Check = (ok: boolean, problem: string) => void;

export function checkVm(b: Pick<Boot, 'vm' | 'firmware'>, check: Check): void {
  check(b.vm.end === 'poweroff', `the VM did not power off by itself (${b.vm.end})`);
  check(b.vm.serial.includes('E2E-DONE'), 'the guest init never finished (no E2E-DONE on the serial port)');
  for (const p of firmwareProblems(b)) check(false, p);
}

/**
 * Whether a logged file is the answer at `path`: bootcfg serve logs the answer path, nginx the
 * file it sent, in its shard dir for a uuid or mac (`ipxe/uuid/f6/<uuid>`, docs/dist-layout.md).
 */
export function servedFrom(file: string, path: string): boolean {
  return file.endsWith(path) || file.endsWith(distFile(path));
}

/** Every answer a 200 from the build dist/current points at. */
async function checkAnswers(b: Boot, check: Check): Promise<void> {
  const revision = (await readFile(join(b.distPath, 'current', 'REVISION'), 'utf8').catch(() => '')).trim();
  for (const r of b.log.requests) {
    check(r.status === 200, `answered ${r.status}: ${r.method} ${r.url}`);
    if (r.revision !== undefined) check(r.revision === revision, `answered from revision ${r.revision}, not ${revision}: ${r.url}`);
  }
}

/** boot.ipxe chained to /ipxe with this machine's uuid and MAC; returns the script served. */
async function checkChain(b: Boot, check: Check): Promise<string | undefined> {
  const { machine: m, log } = b;
  check(log.to('/boot.ipxe').length === 1, 'GET /boot.ipxe was not asked exactly once');
  const chained = log.to('/ipxe');
  check(chained.length === 1, `expected one GET /ipxe, saw ${chained.length}`);
  const chain = chained[0];
  if (chain) {
    const q = queryOf(chain.url);
    check(q.get('uuid') === m.uuid, `chain URL did not carry uuid ${m.uuid}: ${chain.url}`);
    const mac = q.get('mac')?.replaceAll('%3A', ':').replaceAll(':', '-').toLowerCase();
    check(mac === hexhyp(m.mac), `chain URL did not carry mac ${m.mac}: ${chain.url}`);
    const want = `ipxe/${keyOf(m, 'ipxe')}`;
    if (chain.file !== undefined) check(servedFrom(chain.file, want), `/ipxe answered from ${chain.file}, not ${want}`);
  }
  const script = await readFile(join(b.distPath, 'current', distFile(`ipxe/${keyOf(m, 'ipxe')}`)), 'utf8').catch(() => undefined);
  check(script !== undefined, `dist has no ipxe/${keyOf(m, 'ipxe')}`);
  return script;
}

/** Pixiecore asked bootcfg's API for this MAC; returns the script it sent iPXE. */
function checkPixiecore(b: Boot, check: Check): string | undefined {
  const m = b.machine;
  const asked = b.log.to(`/pixiecore/v1/boot/${m.mac}`);
  const once = b.realPixiecore ? asked.length >= 1 : asked.length === 1;
  check(once, `Pixiecore did not ask /pixiecore/v1/boot/${m.mac} ${b.realPixiecore ? 'at all' : 'exactly once'}`);
  const want = `pixiecore/${keyOf(m, 'pixiecore')}`;
  const file = asked[0]?.file;
  if (file !== undefined) check(servedFrom(file, want), `the Pixiecore answer came from ${file}, not ${want}`);
  check(b.pixiecoreScript !== undefined, 'the Pixiecore stand-in sent no script');
  return b.pixiecoreScript;
}

/** The kernel got exactly the served script's arguments, with iPXE's settings expanded. */
function checkCmdline(b: Boot, script: string | undefined, check: Check): void {
  const k = script === undefined ? undefined : kernelLine(script);
  check(script === undefined || k !== undefined, `no kernel line in the served script:\n${script}`);
  const cmdline = serialField(b.vm.serial, 'E2E-CMDLINE');
  check(cmdline !== undefined, 'the guest printed no kernel command line');
  if (!k || cmdline === undefined) return;
  // iPXE's EFI loader puts the image name first, as a boot loader's argv[0].
  const want = (isUefi(b.firmware) ? `${k.name} ` : '') + expand(k.args, b.machine);
  check(cmdline === want, `kernel command line\n  got:  ${cmdline}\n  want: ${want}`);
  const mine = `e2e.machine=${dataName(b.machine)}`;
  check(cmdline.split(' ').includes(mine), `the kernel arguments are not this machine's (no ${mine})`);
}

/** The booted system fetched its own cloud config and got it byte for byte. */
function checkCloud(b: Boot, check: Check): void {
  const { machine: m, log } = b;
  const clouds = log.to('/cloud');
  check(clouds.length === 1, `expected the guest to GET /cloud once, saw ${clouds.length}`);
  const cloud = clouds[0];
  if (cloud) {
    const q = queryOf(cloud.url);
    check(q.get('uuid') === m.uuid && q.get('mac') === hexhyp(m.mac), `the cloud config URL did not carry this machine: ${cloud.url}`);
    const want = `cloud/${keyOf(m, 'cloud')}`;
    if (cloud.file !== undefined) check(servedFrom(cloud.file, want), `/cloud answered from ${cloud.file}, not ${want}`);
  }
  const body = cloudBody(b.vm.serial);
  check(body?.trimEnd() === cloudConfig(m).trimEnd(), `the guest got the wrong cloud config:\n${body ?? '(none)'}`);
}

/**
 * The boot itself, up to the kernel: firmware, answers, the chain or Pixiecore script, kernel
 * and initrd, the kernel command line. The Ignition boots (ignition.test.ts) check the rest.
 */
export async function bootProblems(b: Boot): Promise<string[]> {
  const out: string[] = [];
  const check: Check = (ok, problem) => {
    if (!ok) out.push(problem);
  };
  checkVm(b, check);
  await checkAnswers(b, check);
  const script = b.via === 'chain' ? await checkChain(b, check) : checkPixiecore(b, check);
  check(b.log.to(kernelPath).length === 1, `the kernel was not fetched once from ${kernelPath}`);
  check(b.log.to(initrdPath).length === 1, `the initrd was not fetched once from ${initrdPath}`);
  checkCmdline(b, script, check);
  return out;
}

/** Checks one boot; resolves to the list of problems (empty when it booted as it should). */
export async function problems(b: Boot): Promise<string[]> {
  const out = await bootProblems(b);
  checkCloud(b, (ok, problem) => {
    if (!ok) out.push(problem);
  });
  return out;
}

/**
 * A machine bootcfg has no answer for, through the real Pixiecore: the API said 404 every time it
 * was asked, nothing was fetched, and no kernel ran.
 */
export function notBootedProblems(b: Boot): string[] {
  const out: string[] = [];
  const asked = b.log.to(`/pixiecore/v1/boot/${b.machine.mac}`);
  if (!asked.length) out.push(`Pixiecore never asked /pixiecore/v1/boot/${b.machine.mac}`);
  for (const r of asked) if (r.status !== 404) out.push(`the API answered ${r.status}, not 404: ${r.url}`);
  const fetched = b.log.requests.filter((r) => !r.url.startsWith('/pixiecore/'));
  if (fetched.length) out.push(`requests besides the API: ${fetched.map((r) => r.url).join(', ')}`);
  if (b.vm.serial.includes('E2E-CMDLINE')) out.push('a kernel booted');
  if (b.vm.end === 'timeout') out.push('the firmware did not give up before the boot timeout');
  return out;
}

/** A failure report: what went wrong, then the serial tail and the request logs. */
export function report(b: Pick<Boot, 'vm' | 'log' | 'extra'>, found: string[]): string {
  const tail = b.vm.serial.split('\n').slice(-40).join('\n');
  const extras = Object.entries(b.extra)
    .filter(([, v]) => v.trim())
    .map(([k, v]) => `--- ${k} ---\n${v}`);
  return [
    `${found.length} problem(s):`,
    ...found.map((p) => `- ${p}`),
    `--- serial (last 40 lines, ${b.vm.ms} ms, ${b.vm.end}) ---`,
    tail,
    '--- request log ---',
    b.log.toString() || '(empty)',
    ...extras,
  ].join('\n');
}
