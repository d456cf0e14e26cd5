// The e2e suite (`make e2e`, never part of `make test`): real iPXE clients in QEMU boot through
// bootcfg. Each case starts its own server, so the request log it checks holds its VM's requests
// only, and boots one VM; cases run E2E_JOBS at a time (default 2, CI has two cores).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { guestHosts, jobs, missingPrerequisites } from './config.js';
import { problems, report, type Boot } from './expect.js';
import { fixture, machines, type Machine } from './machines.js';
import { startPixiecore } from './pixiecore.js';
import { bootVm, type Firmware, type Forward } from './qemu.js';
import { bootcfgBuild, startServer, type RunningServer, type ServerKind } from './servers.js';
import { startStub, stubBuild } from './stub.js';

interface Case {
  machine: Machine;
  firmware: Firmware;
  server: ServerKind;
  via: Boot['via'];
}

const stub = process.env.E2E_STUB === '1';
const servers: ServerKind[] = (process.env.E2E_SERVERS ?? 'bootcfg').split(',') as ServerKind[];

function cases(): Case[] {
  const out: Case[] = [];
  for (const server of servers) {
    for (const firmware of ['bios', 'uefi', 'lkrn'] as const) {
      for (const machine of machines) out.push({ machine, firmware, server, via: 'chain' });
    }
  }
  // Pixiecore knows machines by MAC only; BIOS is enough to prove the API answer boots.
  for (const machine of machines.filter((m) => m.known !== 'uuid')) {
    out.push({ machine, firmware: 'bios', server: 'bootcfg', via: 'pixiecore' });
  }
  return out;
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
  if (stub) await stubBuild(distPath);
  else await bootcfgBuild(fx.dataPath, distPath);
});

after(async () => {
  console.log(`boot times:\n${timings.join('\n')}`);
  if (work && !process.env.E2E_KEEP) await rm(work, { recursive: true, force: true });
});

function start(kind: ServerKind): Promise<RunningServer> {
  return stub ? startStub(distPath, imagesPath) : startServer(kind, distPath, imagesPath);
}

async function run(c: Case, title: string): Promise<Boot> {
  const vmDir = join(work, 'vm', title.replaceAll(/[^\w.-]+/g, '_'));
  await mkdir(vmDir, { recursive: true });
  const server = await start(c.server);
  const pixie = c.via === 'pixiecore' ? await startPixiecore(`${server.url}/pixiecore`) : undefined;
  try {
    const forwards: Forward[] = [{ guestHost: guestHosts.bootcfg, port: server.port }];
    let bootfile = `http://${guestHosts.bootcfg}/boot.ipxe`;
    if (pixie) {
      forwards.push({ guestHost: guestHosts.pixiecore, port: pixie.port });
      bootfile = `http://${guestHosts.pixiecore}/_/ipxe?arch=0&mac=${c.machine.mac}`;
    }
    const vm = await bootVm({ firmware: c.firmware, uuid: c.machine.uuid, mac: c.machine.mac, bootfile, forwards, workDir: vmDir });
    const extra: Record<string, string> = { 'server stderr': server.stderr() };
    if (pixie) extra['Pixiecore stand-in log'] = pixie.log.toString();
    return {
      machine: c.machine,
      firmware: c.firmware,
      via: c.via,
      vm,
      log: server.log,
      extra,
      distPath,
      pixiecoreScript: pixie?.scripts.get(c.machine.mac),
    };
  } finally {
    await pixie?.close();
    await server.close();
  }
}

describe('iPXE in QEMU boots through bootcfg', { concurrency: jobs }, () => {
  for (const c of cases()) {
    const title = `${c.via === 'pixiecore' ? 'pixiecore' : c.server} ${c.firmware} ${c.machine.name}`;
    it(title, async (t) => {
      const boot = await run(c, title);
      timings.push(`  ${title.padEnd(28)} ${(boot.vm.ms / 1000).toFixed(1)} s`);
      t.diagnostic(`boot ${(boot.vm.ms / 1000).toFixed(1)} s`);
      const found = await problems(boot);
      if (found.length) assert.fail(report(boot, found));
    });
  }
});
