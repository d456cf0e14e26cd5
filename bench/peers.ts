// The serving benchmark's peers (../shared/peers/, see its README): the 2015 CoreOS bootcfg,
// which this project re-creates, and matchbox v0.9.0, what it became. Each is started on
// 127.0.0.1 over the same fleet in its own data format, and left out (with the reason) when
// its binary is absent:
//   - the 2015 bootcfg reads fleet.ts's data directory as it is (boot/ and cloud/ by uuid and
//     mac, and defaults: the seed layout), every file on every request;
//   - matchbox gets the same machines as one profile and one group each (selector uuid or mac),
//     the same kernel, initrds and arguments, and a cloud-config template with the machine's
//     metadata. It has no Pixiecore API: that fifth of the URL mix answers 404 there (counted).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mapLimit } from '../src/build/pool.js';
import { freePort } from '../test/conformance/nginx.js';
import { machine, type Machine } from './fleet.js';
import { ROOT } from './proc.js';

const PEERS = join(ROOT, '../shared/peers');
export const BOOTCFG_2015 = join(PEERS, 'bootcfg-2015');
export const MATCHBOX = join(PEERS, 'matchbox-v0.9.0');

export interface Peer {
  url: string;
  /** The peer's process ids (for RSS). */
  pids: number[];
  stop(): Promise<void>;
}

/** Why a peer cannot run here, or undefined when it can. */
export function missing(binary: string): string | undefined {
  return existsSync(binary) ? undefined : `${binary.replace(`${ROOT}`, '')} not found`;
}

/** The 2015 bootcfg over fleet.ts's data directory (it needs an images directory too). */
export function start2015(dataPath: string, imagesPath: string): Promise<Peer> {
  // Its Go 1.19 build refuses "127.0.0.1:PORT" at start-up; "localhost:PORT" listens on 127.0.0.1.
  return startPeer((port) => [BOOTCFG_2015, [`-address=localhost:${port}`, `-data-path=${dataPath}`, `-images-path=${imagesPath}`, '-log-level=warning']], '/boot.ipxe');
}

/** matchbox v0.9.0 over a matchbox data directory (writeMatchboxFleet), /assets off. */
export function startMatchbox(dataPath: string): Promise<Peer> {
  return startPeer((port) => [MATCHBOX, [`-address=127.0.0.1:${port}`, `-data-path=${dataPath}`, '-assets-path=', '-log-level=warn']], '/');
}

/** Starts a peer on a free port and waits (bounded) until it answers `probe` on 127.0.0.1. */
async function startPeer(command: (port: number) => [string, string[]], probe: string): Promise<Peer> {
  const port = await freePort();
  const [binary, args] = command(port);
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) break;
    const ok = await fetch(url + probe).then((r) => r.arrayBuffer().then(() => r.status < 500), () => false);
    if (ok) return { url, pids: [child.pid!], stop };
    await sleep(50);
  }
  await stop();
  throw new Error(`${binary} did not answer on ${url}:\n${stderr}`);
}

/** A matchbox data directory holding the same fleet as fleet.ts writes (stamped: written once). */
export async function writeMatchboxFleet(dir: string, count: number): Promise<void> {
  const stamp = join(dir, `.fleet-${count}-v1`);
  if (existsSync(stamp)) return;
  await rm(dir, { recursive: true, force: true });
  for (const sub of ['profiles', 'groups', 'cloud']) await mkdir(join(dir, sub), { recursive: true });
  await writeFile(join(dir, 'cloud/node.yaml'), CLOUD_TEMPLATE);
  await writeFile(join(dir, 'profiles/default.json'), JSON.stringify({
    id: 'default',
    boot: { kernel: '/images/fedora-coreos/41/vmlinuz', initrd: ['/images/fedora-coreos/41/initramfs.img'], args: ['console=ttyS0,115200n8', 'coreos.live.rootfs_url=/images/fedora-coreos/41/rootfs.img', 'bench.tag=v1'] },
    cloud_id: 'node.yaml',
  }));
  await writeFile(join(dir, 'groups/default.json'), JSON.stringify({ id: 'default', profile: 'default', metadata: { hostname: 'unprovisioned', fqdn: 'unprovisioned', index: '-' } }));
  const indexes = Array.from({ length: count }, (_, i) => i);
  await mapLimit(indexes, 64, async (i) => {
    const m = machine(i);
    await writeFile(join(dir, `profiles/node-${i}.json`), JSON.stringify(profileOf(m)));
    await writeFile(join(dir, `groups/node-${i}.json`), JSON.stringify(groupOf(m)));
  });
  await writeFile(stamp, '');
}

/** fleet.ts's bootConfig(m) as a matchbox profile: the same kernel, initrds and arguments. */
function profileOf(m: Machine): object {
  return {
    id: `node-${m.index}`,
    boot: {
      kernel: '/images/fedora-coreos/41/vmlinuz',
      initrd: ['/images/fedora-coreos/41/initramfs.img', '/images/fedora-coreos/41/rootfs.img'],
      args: ['console=ttyS0,115200n8', 'coreos.inst.install_dev=/dev/sda', `ignition.config.url=http://bootcfg.example/cloud?uuid=${m.uuid}&mac=${m.mac}`, `hostname=node-${m.index}`, 'bench.tag=v1'],
    },
    cloud_id: 'node.yaml',
  };
}

function groupOf(m: Machine): object {
  const selector = m.keyedBy === 'uuid' ? { uuid: m.uuid } : { mac: m.mac.replaceAll('-', ':') };
  return { id: `node-${m.index}`, profile: `node-${m.index}`, selector, metadata: { hostname: `node-${m.index}`, fqdn: `node-${m.index}.rack${Math.floor(m.index / 40)}.example`, index: String(m.index) } };
}

/** fleet.ts's cloudConfig(m) as a Go template over the group's metadata. */
const CLOUD_TEMPLATE = `#cloud-config
hostname: {{.hostname}}
fqdn: {{.fqdn}}
# bench tag v1
ssh_authorized_keys:
  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG3h0mKxJ7qZ8yVh2Cq0b2n3x4y5z6A7B8C9D0E1F2G3 ops@example
write_files:
  - path: /etc/machine-index
    content: "{{.index}}\\n"
runcmd:
  - [systemctl, enable, --now, node-exporter.service]
`;
