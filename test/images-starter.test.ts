// `bootcfg images fetch … --arch aarch64|x86_64 --print profile|butane` (issue 10): the profile
// and Butane starter name the very files fetched, and a data directory made of nothing else
// (plus one group per arch) builds with --images-path, serves each arch its own kernel on
// /ipxe and /grub, and compiles an Ignition config that ignition-validate accepts. Against a
// local mirror on 127.0.0.1, as images-fcos.test.ts: no test reaches the network.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { get, startServe, tempDir } from './helpers.js';
import { ignitionValidate, tool } from './butane-peer.js';
import { runBootcfg } from './images-cli.js';
import { blob, makeKey, sign, startMirror, type Mirror } from './images-mirror.js';

const RELEASE = '43.20251110.3.1';
const ARCHES = ['x86_64', 'aarch64'] as const;
const validator = tool('ignition-validate');

const dirOf = (arch: string) => `/prod/streams/stable/builds/${RELEASE}/${arch}`;
const names = (arch: string) => ({
  kernel: `fedora-coreos-${RELEASE}-live-kernel.${arch}`,
  initramfs: `fedora-coreos-${RELEASE}-live-initramfs.${arch}.img`,
  rootfs: `fedora-coreos-${RELEASE}-live-rootfs.${arch}.img`,
});

let mirror: Mirror;
let work: string;

before(async () => {
  mirror = await startMirror();
  work = await tempDir('bootcfg-starter-');
  const architectures: Record<string, object> = {};
  for (const arch of ARCHES) {
    const pxe: Record<string, object> = {};
    for (const [part, name] of Object.entries(names(arch))) {
      const content = blob(4096 + part.length + arch.length);
      await mirror.put(`${dirOf(arch)}/${name}`, content);
      pxe[part] = { location: `https://builds.coreos.fedoraproject.org${dirOf(arch)}/${name}`, sha256: createHash('sha256').update(content).digest('hex') };
    }
    architectures[arch] = { artifacts: { metal: { release: RELEASE, formats: { pxe } } } };
  }
  await mirror.put('/streams/stable.json', JSON.stringify({ stream: 'stable', architectures }));
});

after(async () => {
  await mirror.close();
});

const fetchFcos = (arch: string, print: string) => runBootcfg(['images', 'fetch', 'fcos', '--arch', arch, '--print', print, '--images-path', join(work, 'images'), '--mirror', mirror.url]);

test('fetch fcos --arch aarch64 takes the aarch64 artifacts; --print profile names them', async () => {
  const run = await fetchFcos('aarch64', 'profile');
  assert.equal(run.code, 0, run.stderr);
  const profile = JSON.parse(run.stdout);
  const dir = `/images/fedora-coreos/${RELEASE}`;
  const n = names('aarch64');
  assert.deepEqual(profile.boot.kernel, `${dir}/${n.kernel}`);
  assert.deepEqual(profile.boot.initrd, [`${dir}/${n.initramfs}`, `${dir}/${n.rootfs}`]);
  assert.equal(profile.id, 'fedora-coreos-aarch64');
  assert.equal(profile.ignition_id, 'fedora-coreos-aarch64.bu');
  assert.equal(profile.boot.cmdline.console, 'ttyAMA0');
  assert.match(profile.boot.cmdline['ignition.config.url'], /\/ignition\?mac=\$\{net0\/mac:hexhyp\}&arch=\$\{buildarch\}$/);
  assert.match(run.stderr, /next: --print butane > data\/ignition\/fedora-coreos-aarch64\.bu/);
  assert.ok(mirror.log.some((e) => e.path === `${dirOf('aarch64')}/${n.kernel}` && e.status === 200));
  assert.ok(!mirror.log.some((e) => e.path.includes('/x86_64/')), 'no x86_64 artifact fetched');
});

test('a data directory of printed profiles and Butane starters boots each arch its own files, with valid Ignition', async () => {
  const data = join(work, 'data');
  for (const sub of ['profiles', 'groups', 'ignition']) await mkdir(join(data, sub), { recursive: true });
  for (const arch of ARCHES) {
    const profile = await fetchFcos(arch, 'profile');
    assert.equal(profile.code, 0, profile.stderr);
    const butane = await fetchFcos(arch, 'butane');
    assert.equal(butane.code, 0, butane.stderr);
    assert.match(butane.stderr, /0 fetched, 3 already verified/);
    const id = `fedora-coreos-${arch}`;
    await writeFile(join(data, 'profiles', `${id}.json`), profile.stdout);
    await writeFile(join(data, 'ignition', `${id}.bu`), butane.stdout);
  }
  await writeFile(join(data, 'groups', 'default.json'), JSON.stringify({ id: 'default', profile: 'fedora-coreos-x86_64' }));
  await writeFile(join(data, 'groups', 'arm64.json'), JSON.stringify({ id: 'arm64', profile: 'fedora-coreos-aarch64', selector: { arch: 'arm64' } }));
  const dist = join(work, 'dist');
  const server = await startServe(['--data-path', data, '--dist-path', dist, '--images-path', join(work, 'images')]);
  for (const [arch, buildarch] of [['x86_64', 'x86_64'], ['aarch64', 'arm64']]) {
    const kernel = `/images/fedora-coreos/${RELEASE}/${names(arch!).kernel}`;
    assert.match((await get(server.url, `/ipxe?mac=52:54:00:00:00:01&arch=${buildarch}`)).body, new RegExp(`^kernel ${kernel} `, 'm'));
    assert.match((await get(server.url, `/grub?mac=52:54:00:00:00:01&arch=${buildarch}`)).body, new RegExp(`^linux "${kernel}" `, 'm'));
    assert.equal((await get(server.url, kernel)).status, 200);
    const ignition = await get(server.url, `/ignition?arch=${buildarch}`);
    assert.equal(ignition.status, 200);
    const config = JSON.parse(ignition.body);
    assert.equal(config.ignition.version, '3.3.0');
    assert.deepEqual(config.storage.files.map((f: { path: string }) => f.path), ['/etc/bootcfg/release']);
    assert.match(decodeURIComponent(config.storage.files[0].contents.source), new RegExp(`Fedora CoreOS ${RELEASE.replace(/\./g, '\\.')} \\(${arch}\\)`));
    if (!validator.missing) assert.equal(await ignitionValidate(validator.path!, ignition.body), '', `ignition-validate, ${arch}`);
  }
});

test('fetch flatcar --arch aarch64 goes to images/flatcar-arm64/ and its Butane starter is the flatcar variant', async () => {
  const key = await makeKey();
  const files = { 'flatcar_production_pxe.vmlinuz': blob(3000), 'flatcar_production_pxe_image.cpio.gz': blob(5000), 'version.txt': 'FLATCAR_VERSION=4300.0.0\n' };
  for (const [name, content] of Object.entries(files)) {
    await mirror.put(`/arm64-usr/4300.0.0/${name}`, content);
    await mirror.put(`/arm64-usr/4300.0.0/${name}.sig`, await sign(key, content));
  }
  await writeFile(join(work, 'key.asc'), key.armoredPublic);
  const args = (print: string) => ['images', 'fetch', 'flatcar', '--arch', 'aarch64', '--version', '4300.0.0', '--print', print, '--images-path', join(work, 'images'), '--mirror', `${mirror.url}/arm64-usr`, '--keyring', join(work, 'key.asc')];
  const profile = await runBootcfg(args('profile'));
  assert.equal(profile.code, 0, profile.stderr);
  assert.equal(JSON.parse(profile.stdout).boot.kernel, '/images/flatcar-arm64/4300.0.0/flatcar_production_pxe.vmlinuz');
  assert.equal(JSON.parse(profile.stdout).boot.cmdline['flatcar.first_boot'], '1');
  assert.deepEqual(await readFile(join(work, 'images', 'flatcar-arm64', '4300.0.0', 'flatcar_production_pxe.vmlinuz')), files['flatcar_production_pxe.vmlinuz']);
  const butane = await runBootcfg(args('butane'));
  assert.match(butane.stdout, /^variant: flatcar\nversion: 1\.0\.0$/m);
});
