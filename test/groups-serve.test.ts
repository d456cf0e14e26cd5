// Profiles and groups end to end, through the real `bootcfg build` (CLI): a data directory
// with profiles, groups (labels, two-key selectors, a list selector, arch, the default) and a
// seed machine, compiled, then asked over HTTP of `bootcfg serve` and of nginx running the
// block `bootcfg nginx` generated for the build. Both must give the same answers, and the
// answers must be the groups' own. A rebuild that brings a new shape makes the old nginx block
// answer 503 until it is regenerated.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startBootcfg, type RunningBootcfg } from './conformance/bootcfg.js';
import { send } from './conformance/http.js';
import { nginxSkipReason, startNginx, type RunningNginx } from './conformance/nginx.js';
import { runCli, tempDir, writeFiles } from './helpers.js';

const MAC = '52:54:00:89:d8:10';
const MAC_PATH = '52-54-00-89-d8-10';
const SEED_MAC = '52:54:00:00:00:07';
/** Asks for the three-key group the last test adds. */
const RACK = `/ipxe?mac=${MAC}&os=installed&rack=r7`;

const profile = (id: string, extra: object = {}) => `${JSON.stringify({ id, name: id, boot: { kernel: `/images/${id}/vmlinuz`, initrd: [`/images/${id}/initrd`], args: [`profile=${id}`] }, ...extra })}\n`;
const group = (id: string, profileId: string, selector: object, metadata: object = {}) => `${JSON.stringify({ id, name: id, profile: profileId, selector, metadata })}\n`;

function dataFiles(): Record<string, string> {
  return {
    'profiles/installer.json': profile('installer', { generic_id: 'installer.txt', cloud_id: 'installer.yaml' }),
    'profiles/installed.json': profile('installed', { generic_id: 'installed.txt' }),
    'profiles/fallback.json': profile('fallback', { generic_id: 'installer.txt' }),
    'generic/installer.txt': 'installer for {{bootcfg.group.id}}\n',
    'generic/installed.txt': 'installed {{hostname_hint}} os={{os}} mac={{mac}}\n',
    'cloud/installer.yaml': '#cloud-config\nhostname: {{bootcfg.group.id}}\n',
    'groups/node1-installed.json': group('node1-installed', 'installed', { mac: MAC, os: 'installed' }, { hostname_hint: 'node1', pool: { name: 'blue' } }),
    'groups/installers.json': group('installers', 'installer', { arch: ['x86_64', 'arm64'], os: 'installer' }, { role: 'install' }),
    'groups/default.json': group('default', 'fallback', {}, { role: 'unknown' }),
    // A seed machine beside the groups: boot/mac/<mac> compiles like {mac: M}.
    [`boot/mac/${SEED_MAC}`]: `${JSON.stringify({ kernel: '/images/seed/vmlinuz', initrd: [], args: ['seed=1'] })}\n`,
  };
}

interface Servers {
  node: RunningBootcfg;
  nginx?: RunningNginx;
}

describe('profiles and groups through bootcfg build, on both servers', () => {
  let root: string;
  let distPath: string;
  let imagesPath: string;
  let servers: Servers;

  before(async () => {
    root = await tempDir();
    const data = await writeFiles(join(root, 'data'), dataFiles());
    imagesPath = await writeFiles(join(root, 'images'), { 'seed/vmlinuz': 'k\n' });
    distPath = join(root, 'dist');
    const built = await runCli(['build', '--data-path', data, '--dist-path', distPath]);
    assert.equal(built.code, 0, built.stderr);
    servers = { node: await startBootcfg({ distPath, imagesPath }), nginx: nginxSkipReason() ? undefined : await startNginx({ distPath, imagesPath }) };
  });
  after(async () => {
    await servers?.node.stop();
    await servers?.nginx?.stop();
  });

  /** The same answer from both servers; returns it. */
  async function ask(target: string): Promise<{ status: number; body: string; type: string | undefined }> {
    const node = await send(servers.node.url, { target });
    const answer = { status: node.status, body: node.body.toString(), type: node.headers['content-type'] };
    if (servers.nginx) {
      const other = await send(servers.nginx.url, { target });
      assert.deepEqual({ status: other.status, body: other.body.toString(), type: other.headers['content-type'] }, answer, `nginx and bootcfg serve differ on ${target}`);
    }
    return answer;
  }

  test('a label and a mac: the two-key group wins over the seed and the default', async () => {
    const ipxe = await ask(`/ipxe?mac=${MAC}&os=installed`);
    assert.equal(ipxe.status, 200);
    assert.match(ipxe.body, /profile=installed/);
    assert.match((await ask(`/ipxe?mac=${MAC}`)).body, /profile=fallback/, 'without the label: the default');
    assert.match((await ask(`/ipxe?mac=${SEED_MAC}&os=other`)).body, /seed=1/, 'the seed machine by mac');
    assert.match((await ask('/ipxe?os=installed')).body, /profile=fallback/);
  });

  test('a list selector answers for each of its values; arch as iPXE sends ${buildarch}', async () => {
    for (const arch of ['x86_64', 'arm64']) assert.match((await ask(`/ipxe?arch=${arch}&os=installer`)).body, /profile=installer/, arch);
    assert.match((await ask('/ipxe?arch=i386&os=installer')).body, /profile=fallback/);
  });

  test('/generic renders the group profile generic template', async () => {
    const generic = await ask(`/generic?mac=${MAC.toUpperCase()}&os=installed`);
    assert.deepEqual(generic, { status: 200, body: `installed node1 os=installed mac=${MAC}\n`, type: 'text/plain; charset=utf-8' });
    assert.equal((await ask('/generic?arch=arm64&os=installer')).body, 'installer for installers\n');
    assert.equal((await ask('/generic')).body, 'installer for default\n');
  });

  test('/cloud renders the group cloud template', async () => {
    assert.equal((await ask('/cloud?arch=x86_64&os=installer')).body, '#cloud-config\nhostname: installers\n');
  });

  test('/metadata: KEY=value lines, sorted, selector values included; ?format=json', async () => {
    const text = await ask(`/metadata?mac=${MAC}&os=installed`);
    assert.equal(text.type, 'text/plain; charset=utf-8');
    const lines = text.body.split('\n').filter(Boolean);
    assert.deepEqual(lines, [...lines].sort(), 'sorted');
    for (const line of ['HOSTNAME_HINT=node1', 'POOL_NAME=blue', 'OS=installed', `MAC=${MAC}`]) assert.ok(lines.includes(line), `${line} in ${JSON.stringify(lines)}`);
    const json = await ask(`/metadata?mac=${MAC}&os=installed&format=json`);
    assert.equal(json.type, 'application/json');
    const data = JSON.parse(json.body) as Record<string, unknown>;
    assert.equal(data.hostname_hint, 'node1');
    assert.equal(data.os, 'installed');
  });

  test('/boot.ipxe chains with every selector variable and passes labels on', async () => {
    const plain = await ask('/boot.ipxe');
    assert.match(plain.body, /^chain ipxe\?uuid=\$\{uuid\}&mac=\$\{net0\/mac:hexhyp\}&domain=\$\{domain\}&hostname=\$\{hostname\}&serial=\$\{serial\}&ip=\$\{ip\}&arch=\$\{buildarch\}$/m);
    const second = await ask('/boot.ipxe?os=installed');
    assert.match(second.body, /&arch=\$\{buildarch\}&os=installed$/m);
    assert.deepEqual(await ask('/boot.ipxe?os=../x'), { status: 400, body: 'invalid os: expected 1 to 63 of A-Z a-z 0-9 . _ -, not starting with a dot\n', type: 'text/plain; charset=utf-8' });
  });

  test('invalid label values are 400s; labels no group uses are ignored', async () => {
    assert.equal((await ask(`/ipxe?mac=${MAC}&os=..%2f..%2fREVISION`)).status, 400);
    assert.equal((await ask('/ipxe?arch=x86/64')).status, 400);
    assert.match((await ask(`/ipxe?mac=${MAC}&os=installed&rack=../../x`)).body, /profile=installed/);
  });

  test('Pixiecore asks by MAC only', async () => {
    const seed = await ask(`/pixiecore/v1/boot/${SEED_MAC}`);
    assert.equal(seed.type, 'application/json');
    assert.match(seed.body, /seed/);
    assert.match((await ask(`/pixiecore/v1/boot/${MAC_PATH}`)).body, /fallback/, 'the two-key group is not a Pixiecore answer');
  });

  test('a rebuild with a new shape: nginx says its block is out of date, serve follows', { skip: nginxSkipReason() }, async () => {
    const data = await writeFiles(join(root, 'data'), { 'groups/rack.json': group('rack', 'installer', { mac: MAC, os: 'installed', rack: 'r7' }, {}) });
    const built = await runCli(['build', '--data-path', data, '--dist-path', distPath]);
    assert.equal(built.code, 0, built.stderr);
    const stale = await send(servers.nginx!.url, { target: RACK });
    assert.equal(stale.status, 503);
    assert.match(stale.body.toString(), /^nginx block out of date/);
    await servers.nginx!.stop();
    servers.nginx = await startNginx({ distPath, imagesPath }); // regenerated for the new build
    await eventuallyServes(servers.node.url);
    assert.match((await ask(RACK)).body, /profile=installer/);
  });
});

/** bootcfg serve picks a new build up by itself (a watch on dist/); bounded wait. */
async function eventuallyServes(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await send(url, { target: RACK })).body.toString().includes('profile=installer')) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('bootcfg serve did not pick up the new build');
}
