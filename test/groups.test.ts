// Profiles and groups through the real CLI on real files: what each group compiles to (every
// kind, list selectors, the template context, metadata in both forms, shapes.json), the seed
// layout beside them, and every rule validate and build enforce, each with its file and line.

import { distFile } from '../src/compile/shapes.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, readdir, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { bootConfig, get, runCli, sampleData, startServe, tempDir, writeFiles, MAC, ROOT, UUID } from './helpers.js';

export function profile(id: string, extra: object = {}): string {
  return `${JSON.stringify({ id, boot: { kernel: `/images/${id}/vmlinuz`, initrd: [`/images/${id}/initrd.img`], args: ['console=ttyS0'] }, ...extra }, null, 2)}\n`;
}

export function group(id: string, profileId: string, selector?: object, metadata?: object): string {
  return `${JSON.stringify({ id, profile: profileId, ...(selector && { selector }), ...(metadata && { metadata }) }, null, 2)}\n`;
}

async function buildData(files: Record<string, string>, extra: string[] = []) {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), files);
  const dist = join(root, 'dist');
  const result = await runCli(['build', '--data-path', data, '--dist-path', dist, ...extra]);
  const read = (path: string) => readFile(join(dist, 'current', distFile(path)), 'utf8');
  return { ...result, data, dist, read };
}

async function validate(files: Record<string, string>, extra: string[] = []) {
  const data = await writeFiles(await tempDir(), files);
  const result = await runCli(['validate', '--data-path', data, ...extra]);
  return { ...result, data };
}

/** Fails unless validate exits 1 and reports `message` at `location` (data-relative) with `hint`. */
async function expectError(files: Record<string, string>, location: string, message: RegExp, hint?: RegExp) {
  const { code, stderr, data } = await validate(files);
  assert.equal(code, 1, stderr);
  const line = stderr.split('\n').find((l) => l.startsWith(join(data, location)) && message.test(l));
  assert.ok(line, `no ${message} at ${location}:\n${stderr}`);
  if (hint) assert.match(stderr, hint);
}

const CP1 = '52:54:00:00:00:01';
const CP2 = '52-54-00-00-00-02';

function fleet(): Record<string, string> {
  return {
    'profiles/install.json': profile('install', { cloud_id: 'install.yaml' }),
    'profiles/control-plane.json': profile('control-plane', { cloud_id: 'cp.yaml', generic_id: 'etcd.env' }),
    'profiles/worker.json': profile('worker', { cloud_id: 'worker.yaml' }),
    'groups/default.json': group('default', 'install'),
    'groups/cp.json': group('cp', 'control-plane', { mac: [CP1, CP2] }, { role: 'cp', etcd: { cluster: 'a=1,b=2' }, port: 2379, tls: true, peers: ['x'] }),
    'groups/installed.json': group('installed', 'worker', { os: 'installed' }, { role: 'worker' }),
    'groups/cp-installed.json': group('cp-installed', 'worker', { mac: [CP1, CP2], os: 'installed' }, { role: 'cp' }),
    'cloud/install.yaml': '#cloud-config\n# install for {{bootcfg.group.id}}{{#if mac}} {{mac}}{{/if}}\n',
    'cloud/cp.yaml': '#cloud-config\nhostname: cp-{{mac}}\n# {{request.query.mac}} {{etcd.cluster}} {{bootcfg.profile.id}} {{bootcfg.selector.mac}} {{role}} {{#if (eq role "cp")}}yes{{/if}}\n',
    'cloud/worker.yaml': '#cloud-config\n# {{role}} {{os}} {{bootcfg.group.name}}\nrole: {{role}}\n',
    'generic/etcd.env': 'ETCD_CLUSTER={{etcd.cluster}}\nPORT={{port}}\n',
  };
}

test('groups compile to one answer per selector value, in every kind, with shapes.json in try order', async () => {
  const { code, stderr, read, dist } = await buildData(fleet());
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(await read('shapes.json')), { shapes: [['mac', 'os'], ['mac'], ['os'], []] });
  const snapshot = join(dist, 'current');
  assert.deepEqual((await readdir(join(snapshot, 'ipxe/mac'))).sort(), ['01', '02'], 'one shard per last two hex digits');
  assert.deepEqual(await readdir(join(snapshot, 'ipxe/mac/01')), ['52-54-00-00-00-01']);
  assert.match(await read('ipxe/mac/52-54-00-00-00-01'), /^kernel \/images\/control-plane\/vmlinuz initrd=initrd\.img console=ttyS0$/m);
  assert.match(await read('ipxe/mac.os/52-54-00-00-00-02/installed'), /^kernel \/images\/worker\/vmlinuz /m);
  assert.match(await read('ipxe/os/installed'), /^kernel \/images\/worker\/vmlinuz /m);
  assert.match(await read('ipxe/default'), /^kernel \/images\/install\/vmlinuz /m);
  // Pixiecore only knows the MAC: shapes [mac] and [] only.
  assert.equal(JSON.parse(await read('pixiecore/mac/52-54-00-00-00-02')).kernel, '/images/control-plane/vmlinuz');
  assert.deepEqual((await readdir(join(snapshot, 'pixiecore'))).sort(), ['default', 'mac']);
  // The template context: metadata, selector values (MACs as matchbox writes them), request.query, bootcfg.*.
  assert.equal(await read('cloud/mac/52-54-00-00-00-01'), '#cloud-config\nhostname: cp-52:54:00:00:00:01\n# 52:54:00:00:00:01 a=1,b=2 control-plane 52:54:00:00:00:01 cp yes\n');
  assert.equal(await read('cloud/default'), '#cloud-config\n# install for default\n');
  assert.equal(await read('cloud/mac.os/52-54-00-00-00-01/installed'), '#cloud-config\n# cp installed cp-installed\nrole: cp\n');
  assert.equal(await read('generic/mac/52-54-00-00-00-02'), 'ETCD_CLUSTER=a=1,b=2\nPORT=2379\n');
  await assert.rejects(read('generic/default'), { code: 'ENOENT' }, 'a profile without generic_id has no generic answer');
  // Metadata: KEY=value lines sorted, nested keys joined by _, lists left out; and as JSON.
  assert.equal(await read('metadata/mac/52-54-00-00-00-01'), 'ETCD_CLUSTER=a=1,b=2\nMAC=52:54:00:00:00:01\nPORT=2379\nREQUEST_QUERY_MAC=52:54:00:00:00:01\nROLE=cp\nTLS=true\n');
  assert.equal(await read('metadata-json/mac/52-54-00-00-00-01'), `${JSON.stringify({ etcd: { cluster: 'a=1,b=2' }, mac: '52:54:00:00:00:01', peers: ['x'], port: 2379, request: { query: { mac: '52:54:00:00:00:01' } }, role: 'cp', tls: true }, null, 2)}\n`);
  assert.equal(await read('metadata/default'), '');
  assert.equal(await read('metadata/os/installed'), 'OS=installed\nREQUEST_QUERY_OS=installed\nROLE=worker\n');
  const manifestText = await read('manifest.json');
  const manifest = JSON.parse(manifestText) as { files: Record<string, string>; groups: { id: string }[] };
  assert.ok(Object.keys(manifest.files).includes('shapes.json'), 'shapes.json is in the manifest');
  assert.equal(manifest.groups.length, Object.keys(fleet()).filter((file) => file.startsWith('groups/')).length, 'every group is listed');
  // The snapshot is named by its manifest's hash, which the write takes in parts (write.ts manifestBytes).
  const id = basename(await realpath(snapshot));
  assert.equal(id.slice(id.lastIndexOf('.') + 1), createHash('sha256').update(manifestText).digest('hex').slice(0, 16));
});

test('the seed layout compiles unchanged beside profiles and groups', async () => {
  const seedOnly = await buildData(sampleData());
  assert.equal(seedOnly.code, 0, seedOnly.stderr);
  const both = await buildData({ ...sampleData(), 'profiles/worker.json': profile('worker'), 'groups/rack.json': group('rack', 'worker', { mac: '52:54:00:aa:bb:cc' }) });
  assert.equal(both.code, 0, both.stderr);
  for (const path of ['ipxe/default', `ipxe/mac/${MAC}`, `ipxe/uuid/${UUID}`, 'pixiecore/default', `pixiecore/mac/${MAC}`, 'cloud/default', `cloud/mac/${MAC}`, `cloud/uuid/${UUID}`, 'boot.ipxe']) {
    assert.equal(await both.read(path), await seedOnly.read(path), path);
  }
  assert.match(await both.read('ipxe/mac/52-54-00-aa-bb-cc'), /\/images\/worker\/vmlinuz/);
  assert.deepEqual(JSON.parse(await both.read('shapes.json')), { shapes: [['uuid'], ['mac'], []] });
});

test('a template reading a key the group does not define fails the build naming group, template and line', async () => {
  const files = { ...fleet(), 'cloud/worker.yaml': '#cloud-config\n# {{role}}\nhostname: {{hostname}}\n' };
  const { code, stderr, data, dist } = await buildData(files);
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`^${join(data, 'cloud/worker.yaml')}:3:13: template error: "hostname" not defined \\(for group installed \\(groups/installed.json\\)\\)`, 'm'));
  assert.match(stderr, /for group cp-installed/, 'every group that fails is named');
  assert.match(stderr, /hint: a data template sees the group's metadata/);
  await assert.rejects(readdir(join(dist, 'current')), { code: 'ENOENT' }, 'a failed build writes nothing');
});

test('an unknown profile, a missing template and a bad template name are errors at their line', async () => {
  await expectError({ ...fleet(), 'groups/x.json': '{\n  "id": "x",\n  "profile": "wroker",\n  "selector": {"os": "x"}\n}\n' }, 'groups/x.json:3:14:', /unknown profile "wroker"/, /did you mean "worker"\?/);
  await expectError({ ...fleet(), 'profiles/worker.json': profile('worker', { cloud_id: 'wroker.yaml' }) }, 'profiles/worker.json:', /"cloud_id" names cloud\/wroker.yaml, which does not exist/, /did you mean "worker.yaml"\?/);
  await expectError({ ...fleet(), 'profiles/worker.json': profile('worker', { ignition_id: 'worker.ign' }) }, 'profiles/worker.json:', /"ignition_id" names ignition\/worker.ign, which does not exist/, /add the file ignition\/worker.ign/);
  await expectError({ ...fleet(), 'profiles/worker.json': profile('worker', { cloud_id: 'default' }) }, 'profiles/worker.json:', /"cloud_id" "default" names a seed cloud config/, /seed layout/);
  await expectError({ ...fleet(), 'profiles/worker.json': profile('worker', { cloud_id: 'mac/52:54:00:00:00:01' }) }, 'profiles/worker.json:', /names a seed cloud config/);
  await expectError({ ...fleet(), 'profiles/worker.json': profile('worker', { generic_id: '../etc/passwd' }) }, 'profiles/worker.json:', /is not a file name under generic\//);
  await expectError({ ...fleet(), 'profiles/worker.json': profile('other') }, 'profiles/worker.json:', /"id" is "other" but the file is profiles\/worker.json/);
  await expectError({ ...fleet(), 'profiles/worker.json': '{"id": "worker", "boot": {"kernel": "/images/k"}, "cloud": "x"}' }, 'profiles/worker.json:1:', /unknown key "cloud"/, /allowed keys: id, name, boot, cloud_id, ignition_id, generic_id/);
});

test('selector keys and values are checked like request parameters', async () => {
  await expectError({ ...fleet(), 'groups/x.json': group('x', 'worker', { Role: 'a' }) }, 'groups/x.json:', /"Role" is not a selector key/, /selector keys are uuid, mac/);
  await expectError({ ...fleet(), 'groups/x.json': group('x', 'worker', { format: 'json' }) }, 'groups/x.json:', /"format" is not a selector key/);
  await expectError({ ...fleet(), 'groups/x.json': group('x', 'worker', { os: '../x' }) }, 'groups/x.json:', /invalid os "..\/x"/);
  await expectError({ ...fleet(), 'groups/x.json': group('x', 'worker', { mac: '52:54:00:00:00' }) }, 'groups/x.json:', /invalid mac "52:54:00:00:00": expected 6 hex octets/);
  await expectError({ ...fleet(), 'groups/x.json': group('x', 'worker', { mac: ['52:54:00:00:00:09', '52-54-00-00-00-09'] }) }, 'groups/x.json:', /selector "mac" lists "52-54-00-00-00-09" twice/);
  await expectError({ ...fleet(), 'groups/x.json': group('x', 'worker', { os: [] }) }, 'groups/x.json:', /empty list/);
  await expectError({ ...fleet(), 'groups/x.json': group('x', 'worker', { os: 'y' }, { request: 1 }) }, 'groups/x.json:', /metadata key "request" is reserved/);
});

test('two groups one request could match with equally many keys are an error naming both, unless a more specific group decides', async () => {
  const tie = { ...fleet(), 'groups/cp-installed.json': group('cp-installed', 'worker', { mac: CP1, os: 'installed' }) };
  const { code, stderr } = await validate(tie);
  assert.equal(code, 1);
  assert.match(stderr, /groups\/cp.json and groups\/installed.json both match with 1 selector key \(ipxe: a request with mac=52:54:00:00:00:02&os=installed\)/);
  assert.match(stderr, /add a group whose selector is \{"mac": "52:54:00:00:00:02", "os": "installed"\} to decide/);
  // The fleet itself is fine: cp-installed decides mac × os for both MACs.
  assert.equal((await validate(fleet())).code, 0);
  // The seed's rule: uuid beats mac, so they never tie.
  const seed = await validate({ ...sampleData(), 'profiles/worker.json': profile('worker'), 'groups/m.json': group('m', 'worker', { mac: '52:54:00:aa:bb:cc' }) });
  assert.equal(seed.code, 0, seed.stderr);
  // A seed file is a group {mac: M}: it ties with a label group too.
  await expectError({ ...sampleData(), 'profiles/worker.json': profile('worker'), 'groups/os.json': group('os', 'worker', { os: 'installed' }) }, 'groups/os.json:', /boot\/mac\/52:54:00:12:34:56 and groups\/os.json both match with 1 selector key/);
});

test('a group and a seed file answering the same path are an error naming both', async () => {
  await expectError({ ...sampleData(), 'profiles/worker.json': profile('worker'), 'groups/m.json': group('m', 'worker', { mac: '52-54-00-12-34-56' }) }, 'groups/m.json:', /boot\/mac\/52:54:00:12:34:56 and groups\/m.json both answer ipxe\/mac\/52-54-00-12-34-56/);
  await expectError({ ...fleet(), 'groups/again.json': group('again', 'worker', { mac: CP2 }) }, 'groups/cp.json:', /groups\/again.json and groups\/cp.json both answer ipxe\/mac\/52-54-00-00-00-02/);
});

test('unused profiles and templates are warnings: validate and build print them and succeed', async () => {
  const files = { ...fleet(), 'profiles/spare.json': profile('spare'), 'generic/old.env': 'X=1\n' };
  const text = await validate(files);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stderr, new RegExp(`^warning: ${join(text.data, 'profiles/spare.json')}: profile "spare" is not used by any group\\n  hint:`, 'm'));
  assert.match(text.stderr, /^warning: .*generic\/old.env: template generic\/old.env is not used by any profile/m);
  assert.match(text.stdout, /^ok: \d+ configs compile to \d+ files \(revision [0-9a-f]{12}\), 2 warnings$/m);
  const json = await validate(files, ['--format', 'json']);
  const report = JSON.parse(json.stdout) as { ok: boolean; warnings: Array<{ message: string; file: string }> };
  assert.equal(report.ok, true);
  assert.deepEqual(report.warnings.map((w) => w.message).sort(), ['profile "spare" is not used by any group', 'template generic/old.env is not used by any profile']);
  const built = await buildData(files);
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stderr, /^warning: .*profile "spare" is not used/m);
  assert.match(built.stderr, /^built revision .*; 2 warnings \(bootcfg validate lists them\)$/m);
  const failing = await validate({ ...files, 'groups/x.json': group('x', 'nope', { os: 'y' }) }, ['--format', 'json']);
  const failed = JSON.parse(failing.stdout) as { ok: boolean; errors: unknown[]; warnings: unknown[] };
  assert.deepEqual([failed.ok, failed.errors.length, failed.warnings.length], [false, 1, 2], 'a failed validation still lists its warnings');
});

test('kernels and initrds bootcfg will not serve are refused, in seed files and profiles alike', async () => {
  await expectError({ 'boot/default': '{"kernel": "/assets/coreos/vmlinuz"}' }, 'boot/default:1:12:', /"\/assets\/coreos\/vmlinuz" is not under \/images\/, so bootcfg will not serve it \(matchbox serves \/assets\//, /write \/images\/<os>\/<version>\/<file> or an http\(s\) URL/);
  await expectError({ ...fleet(), 'profiles/worker.json': '{"id": "worker",\n "boot": {"kernel": "/images/k", "initrd": ["/boot/initrd"]}}' }, 'profiles/worker.json:2:', /"\/boot\/initrd" is not under \/images\//);
  await expectError({ 'boot/default': '{"kernel": "/images/../etc/k"}' }, 'boot/default:1:12:', /does not name a file bootcfg serves/);
  const ok = await validate({ 'boot/default': '{"kernel": "http://mirror/k", "initrd": ["https://m/i", "/images/a/i.img"]}' });
  assert.equal(ok.code, 0, ok.stderr);
});

test('with --images-path, every /images/ kernel and initrd must exist there', async () => {
  const images = await writeFiles(await tempDir(), { 'install/vmlinuz': 'k', 'install/initrd.img': 'i', 'worker/vmlinuz': 'k' });
  const files = { 'profiles/install.json': profile('install'), 'profiles/worker.json': profile('worker'), 'groups/a.json': group('a', 'install', { os: 'fresh' }), 'groups/b.json': group('b', 'worker', { os: 'installed' }), 'boot/default': bootConfig('/images/install/vmlinuz') };
  const { code, stderr, data } = await validate(files, ['--images-path', images]);
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`^${join(data, 'profiles/worker.json')}:\\d+:\\d+: /images/worker/initrd.img is not a file in ${images}`, 'm'));
  assert.match(stderr, /boot\/default:\d+:\d+: \/images\/install\/vmlinuz.initrd is not a file/);
  assert.doesNotMatch(stderr, /install\/initrd.img|worker\/vmlinuz is not/);
  await writeFiles(images, { 'worker/initrd.img': 'i', 'install/vmlinuz.initrd': 'i' });
  const built = await buildData(files, ['--images-path', images]);
  assert.equal(built.code, 0, built.stderr);
  assert.equal((await validate(files)).code, 0, 'without --images-path nothing is checked on disk');
});

test('a 1,000-machine fleet fits in a handful of files: one group per role with a MAC list', async () => {
  const macs = Array.from({ length: 1000 }, (_, i) => `52:54:01:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`);
  const files = {
    'profiles/worker.json': profile('worker', { cloud_id: 'worker.yaml' }),
    'profiles/install.json': profile('install'),
    'groups/workers.json': group('workers', 'worker', { mac: macs.slice(3) }, { role: 'worker', cluster: 'prod' }),
    'groups/control-plane.json': group('control-plane', 'worker', { mac: macs.slice(0, 3) }, { role: 'control-plane', cluster: 'prod' }),
    'groups/default.json': group('default', 'install'),
    'cloud/worker.yaml': '#cloud-config\nhostname: {{role}}-{{bootcfg.selector.mac}}\n',
  };
  const { code, stderr, read } = await buildData(files);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /6 configs → written 6008,/); // 1000 × ipxe, grub, pixiecore, cloud, metadata ×2; boot.ipxe; ipxe, grub, pixiecore, metadata ×2 by default; shapes.json and marker
  assert.equal(await read('cloud/mac/52-54-01-00-03-e7'), '#cloud-config\nhostname: worker-52:54:01:00:03:e7\n');
  assert.equal(await read('cloud/mac/52-54-01-00-00-01'), '#cloud-config\nhostname: control-plane-52:54:01:00:00:01\n');
  assert.match(await read('metadata/mac/52-54-01-00-02-00'), /^CLUSTER=prod\nMAC=52:54:01:00:02:00\n/);
});

test('the bundled example data/ validates without warnings and serves the README\'s requests', async () => {
  const check = await runCli(['validate', '--data-path', join(ROOT, 'data')]);
  assert.equal(check.code, 0, check.stderr);
  assert.equal(check.stderr, '', 'no warnings');
  const root = await tempDir();
  const server = await startServe(['--data-path', join(ROOT, 'data'), '--dist-path', join(root, 'dist'), '--images-path', join(root, 'images')]);
  const cp1 = await get(server.url, '/ipxe?mac=52:54:00:89:d8:10&arch=x86_64');
  assert.equal(cp1.status, 200);
  assert.match((await get(server.url, '/cloud?mac=52-54-00-89-d8-10&arch=i386')).body, /^hostname: cp1$/m);
  assert.match((await get(server.url, '/metadata?mac=52:54:00:89:d8:10&arch=x86_64')).body, /^HOSTNAME=cp1$/m);
  assert.match((await get(server.url, '/generic?mac=52:54:00:89:d8:12&arch=x86_64')).body, /^ETCD_NAME=cp3$/m);
  assert.match((await get(server.url, '/ipxe?mac=52:54:00:12:34:56&arch=x86_64')).body, /^kernel \/images\/fedora-coreos\/[^ ]*-live-kernel\.x86_64 .*coreos\.inst\.install_dev=\/dev\/sda/m);
  assert.match((await get(server.url, '/ipxe?arch=arm64')).body, /^kernel \/images\/fedora-coreos\/[^ ]*-live-kernel\.aarch64 .*console=ttyAMA0/m);
  const role = async (query: string) => {
    const answer = await get(server.url, `/ignition?${query}`);
    assert.equal(answer.status, 200, query);
    const file = (JSON.parse(answer.body) as { storage: { files: Array<{ path: string; contents: { source: string } }> } }).storage.files.find((f) => f.path === '/etc/bootcfg/role');
    return decodeURIComponent(file!.contents.source.replace(/^data:,/, ''));
  };
  assert.equal(await role('arch=arm64&os=installed'), 'A worker of group workers-arm64 (arm64), os=installed.\n');
  assert.equal(await role('mac=52:54:00:12:34:56&arch=x86_64&os=installed'), 'A worker of group workers, os=installed.\n');
  assert.equal((await get(server.url, '/pixiecore/v1/boot/52:54:00:12:34:56')).status, 200);
});

test('bootcfg diff reports changes per machine and per group', async () => {
  const root = await tempDir();
  const before = await writeFiles(join(root, 'before'), fleet());
  const after = await writeFiles(join(root, 'after'), { ...fleet(), 'profiles/control-plane.json': profile('control-plane', { cloud_id: 'cp.yaml', generic_id: 'etcd.env', boot: { kernel: '/images/cp-2/vmlinuz' } }) });
  const { code, stdout, stderr } = await runCli(['diff', before, after, '--summary']);
  assert.equal(code, 1, stderr);
  assert.match(stdout, /^6 files change for 2 machines \(group cp\) between /);
  assert.match(stdout, /^  mac 52-54-00-00-00-01 +ipxe, grub, pixiecore$/m);
  assert.match(stdout, /by group:\n  groups\/cp.json +2 machines\n/);
  assert.match(stdout, /2 machines get a new kernel: \/images\/control-plane\/vmlinuz -> \/images\/cp-2\/vmlinuz/);
  const json = JSON.parse((await runCli(['diff', before, after, '--format', 'json'])).stdout) as { groups: Array<{ group: string; machines: number }> };
  assert.deepEqual(json.groups.map((g) => [g.group, g.machines]), [['cp', 2]]);
});

test('a rendered cloud template that is not YAML fails the build, naming the template and the group', async () => {
  const files = { ...fleet(), 'groups/installed.json': group('installed', 'worker', { os: 'installed' }, { role: 'a: b: c' }) };
  const { code, stderr, data } = await validate(files);
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`^${join(data, 'cloud/worker.yaml')}:\\d+:\\d+: invalid cloud-config YAML: .* \\(rendered for group installed \\(groups/installed.json\\)`, 'm'));
});

test('ties are checked per kind: a decider without a cloud template does not decide /cloud', async () => {
  const files = {
    'profiles/a.json': profile('a', { cloud_id: 'a.yaml' }),
    'profiles/plain.json': profile('plain'),
    'cloud/a.yaml': '#cloud-config\n',
    'groups/arm.json': group('arm', 'a', { arch: 'arm64' }),
    'groups/installed.json': group('installed', 'a', { os: 'installed' }),
    'groups/both.json': group('both', 'plain', { arch: 'arm64', os: 'installed' }),
  };
  await expectError(files, 'groups/installed.json:', /groups\/arm.json and groups\/installed.json both match with 1 selector key \(cloud: a request with arch=arm64&os=installed\)/);
  const decided = await validate({ ...files, 'profiles/plain.json': profile('plain', { cloud_id: 'a.yaml' }) });
  assert.equal(decided.code, 0, decided.stderr);
});

test('a group whose selector lists multiply past the bound is refused', async () => {
  const many = (prefix: string) => Array.from({ length: 500 }, (_, i) => `${prefix}${i}`);
  await expectError({ ...fleet(), 'groups/x.json': group('x', 'worker', { hostname: many('h'), serial: many('s') }) }, 'groups/x.json:', /the selector's lists make 250000 combinations, more than 200000/, /split the group/);
});
