// The network-path cases of `make e2e` (issue 15, docs/e2e.md "The network path"): the README's
// networking recipes, read from README.md, booted for real on an L2 segment of the case's own
// (netns.ts): Debian's dnsmasq for DHCP, proxy DHCP and TFTP, Debian's undionly.kpxe and ipxe.efi,
// the real Pixiecore (../shared/peers/pixiecore), bootcfg serve (or nginx with the block `bootcfg
// nginx` generates) at the README's 192.168.1.10:8080, and QEMU guests on taps. Each case checks the request log, the guest's serial console and the
// dnsmasq/Pixiecore logs (expect.ts), which a failure prints whole.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { jobs, missingPrerequisites, repoRoot } from './config.js';
import { notBootedProblems, problems, report, type Boot } from './expect.js';
import { fixture, hexhyp, machines, type Machine } from './machines.js';
import { Segment, netnsSkipReason, segment } from './netns.js';
import { bootSpec, ipxeScript } from './pixiecore.js';
import { bootVm, type Firmware } from './qemu.js';
import { dnsmasqConfig, pixiecoreArgs, readmeRecipe, type Recipe } from './readme.js';
import { nginxSkipReason } from './nginx.js';
import { bootcfgBuild, startServer, type RunningServer, type ServerKind } from './servers.js';
import { distFile } from '../src/compile/shapes.js';

/** The real Pixiecore, beside the repository as CI lays it out (shared/peers/README.md). */
const pixiecoreBinary = join(repoRoot, '..', 'shared', 'peers', 'pixiecore');
/** Where the README puts bootcfg (and nginx, in its place). */
const bootcfgAddress = `${segment.bridge}:8080`;
const bootUrl = `http://${bootcfgAddress}/boot.ipxe`;

interface NetCase {
  title: string;
  machine: Machine;
  firmware: Firmware;
  /** The README dnsmasq recipe under test, or the README's Pixiecore command. */
  recipe: Recipe | 'pixiecore';
  /** A plain DHCP server in a namespace of its own hands out the addresses (proxy, Pixiecore). */
  beside: boolean;
  /** [log, pattern, what it proves, true when the pattern must NOT appear]. */
  logs: Array<[string, RegExp, string, boolean?]>;
  /** Which boot file dnsmasq sent each kind of PXE client, from its log (bootfiles()). */
  sent?: { ipxe?: string; pxe?: string };
  /** Pixiecore: bootcfg has no answer for the machine, which must not boot. */
  refused?: boolean;
  /** What serves dist/ at bootcfgAddress: bootcfg serve unless said. */
  server?: ServerKind;
}

const [byUuid, byMac, unknown] = machines as [Machine, Machine, Machine];
const esc = (s: string): string => s.replaceAll(/[.?/]/g, (c) => `\\${c}`);
const sentBootfile = /sent size:[^\n]*option: 67 |bootfile name:/;

/**
 * The boot files dnsmasq's log says it sent, per kind of client: `ipxe` (user class iPXE) and
 * `pxe` (vendor class PXEClient without it), each transaction told apart by its xid.
 */
function bootfiles(log: string): { ipxe: Set<string>; pxe: Set<string> } {
  const byXid = new Map<string, string[]>();
  for (const m of log.matchAll(/dnsmasq-dhcp\[\d+\]: (\d+) (.*)$/gm)) {
    const [, xid = '', text = ''] = m;
    byXid.set(xid, [...(byXid.get(xid) ?? []), text]);
  }
  const out = { ipxe: new Set<string>(), pxe: new Set<string>() };
  for (const lines of byXid.values()) {
    const kind = lines.some((l) => l === 'user class: iPXE') ? 'ipxe' : lines.some((l) => l.startsWith('vendor class: PXEClient')) ? 'pxe' : undefined;
    if (!kind) continue;
    for (const l of lines) {
      const f = /(?:option: 67 bootfile-name|^bootfile name:)\s+(\S+)/.exec(l)?.[1];
      if (f) out[kind].add(f);
    }
  }
  return out;
}

/** Every client of a kind got exactly `want`: an iPXE client never gets iPXE again (the loop). */
function sentProblems(log: string, sent: NonNullable<NetCase['sent']>): string[] {
  const got = bootfiles(log);
  return (['ipxe', 'pxe'] as const)
    .filter((k) => sent[k] !== undefined && (got[k].size !== 1 || !got[k].has(sent[k] ?? '')))
    .map((k) => `dnsmasq sent ${k} clients ${[...got[k]].join(', ') || 'nothing'}, not only ${sent[k]}`);
}
const tftp = (file: string): RegExp => new RegExp(`sent \\S+/${esc(file)} to `);

const cases: NetCase[] = [
  {
    title: 'dnsmasq iPXE recipe, bios by-uuid',
    machine: byUuid,
    firmware: 'bios',
    recipe: 'ipxe',
    beside: false,
    logs: [
      ['dnsmasq', /tags: ipxe/, 'the NIC ROM is an iPXE client, tagged ipxe'],
      ['dnsmasq', tftp('undionly.kpxe'), 'no TFTP', true],
    ],
    sent: { ipxe: bootUrl },
  },
  {
    title: 'dnsmasq PXE recipe, uefi-pxe by-mac',
    machine: byMac,
    firmware: 'uefi-pxe',
    recipe: 'pxe',
    beside: false,
    logs: [
      ['dnsmasq', /vendor class: PXEClient:Arch:00007[^\n]*\n(?:.*\n){0,2}?.*tags: efi64/, 'OVMF PXE, no user class, tagged efi64'],
      ['dnsmasq', /bootfile-name\s+ipxe\.efi/, 'plain UEFI PXE is given ipxe.efi'],
      ['dnsmasq', tftp('ipxe.efi'), 'ipxe.efi went out over TFTP'],
      ['dnsmasq', /tags: ipxe, efi64/, 'the chained ipxe.efi is tagged ipxe'],
    ],
    sent: { ipxe: bootUrl, pxe: 'ipxe.efi' },
  },
  {
    title: 'dnsmasq PXE recipe, bios unknown',
    machine: unknown,
    firmware: 'bios',
    recipe: 'pxe',
    beside: false,
    logs: [
      ['dnsmasq', tftp('undionly.kpxe'), 'the ROM iPXE is not sent undionly.kpxe (the loop)', true],
    ],
    sent: { ipxe: bootUrl },
  },
  {
    title: 'dnsmasq proxy recipe, bios by-mac',
    machine: byMac,
    firmware: 'bios',
    recipe: 'proxy',
    beside: true,
    logs: [
      ['dhcp server', /DHCPACK\(eth0\) 192\.168\.1\.\d+ 52:54:00:e2:e0:02/, 'the site DHCP server gave the address'],
      ['dhcp server', sentBootfile, 'the site DHCP server knows nothing of booting', true],
      ['dnsmasq', /PXE\(br0\) 52:54:00:e2:e0:02 proxy/, 'the proxy answered'],
    ],
    sent: { ipxe: bootUrl },
  },
  {
    title: 'dnsmasq proxy recipe, uefi-pxe by-uuid',
    machine: byUuid,
    firmware: 'uefi-pxe',
    recipe: 'proxy',
    beside: true,
    logs: [
      ['dhcp server', /DHCPACK\(eth0\) 192\.168\.1\.\d+ 52:54:00:e2:e0:01/, 'the site DHCP server gave the address'],
      ['dnsmasq', tftp('ipxe.efi'), 'the proxy sent ipxe.efi over TFTP'],
    ],
    sent: { ipxe: bootUrl, pxe: 'ipxe.efi' },
  },
  // The same boot with either server answering Pixiecore's API and serving the images.
  ...(['bootcfg', 'nginx'] as const).map(
    (server): NetCase => ({
      title: `real Pixiecore${server === 'nginx' ? ' via nginx' : ''}, bios by-mac`,
      machine: byMac,
      firmware: 'bios',
      recipe: 'pixiecore',
      beside: true,
      server,
      logs: [['pixiecore', /Offering to boot 52:54:00:e2:e0:02/, 'Pixiecore offered to boot the machine bootcfg knows']],
    }),
  ),
  {
    title: 'real Pixiecore, bios unknown without a default',
    machine: unknown,
    firmware: 'bios',
    recipe: 'pixiecore',
    beside: true,
    refused: true,
    logs: [['pixiecore', /Offering to boot/, 'Pixiecore offered nothing', true]],
  },
  // No UEFI case: this Pixiecore's built-in ipxe.efi, sent to OVMF's PXE over TFTP, stops at
  // "Could not start download: Operation not supported" before asking for its script; the UEFI
  // Pixiecore boot stays with the stand-in (boot.test.ts). docs/e2e.md says so.
];

/** Without root, dnsmasq, Pixiecore (or nginx, for its case) these skip locally; under CI=true they run, and fail. */
function skip(c?: NetCase): string | false {
  const reason =
    netnsSkipReason() ??
    (existsSync(pixiecoreBinary) ? undefined : `no ${pixiecoreBinary}`) ??
    (c?.server === 'nginx' ? nginxSkipReason() : undefined);
  return reason && !process.env.CI ? `${reason} (under CI=true this fails instead)` : false;
}

function selected(): boolean {
  const only = process.env.E2E_SERVERS?.split(',');
  return !only || only.includes('netpath');
}

let work = '';
/** Two builds: with a default (dnsmasq cases) and without one (Pixiecore must refuse the unknown MAC). */
const dists = { withDefault: { dist: '', images: '' }, noDefault: { dist: '', images: '' } };
const timings: string[] = [];

before(async () => {
  if (!selected() || skip()) return;
  const missing = missingPrerequisites();
  assert.deepEqual(missing, [], `e2e prerequisites missing:\n${missing.join('\n')}`);
  work = await mkdtemp(join(tmpdir(), 'bootcfg-e2e-net-'));
  for (const [key, withDefault] of [['withDefault', true], ['noDefault', false]] as const) {
    const fx = await fixture(join(work, key), { cloudBase: `http://${bootcfgAddress}`, withDefault });
    dists[key] = { dist: join(work, key, 'dist'), images: fx.imagesPath };
    await bootcfgBuild(fx.dataPath, dists[key].dist);
  }
});

after(async () => {
  if (timings.length) console.log(`network-path boot times:\n${timings.join('\n')}`);
  if (work && !process.env.E2E_KEEP) await rm(work, { recursive: true, force: true });
});

/** Resolves once `ready` holds, or rejects when the child exits first or 20 s pass. */
async function until(child: ChildProcess, what: string, ready: () => Promise<boolean>, output: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await ready()) return;
    if (child.exitCode !== null || child.signalCode !== null) break;
    await sleep(100);
  }
  throw new Error(`${what} did not start:\n${output()}`);
}

function collect(child: ChildProcess): () => string {
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (out += c));
  return () => out;
}

/** dnsmasq in the foreground with `config` (which logs to `log`), inside `ns`. */
async function startDnsmasq(seg: Segment, log: string, config: string, ns?: string): Promise<void> {
  const conf = log.replace(/\.log$/, '.conf');
  const name = conf.split('/').pop() ?? conf;
  await writeFile(conf, config);
  // -k: a child of ours; no pid file (cases run side by side); root, so it reads the case's 0700 folder.
  const child = seg.spawn('dnsmasq', ['--keep-in-foreground', `--conf-file=${conf}`, '--pid-file=', '--user=root'], ns);
  const output = collect(child);
  await until(child, name, async () => (await readFile(log, 'utf8').catch(() => '')).includes('started, version'), output);
}

async function tftpRoot(dir: string): Promise<string> {
  const root = join(dir, 'tftpboot');
  await mkdir(root, { recursive: true });
  for (const f of ['undionly.kpxe', 'ipxe.efi']) await copyFile(join('/usr/lib/ipxe', f), join(root, f));
  return root;
}

/** The script Pixiecore must have sent, as its source builds it (pixiecore.ts) from bootcfg's answer. */
async function pixiecoreExpected(dist: string, m: Machine): Promise<string | undefined> {
  const answer = await readFile(join(dist, 'current', distFile(`pixiecore/mac/${hexhyp(m.mac)}`)), 'utf8').catch(() => undefined);
  if (answer === undefined) return undefined;
  return ipxeScript(bootSpec(`http://${bootcfgAddress}/pixiecore`, JSON.parse(answer), segment.bridge), m.mac, segment.bridge);
}

async function runCase(c: NetCase, dir: string): Promise<{ boot: Boot; found: string[] }> {
  const seg = await Segment.create();
  const logs: Record<string, string> = {};
  const extra: Record<string, string> = {};
  const { dist, images } = c.refused || c.recipe === 'pixiecore' ? dists.noDefault : dists.withDefault;
  let server: RunningServer | undefined;
  try {
    const tap = await seg.addTap();
    server = await startServer(c.server ?? 'bootcfg', dist, images, { segment: seg, address: bootcfgAddress });
    if (c.beside) {
      const host = await seg.addHost(segment.host);
      logs['dhcp server'] = join(dir, 'dhcp-server.log');
      const site = { iface: 'eth0', logFile: logs['dhcp server'], leaseFile: join(dir, 'dhcp-server.leases'), pool: true };
      await startDnsmasq(seg, logs['dhcp server'], dnsmasqConfig(undefined, site), host);
    }
    let pixiecore: (() => string) | undefined;
    if (c.recipe === 'pixiecore') {
      const args = pixiecoreArgs();
      extra['pixiecore command'] = `pixiecore ${args.join(' ')}`;
      const child = seg.spawn(pixiecoreBinary, args);
      pixiecore = collect(child);
      const out = pixiecore;
      await until(child, 'pixiecore', async () => out().includes('Starting Pixiecore'), out);
    } else {
      logs.dnsmasq = join(dir, 'dnsmasq.log');
      const site = { iface: 'br0', logFile: logs.dnsmasq, leaseFile: join(dir, 'dnsmasq.leases'), pool: !c.beside, tftpRoot: await tftpRoot(dir) };
      const config = dnsmasqConfig(readmeRecipe(c.recipe), site);
      extra['dnsmasq.conf'] = config;
      await startDnsmasq(seg, logs.dnsmasq, config);
    }
    const vm = await bootVm({ firmware: c.firmware, uuid: c.machine.uuid, mac: c.machine.mac, tap: { ns: seg.ns, ifname: tap }, workDir: dir });
    // Closing completes the request log (nginx's is read from its file then).
    await server.close();
    await seg.destroy();
    for (const [name, file] of Object.entries(logs)) extra[name] = await readFile(file, 'utf8').catch(() => '');
    if (pixiecore) extra.pixiecore = pixiecore();
    extra['server stderr'] = server.stderr();
    await writeFile(join(dir, 'requests.log'), `${server.log}\n`);
    const boot: Boot = {
      machine: c.machine,
      firmware: c.firmware,
      via: c.recipe === 'pixiecore' ? 'pixiecore' : 'chain',
      vm,
      log: server.log,
      extra,
      distPath: dist,
      pixiecoreScript: c.recipe === 'pixiecore' ? await pixiecoreExpected(dist, c.machine) : undefined,
      realPixiecore: c.recipe === 'pixiecore',
    };
    const found = c.refused ? notBootedProblems(boot) : await problems(boot);
    for (const [log, pattern, why, absent] of c.logs) {
      if (pattern.test(extra[log] ?? '') === Boolean(absent)) found.push(`${log} log: ${absent ? 'has' : 'lacks'} ${pattern} (${why})`);
    }
    if (c.sent) found.push(...sentProblems(extra.dnsmasq ?? '', c.sent));
    return { boot, found };
  } finally {
    await server?.close();
    await seg.destroy();
  }
}

describe('the README network recipes boot on a segment of their own', { concurrency: jobs, skip: !selected() }, () => {
  for (const c of cases) {
    it(c.title, { skip: skip(c) }, async (t) => {
      const dir = join(work, 'vm', c.title.replaceAll(/[^\w.-]+/g, '_'));
      await mkdir(dir, { recursive: true });
      const { boot, found } = await runCase(c, dir);
      timings.push(`  ${c.title.padEnd(46)} ${(boot.vm.ms / 1000).toFixed(1)} s`);
      t.diagnostic(`boot ${(boot.vm.ms / 1000).toFixed(1)} s`);
      if (found.length) assert.fail(report(boot, found));
    });
  }
});
