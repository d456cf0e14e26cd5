// What one boot from a published tree (`bootcfg publish`, served by a plain static server) must
// prove, from that server's request log and the guest's serial port: the entry point chained
// the revision it names, the per-revision chain fell through 404s to the machine's own script
// (uuid, then MAC, then the default), kernel and initrd came from /images, the kernel got
// exactly that script's arguments, and its cloud-config-url was resolved at publish time to
// the machine's own static file, which the booted system fetched byte for byte.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccessLog } from './access-log.js';
import { guestHosts } from './config.js';
import { checkVm, cloudBody, expand, kernelLine, keyOf, serialField, type Boot, type Check } from './expect.js';
import { cloudConfig, dataName, hexhyp, initrdPath, kernelPath, type Machine } from './machines.js';
import { isUefi } from './qemu.js';

export interface StaticBoot extends Pick<Boot, 'machine' | 'firmware' | 'vm' | 'extra'> {
  /** The static server's request log. */
  log: AccessLog;
  /** The folder `bootcfg publish --to` wrote, which the server serves as its root. */
  publishPath: string;
  /** The revision DEST/boot.ipxe pointed at when the VM booted. */
  revision: string;
  /** The data version the boot must have got (machines.ts FixtureOptions.label). */
  label?: string;
}

/** The published base URL: QEMU's guestfwd address of the static server. */
export const baseUrl = `http://${guestHosts.bootcfg}`;

/** The revision the entry point chains: `revs/<revision>/boot.ipxe`, relative to itself. */
export async function entryRevision(publishPath: string): Promise<string> {
  const entry = await readFile(join(publishPath, 'boot.ipxe'), 'utf8');
  const m = /(?:^|[\s/])revs\/([^/\s]+)\/boot\.ipxe\b/m.exec(entry);
  if (!m?.[1]) throw new Error(`${publishPath}/boot.ipxe chains no revs/<revision>/boot.ipxe:\n${entry}`);
  return m[1];
}

/** The scripts the chain tries, in the dynamic server's order, up to the one this machine has. */
function triedScripts(m: Machine): string[] {
  const order = [`ipxe/uuid/${m.uuid}`, `ipxe/mac/${hexhyp(m.mac)}`, 'ipxe/default'];
  return order.slice(0, order.indexOf(`ipxe/${keyOf(m, 'ipxe')}`) + 1);
}

/** Entry point once, the revision's chain once, then 404s down to the machine's own script. */
function checkChain(b: StaticBoot, check: Check): void {
  const rev = `/revs/${b.revision}`;
  const once = (path: string): void => {
    const got = b.log.to(path);
    check(got.length === 1 && got[0]?.status === 200, `GET ${path} was not answered 200 exactly once (${got.map((r) => r.status).join(', ') || 'never asked'})`);
  };
  once('/boot.ipxe');
  once(`${rev}/boot.ipxe`);
  const want = triedScripts(b.machine).map((p) => `${rev}/${p}`);
  const tried = b.log.requests.filter((r) => r.url.startsWith(`${rev}/ipxe/`));
  const got = tried.map((r) => r.url);
  check(got.join(' ') === want.join(' '), `the chain tried\n  ${got.join('\n  ') || '(nothing)'}\nnot\n  ${want.join('\n  ')}`);
  tried.forEach((r, i) => {
    const status = i === tried.length - 1 ? 200 : 404;
    check(r.status === status, `${r.url} answered ${r.status}, not ${status}`);
  });
  for (const r of b.log.requests) {
    if (r.url.startsWith('/revs/')) check(r.url.startsWith(`${rev}/`), `asked another revision than ${b.revision}: ${r.url}`);
    if (!r.url.startsWith(`${rev}/ipxe/`)) check(r.status === 200, `answered ${r.status}: ${r.url}`);
  }
}

/** The kernel got exactly the arguments of the machine's published script, iPXE's ${…} expanded. */
async function checkCmdline(b: StaticBoot, check: Check): Promise<string | undefined> {
  const file = join(b.publishPath, 'revs', b.revision, 'ipxe', keyOf(b.machine, 'ipxe'));
  const script = await readFile(file, 'utf8').catch(() => undefined);
  check(script !== undefined, `nothing published at ${file}`);
  const k = script === undefined ? undefined : kernelLine(script);
  check(script === undefined || k !== undefined, `no kernel line in ${file}:\n${script}`);
  const cmdline = serialField(b.vm.serial, 'E2E-CMDLINE');
  check(cmdline !== undefined, 'the guest printed no kernel command line');
  if (cmdline === undefined) return undefined;
  if (k) {
    // iPXE's EFI loader puts the image name first, as a boot loader's argv[0].
    const want = (isUefi(b.firmware) ? `${k.name} ` : '') + expand(k.args, b.machine);
    check(cmdline === want, `kernel command line\n  got:  ${cmdline}\n  want: ${want}`);
  }
  const words = cmdline.split(' ');
  for (const mine of [`e2e.machine=${dataName(b.machine)}`, ...(b.label === undefined ? [] : [`e2e.label=${b.label}`])]) {
    check(words.includes(mine), `the kernel arguments are not this machine's (no ${mine})`);
  }
  return words.find((w) => w.startsWith('cloud-config-url='))?.slice('cloud-config-url='.length);
}

/** The config URL names the machine's own static file, which the guest fetched and got whole. */
function checkCloud(b: StaticBoot, url: string | undefined, check: Check): void {
  const path = `/revs/${b.revision}/cloud/${keyOf(b.machine, 'cloud')}`;
  check(url === `${baseUrl}${path}`, `cloud-config-url is ${url ?? '(none)'}, not ${baseUrl}${path}`);
  check(serialField(b.vm.serial, 'E2E-CLOUD-URL') === url, 'the guest fetched another URL than its cloud-config-url');
  check(b.log.to(path).length === 1, `the guest did not GET ${path} once`);
  const body = cloudBody(b.vm.serial);
  const want = cloudConfig(b.machine, b.label);
  check(body?.trimEnd() === want.trimEnd(), `the guest got the wrong cloud config:\n${body ?? '(none)'}\nwant:\n${want}`);
}

/** Checks one boot from a published tree; resolves to the problems (empty when it booted right). */
export async function staticProblems(b: StaticBoot): Promise<string[]> {
  const out: string[] = [];
  const check: Check = (ok, problem) => {
    if (!ok) out.push(problem);
  };
  checkVm(b, check);
  checkChain(b, check);
  check(b.log.to(kernelPath).length === 1, `the kernel was not fetched once from ${kernelPath}`);
  check(b.log.to(initrdPath).length === 1, `the initrd was not fetched once from ${initrdPath}`);
  checkCloud(b, await checkCmdline(b, check), check);
  return out;
}
