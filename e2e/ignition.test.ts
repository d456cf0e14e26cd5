// The Ignition boots of the e2e suite (`make e2e`; docs/e2e.md, "Ignition"): a QEMU guest boots
// through iPXE with ignition.config.url pointing at bootcfg's /ignition, runs Debian's real
// Ignition binary (fetch and files stages, platform metal, a tmpfs root), and prints what it
// wrote. Each machine (by uuid, by MAC, unknown) must find exactly its own config written: every
// file, directory, link, unit, dropin and preset, with its contents, mode and owner. Through
// `bootcfg serve` and through nginx with the generated block; each case has a server of its own.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { queryOf } from './access-log.js';
import { guestHosts, ignitionInitrdFile, jobs, missingPrerequisites } from './config.js';
import { bootProblems, keyOf, report, servedFrom, type Boot } from './expect.js';
import { expectedListing, ignitionFixture, ignitionSpec, resultFile } from './ignition-fleet.js';
import { hexhyp, machines, type Machine } from './machines.js';
import { nginxSkip } from './nginx.js';
import { bootVm } from './qemu.js';
import { bootcfgBuild, startServer, type ServerKind } from './servers.js';
import { ignitionValidate, tool } from '../test/butane-peer.js';
import { distFile } from '../src/compile/shapes.js';

const servers: ServerKind[] = ['bootcfg', 'nginx'];

/** E2E_SERVERS=ignition (or a list holding it) runs these cases; unset runs everything. */
function selected(): boolean {
  const only = process.env.E2E_SERVERS?.split(',');
  return !only || only.includes('ignition');
}

let work = '';
let distPath = '';
let imagesPath = '';
const timings: string[] = [];

before(async () => {
  if (!selected()) return;
  const missing = missingPrerequisites();
  if (!existsSync(ignitionInitrdFile)) missing.push(`${ignitionInitrdFile} (make e2e-assets)`);
  assert.deepEqual(missing, [], `e2e prerequisites missing:\n${missing.join('\n')}`);
  work = await mkdtemp(join(tmpdir(), 'bootcfg-e2e-ign-'));
  const fx = await ignitionFixture(work, machines);
  imagesPath = fx.imagesPath;
  distPath = join(work, 'dist');
  await bootcfgBuild(fx.dataPath, distPath);
});

after(async () => {
  if (timings.length) console.log(`Ignition boot times:\n${timings.join('\n')}`);
  if (work && !process.env.E2E_KEEP) await rm(work, { recursive: true, force: true });
});

/** The lines between two markers of the serial log (undefined when the block is missing). */
function block(serial: string, name: string): string[] | undefined {
  const m = new RegExp(`^${name}-BEGIN\\n([\\s\\S]*?)^${name}-END$`, 'm').exec(serial);
  return m ? m[1]!.split('\n').filter((l) => l !== '') : undefined;
}

/** What the guest says Ignition wrote; the result file's digest changes every run. */
function listing(serial: string): string[] | undefined {
  return block(serial, 'E2E-IGN-LIST')?.map((l) => (l.startsWith(`file 600 0 0 ${resultFile} `) ? l.replace(/ [0-9a-f]{64} /, ' (varies) ') : l));
}

/** Lines only in `want` (missing) and only in `got` (unexpected), each marked. */
function diff(want: string[], got: string[]): string {
  const missing = want.filter((l) => !got.includes(l)).map((l) => `  - ${l}`);
  const extra = got.filter((l) => !want.includes(l)).map((l) => `  + ${l}`);
  return [...missing, ...extra].join('\n');
}

/** Ignition's part: both stages ran and passed, its one fetch was this machine's /ignition, and the root holds exactly its config. */
async function ignitionProblems(b: Boot): Promise<string[]> {
  const out: string[] = [];
  const m = b.machine;
  for (const stage of ['fetch', 'files']) {
    const exit = new RegExp(`^E2E-IGN-STAGE: ${stage} exit (\\d+)$`, 'm').exec(b.vm.serial)?.[1];
    if (exit !== '0') out.push(`Ignition's ${stage} stage ${exit === undefined ? 'did not run' : `exited ${exit}`}`);
  }
  const asked = b.log.to('/ignition');
  if (asked.length !== 1) out.push(`expected Ignition to GET /ignition once, saw ${asked.length}`);
  const fetch = asked[0];
  if (fetch) {
    const q = queryOf(fetch.url);
    if (q.get('uuid') !== m.uuid || q.get('mac') !== hexhyp(m.mac)) out.push(`the Ignition URL did not carry this machine: ${fetch.url}`);
    const want = `ignition/${keyOf(m, 'ignition')}`;
    if (fetch.file !== undefined && !servedFrom(fetch.file, want)) out.push(`/ignition answered from ${fetch.file}, not ${want}`);
  }
  const got = listing(b.vm.serial);
  const want = expectedListing(ignitionSpec(m));
  if (!got) out.push('the guest printed no listing of its root');
  else if (diff(want, got)) out.push(`the root Ignition wrote is not this machine's config (- missing, + unexpected):\n${diff(want, got)}`);
  return out;
}

async function boot(m: Machine, server: ServerKind, title: string): Promise<Boot> {
  const vmDir = join(work, 'vm', title.replaceAll(/[^\w.-]+/g, '_'));
  await mkdir(vmDir, { recursive: true });
  const running = await startServer(server, distPath, imagesPath);
  try {
    const vm = await bootVm({
      firmware: 'bios',
      uuid: m.uuid,
      mac: m.mac,
      bootfile: `http://${guestHosts.bootcfg}/boot.ipxe`,
      forwards: [{ guestHost: guestHosts.bootcfg, port: running.port }],
      workDir: vmDir,
    });
    await running.close();
    return { machine: m, firmware: 'bios', via: 'chain', vm, log: running.log, extra: { 'server stderr': running.stderr() }, distPath };
  } finally {
    await running.close();
    await writeFile(join(vmDir, 'requests.log'), `${running.log}\n`);
  }
}

describe('Ignition in a QEMU guest writes its own machine\'s config, fetched from bootcfg', { concurrency: jobs, skip: !selected() }, () => {
  it('every config the fleet compiles to passes ignition-validate', async (t) => {
    const validator = tool('ignition-validate');
    if (validator.missing) return t.skip(validator.missing);
    for (const m of machines) {
      const file = join(distPath, 'current', distFile(`ignition/${keyOf(m, 'ignition')}`));
      assert.equal(await ignitionValidate(validator.path!, await readFile(file, 'utf8')), '', file);
    }
  });

  for (const server of servers) {
    for (const m of machines) {
      const title = `ignition ${server} bios ${m.name}`;
      it(title, { skip: server === 'nginx' ? nginxSkip() : false }, async (t) => {
        const b = await boot(m, server, title);
        timings.push(`  ${title.padEnd(32)} ${(b.vm.ms / 1000).toFixed(1)} s`);
        t.diagnostic(`boot ${(b.vm.ms / 1000).toFixed(1)} s`);
        const found = [...(await bootProblems(b)), ...(await ignitionProblems(b))];
        if (found.length) assert.fail(report(b, found));
      });
    }
  }
});
