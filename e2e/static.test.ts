// Issue 12's proof (docs/e2e.md "Static publishing"): real iPXE guests boot from a plain static
// server that knows nothing of bootcfg, serving the tree `bootcfg publish` wrote. Every machine
// (by uuid, by MAC, unknown) under BIOS and UEFI boots from busybox httpd and must get its own
// kernel arguments and its own cloud config, from the URL resolved at publish time; then a
// rollback: publish A, boot; publish B, boot; `bootcfg publish --rollback` to A, boot.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { guestHosts, jobs, missingPrerequisites } from './config.js';
import { report } from './expect.js';
import { baseUrl, entryRevision, staticProblems, type StaticBoot } from './expect-static.js';
import { fixture, machines, type Machine } from './machines.js';
import { nginxSkip } from './nginx.js';
import { bootVm, type Firmware, type VmResult } from './qemu.js';
import { bootcfgPublish, bootcfgRollback } from './servers.js';
import { startStatic, type StaticKind } from './static-server.js';

const selected = !process.env.E2E_SERVERS || process.env.E2E_SERVERS.split(',').includes('static');

let work = '';
const timings: string[] = [];

before(async () => {
  if (!selected) return;
  const missing = missingPrerequisites();
  assert.deepEqual(missing, [], `e2e prerequisites missing:\n${missing.join('\n')}`);
  work = await mkdtemp(join(tmpdir(), 'bootcfg-e2e-static-'));
});

after(async () => {
  if (timings.length) console.log(`boot times (static):\n${timings.join('\n')}`);
  if (work && !process.env.E2E_KEEP) await rm(work, { recursive: true, force: true });
});

/** Writes the fleet's data (version `label`) under root and publishes it to root/published. */
async function publish(root: string, label?: string): Promise<string> {
  const fx = await fixture(root, { label });
  const dest = join(root, 'published');
  await bootcfgPublish(fx.dataPath, fx.imagesPath, dest, baseUrl);
  return dest;
}

interface BootOptions {
  machine: Machine;
  firmware: Firmware;
  server: StaticKind;
  publishPath: string;
  title: string;
  label?: string;
}

/** One VM, from a static server started for it alone (so its request log is this VM's). */
async function boot(o: BootOptions): Promise<StaticBoot> {
  const vmDir = join(work, 'vm', o.title.replaceAll(/[^\w.-]+/g, '_'));
  await mkdir(vmDir, { recursive: true });
  const revision = await entryRevision(o.publishPath);
  const server = await startStatic(o.server, o.publishPath);
  let vm: VmResult;
  try {
    vm = await bootVm({
      firmware: o.firmware,
      uuid: o.machine.uuid,
      mac: o.machine.mac,
      bootfile: `${baseUrl}/boot.ipxe`,
      forwards: [{ guestHost: guestHosts.bootcfg, port: server.port }],
      workDir: vmDir,
    });
  } finally {
    await server.close();
    await writeFile(join(vmDir, 'requests.log'), `${server.log}\n`);
  }
  const extra = { [`${o.server} stderr`]: server.stderr(), 'entry point (boot.ipxe)': await readFile(join(o.publishPath, 'boot.ipxe'), 'utf8') };
  return { machine: o.machine, firmware: o.firmware, vm, log: server.log, extra, publishPath: o.publishPath, revision, label: o.label };
}

async function bootAndCheck(t: TestContext, o: BootOptions): Promise<StaticBoot> {
  const b = await boot(o);
  timings.push(`  ${o.title.padEnd(40)} ${(b.vm.ms / 1000).toFixed(1)} s`);
  t.diagnostic(`${o.title}: boot ${(b.vm.ms / 1000).toFixed(1)} s, revision ${b.revision}`);
  const found = await staticProblems(b);
  if (found.length) assert.fail(report(b, found));
  return b;
}

describe('iPXE in QEMU boots from a published tree on a plain static server', { concurrency: jobs, skip: !selected }, () => {
  let published: Promise<string> | undefined;
  // Published once, by the first case that needs it (before() hooks of a describe run even when
  // every case is filtered out by --test-name-pattern).
  const tree = (): Promise<string> => (published ??= publish(join(work, 'fleet')));
  for (const firmware of ['bios', 'uefi'] as const) {
    for (const machine of machines) {
      const title = `static busybox ${firmware} ${machine.name}`;
      it(title, async (t) => {
        await bootAndCheck(t, { machine, firmware, server: 'busybox', publishPath: await tree(), title });
      });
    }
  }
});

/** Every file under a published folder, with what a rewrite changes (inode, size, mtime). */
async function stamps(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const s = await stat(path);
    out.set(relative(root, path), `${s.ino}:${s.size}:${s.mtimeMs}`);
  }
  return out;
}

/** Files added, removed or rewritten between two stamps(), sorted. */
function changes(a: Map<string, string>, b: Map<string, string>): string[] {
  return [...new Set([...a.keys(), ...b.keys()])].filter((f) => a.get(f) !== b.get(f)).sort();
}

describe('rolling back a published tree is rewriting its entry point', { skip: !selected || nginxSkip() }, () => {
  const [machine] = machines as [Machine];
  it('static nginx-root bios rollback: A, then B, then A again (publish --rollback)', async (t) => {
    const root = join(work, 'rollback');
    const dest = await publish(root, 'A');
    const revA = await entryRevision(dest);
    const entryA = await readFile(join(dest, 'boot.ipxe'));
    const base = { machine, firmware: 'bios', server: 'nginx-root', publishPath: dest } as const;
    await bootAndCheck(t, { ...base, title: 'static rollback 1 (A)', label: 'A' });

    await publish(root, 'B');
    const revB = await entryRevision(dest);
    assert.notEqual(revB, revA, 'publishing changed data did not make a new revision');
    await bootAndCheck(t, { ...base, title: 'static rollback 2 (B)', label: 'B' });

    // The contract's rollback: the entry point is rewritten to what A's publish wrote, and no
    // revision or image is touched (revs/<A>/ was left in place by B's publish).
    const before = await stamps(dest);
    await bootcfgRollback(dest, revA);
    assert.deepEqual(await readFile(join(dest, 'boot.ipxe')), entryA, 'the rolled-back entry point differs from the one A was published with');
    const changed = changes(before, await stamps(dest));
    assert.deepEqual(changed.filter((f) => (f.startsWith('revs/') && f.split('/').length > 2) || f.startsWith('images/')), [], 'rollback wrote into a revision or the images');
    await bootAndCheck(t, { ...base, title: 'static rollback 3 (A again)', label: 'A' });
  });
});
