// UEFI GRUB network boot through bootcfg (issue 10, `make e2e`): OVMF's own PXE loads a GRUB
// netboot image over QEMU's TFTP, built here with Debian's grub-mkimage and the embedded config
// docs/grub.md prints (only the address changed); GRUB fetches /grub with the SMBIOS UUID, the
// MAC and its cpu, loads kernel and initrd from /images/ over HTTP and boots them. The guest
// prints the command line it got (GRUB's variables filled in) and fetches its cloud config.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { queryOf, type AccessLog } from './access-log.js';
import { guestHosts, jobs, missingPrerequisites, repoRoot } from './config.js';
import { cloudBody, keyOf, servedFrom } from './expect.js';
import { cloudConfig, dataName, fixture, initrdPath, kernelPath, machines, type Machine } from './machines.js';
import { nginxSkip } from './nginx.js';
import { bootVm, type VmResult } from './qemu.js';
import { bootcfgBuild, startServer, type ServerKind } from './servers.js';

const GRUB_MODULES = '/usr/lib/grub/x86_64-efi';
/** The modules docs/grub.md's grub-mkimage line names. */
const MODULES = ['efinet', 'http', 'tftp', 'net', 'linux', 'normal', 'configfile', 'echo', 'smbios', 'test'];
const DOC_ADDRESS = '192.168.1.10:8080';

/** docs/grub.md's embedded config, pointed at the guestfwd address that reaches the server under test. */
function embeddedConfig(): string {
  const doc = readFileSync(join(repoRoot, 'docs', 'grub.md'), 'utf8');
  const block = /^```\n# grub.cfg embedded in the netboot image[^\n]*\n([\s\S]*?)^```$/m.exec(doc)?.[1];
  if (!block?.includes(DOC_ADDRESS)) throw new Error('docs/grub.md has no embedded grub.cfg block naming 192.168.1.10:8080');
  const mkimage = doc.split('\n').find((l) => l.startsWith('  -c embedded.cfg '));
  assert.deepEqual(mkimage?.trim().split(/\s+/).slice(2), MODULES, 'docs/grub.md\'s grub-mkimage modules');
  return block.replaceAll(DOC_ADDRESS, guestHosts.bootcfg);
}

async function grubImage(dir: string): Promise<void> {
  const cfg = join(dir, 'embedded.cfg');
  await writeFile(cfg, embeddedConfig());
  await promisify(execFile)('grub-mkimage', ['-O', 'x86_64-efi', '-o', join(dir, 'grubx64.efi'), '-p', `(http,${guestHosts.bootcfg})/`, '-c', cfg, ...MODULES]);
}

interface Case {
  machine: Machine;
  server: ServerKind;
}

/** One boot per machine; the MAC-known one through nginx. E2E_SERVERS=…,grub,… selects these cases. */
const only = process.env.E2E_SERVERS?.split(',');
const cases: Case[] = only && !only.includes('grub') ? [] : machines.map((machine, i) => ({ machine, server: i === 1 ? 'nginx' : 'bootcfg' }));

let work = '';
let distPath = '';
let imagesPath = '';
let tftpRoot = '';

before(async () => {
  if (cases.length === 0) return;
  const missing = missingPrerequisites();
  if (!existsSync(GRUB_MODULES) || !existsSync('/usr/bin/grub-mkimage')) missing.push(`${GRUB_MODULES} and grub-mkimage (make grub-deps)`);
  assert.deepEqual(missing, [], `e2e prerequisites missing:\n${missing.join('\n')}`);
  work = await mkdtemp(join(tmpdir(), 'bootcfg-e2e-grub-'));
  const fx = await fixture(work);
  imagesPath = fx.imagesPath;
  distPath = join(work, 'dist');
  await bootcfgBuild(fx.dataPath, distPath);
  tftpRoot = join(work, 'tftp');
  await mkdir(tftpRoot);
  await grubImage(tftpRoot);
});

after(async () => {
  if (work && !process.env.E2E_KEEP) await rm(work, { recursive: true, force: true });
});

/** Everything one GRUB boot must show; all problems at once. */
function problems(m: Machine, vm: VmResult, log: AccessLog): string[] {
  const out: string[] = [];
  const check = (ok: boolean, problem: string): void => void (ok || out.push(problem));
  check(vm.serial.includes('>>Start PXE over IPv4') && vm.serial.includes('Welcome to GRUB!'), 'OVMF\'s PXE did not start GRUB');
  check(vm.end === 'poweroff' && vm.serial.includes('E2E-DONE'), `the guest did not finish (${vm.end})`);
  const grub = log.to('/grub');
  check(grub.length === 1, `/grub was asked ${grub.length} times, not once`);
  const asked = grub[0];
  if (asked) {
    const q = queryOf(asked.url);
    check(q.get('uuid') === m.uuid && q.get('mac') === m.mac && q.get('arch') === 'x86_64', `GRUB did not send this machine's SMBIOS UUID, MAC and cpu: ${asked.url}`);
    check(asked.status === 200 && (asked.file === undefined || servedFrom(asked.file, `grub/${keyOf(m, 'ipxe')}`)), `/grub answered ${asked.status} from ${asked.file}, not grub/${keyOf(m, 'ipxe')}`);
  }
  check(log.to(kernelPath).length === 1 && log.to(initrdPath).length === 1, 'kernel and initrd were not each fetched once from /images/');
  const cmdline = /E2E-CMDLINE: (.*)/.exec(vm.serial)?.[1] ?? '';
  const words = cmdline.split(' ');
  for (const word of [`e2e.machine=${dataName(m)}`, `cloud-config-url=http://${guestHosts.bootcfg}/cloud?uuid=${m.uuid}&mac=${m.mac}`, 'console=ttyS0', `e2e.mac=${m.mac}`]) {
    check(words.includes(word), `the kernel did not get ${word}: ${cmdline}`);
  }
  check(cloudBody(vm.serial)?.trimEnd() === cloudConfig(m).trimEnd(), `the guest got the wrong cloud config:\n${cloudBody(vm.serial) ?? '(none)'}`);
  return out;
}

describe('UEFI GRUB in QEMU boots through bootcfg (/grub)', { concurrency: jobs }, () => {
  for (const c of cases) {
    const title = `grub ${c.server} uefi-pxe ${c.machine.name}`;
    it(title, { skip: c.server === 'nginx' ? nginxSkip() : false }, async (t) => {
      const vmDir = join(work, 'vm', title.replaceAll(/[^\w.-]+/g, '_'));
      await mkdir(vmDir, { recursive: true });
      const server = await startServer(c.server, distPath, imagesPath);
      let vm: VmResult;
      try {
        vm = await bootVm({ firmware: 'uefi-pxe', uuid: c.machine.uuid, mac: c.machine.mac, tftpRoot, bootfile: 'grubx64.efi', forwards: [{ guestHost: guestHosts.bootcfg, port: server.port }], workDir: vmDir });
      } finally {
        await server.close();
      }
      t.diagnostic(`boot ${(vm.ms / 1000).toFixed(1)} s`);
      const found = problems(c.machine, vm, server.log);
      if (found.length) {
        const tail = vm.serial.split('\n').slice(-40).join('\n');
        assert.fail([`${found.length} problem(s):`, ...found.map((p) => `- ${p}`), `--- serial (${vm.end}) ---`, tail, '--- request log ---', server.log.toString(), '--- server stderr ---', server.stderr()].join('\n'));
      }
    });
  }
});
