// The e2e suite (`make e2e`, never part of `make test`): real iPXE clients in QEMU boot through
// bootcfg. Each case starts its own server, so the request log it checks holds its VM's requests
// only, and boots one VM; cases run E2E_JOBS at a time (default 2, CI has two cores).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { guestHosts, jobs, missingPrerequisites } from './config.js';
import { problems, report, type Boot } from './expect.js';
import { fixture, machines, type Machine } from './machines.js';
import { nginxSkip } from './nginx.js';
import { startPixiecore } from './pixiecore.js';
import { bootVm, type Firmware, type Forward, type VmResult } from './qemu.js';
import { bootcfgBuild, startServer, type ServerKind } from './servers.js';

interface Case {
  machine: Machine;
  firmware: Firmware;
  server: ServerKind;
  via: Boot['via'];
}

const firmwares = ['bios', 'uefi', 'lkrn'] as const;

/** Every firmware boots every machine from bootcfg serve; nginx and Pixiecore get a cross-section. */
function cases(): Case[] {
  const out: Case[] = [];
  for (const firmware of firmwares) {
    for (const machine of machines) out.push({ machine, firmware, server: 'bootcfg', via: 'chain' });
  }
  for (const machine of machines) out.push({ machine, firmware: 'bios', server: 'nginx', via: 'chain' });
  const [byUuid, byMac] = machines;
  if (byUuid) out.push({ machine: byUuid, firmware: 'uefi', server: 'nginx', via: 'chain' });
  if (byMac) out.push({ machine: byMac, firmware: 'lkrn', server: 'nginx', via: 'chain' });
  // Pixiecore knows machines by MAC only. Under UEFI it names the initrds itself (initrd0…),
  // which is why the Pixiecore answer carries no initrd= of its own.
  for (const machine of machines.filter((m) => m.known !== 'uuid')) {
    out.push({ machine, firmware: 'bios', server: 'bootcfg', via: 'pixiecore' });
  }
  if (byMac) out.push({ machine: byMac, firmware: 'uefi', server: 'bootcfg', via: 'pixiecore' });
  const only = process.env.E2E_SERVERS?.split(',');
  return only ? out.filter((c) => only.includes(c.via === 'pixiecore' ? 'pixiecore' : c.server)) : out;
}

let work = '';
let distPath = '';
let imagesPath = '';
const timings: string[] = [];

before(async () => {
  const missing = missingPrerequisites();
  assert.deepEqual(missing, [], `e2e prerequisites missing:\n${missing.join('\n')}`);
  work = await mkdtemp(join(tmpdir(), 'bootcfg-e2e-'));
  const fx = await fixture(work);
  imagesPath = fx.imagesPath;
  distPath = join(work, 'dist');
  await bootcfgBuild(fx.dataPath, distPath);
});

after(async () => {
  console.log(`boot times:\n${timings.join('\n')}`);
  if (work && !process.env.E2E_KEEP) await rm(work, { recursive: true, force: true });
});

async function run(c: Case, title: string): Promise<Boot> {
  const vmDir = join(work, 'vm', title.replaceAll(/[^\w.-]+/g, '_'));
  await mkdir(vmDir, { recursive: true });
  const server = await startServer(c.server, distPath, imagesPath);
  const pixie = c.via === 'pixiecore' ? await startPixiecore(`${server.url}/pixiecore`) : undefined;
  let vm: VmResult;
  try {
    const forwards: Forward[] = [{ guestHost: guestHosts.bootcfg, port: server.port }];
    let bootfile = `http://${guestHosts.bootcfg}/boot.ipxe`;
    if (pixie) {
      // As Pixiecore's DHCP answers an iPXE client.
      forwards.push({ guestHost: guestHosts.pixiecore, port: pixie.port });
      bootfile = `http://${guestHosts.pixiecore}/_/ipxe?arch=0&mac=${c.machine.mac}`;
    }
    vm = await bootVm({ firmware: c.firmware, uuid: c.machine.uuid, mac: c.machine.mac, bootfile, forwards, workDir: vmDir });
  } finally {
    // Closing completes the logs (nginx's is read from its file then).
    await pixie?.close();
    await server.close();
    await writeFile(join(vmDir, 'requests.log'), `${server.log}\n${pixie ? `--- Pixiecore ---\n${pixie.log}\n` : ''}`);
  }
  const extra: Record<string, string> = { 'server stderr': server.stderr() };
  if (pixie) extra['Pixiecore stand-in log'] = pixie.log.toString();
  const pixiecoreScript = pixie?.scripts.get(c.machine.mac);
  return { machine: c.machine, firmware: c.firmware, via: c.via, vm, log: server.log, extra, distPath, pixiecoreScript };
}

describe('iPXE in QEMU boots through bootcfg', { concurrency: jobs }, () => {
  for (const c of cases()) {
    const title = `${c.via === 'pixiecore' ? 'pixiecore' : c.server} ${c.firmware} ${c.machine.name}`;
    it(title, { skip: c.server === 'nginx' ? nginxSkip() : false }, async (t) => {
      const boot = await run(c, title);
      timings.push(`  ${title.padEnd(28)} ${(boot.vm.ms / 1000).toFixed(1)} s`);
      t.diagnostic(`boot ${(boot.vm.ms / 1000).toFixed(1)} s`);
      const found = await problems(boot);
      if (found.length) assert.fail(report(boot, found));
    });
  }
});
