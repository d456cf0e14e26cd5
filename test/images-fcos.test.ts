// `bootcfg images fetch fcos` against a mirror laid out like builds.coreos.fedoraproject.org:
// stream metadata at /streams/<stream>.json whose locations name the official host (the
// mirror flag rebases them), files checked against the metadata's sha256.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { runBootcfg } from './images-cli.js';
import { blob, startMirror, type Mirror } from './images-mirror.js';

const RELEASE = '43.20251110.3.1';
const DIR = `/prod/streams/testing/builds/${RELEASE}/x86_64`;
const NAMES = {
  kernel: `fedora-coreos-${RELEASE}-live-kernel.x86_64`,
  initramfs: `fedora-coreos-${RELEASE}-live-initramfs.x86_64.img`,
  rootfs: `fedora-coreos-${RELEASE}-live-rootfs.x86_64.img`,
};
const content = { kernel: blob(64 * 1024), initramfs: blob(128 * 1024), rootfs: blob(192 * 1024) };

let mirror: Mirror;
let work: string;
let images: string;

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

function streamJson(overrides: Partial<Record<keyof typeof NAMES, string>> = {}): string {
  const artifact = (part: keyof typeof NAMES) => ({
    location: `https://builds.coreos.fedoraproject.org${DIR}/${NAMES[part]}`,
    signature: `https://builds.coreos.fedoraproject.org${DIR}/${NAMES[part]}.sig`,
    sha256: overrides[part] ?? sha256(content[part]),
  });
  return JSON.stringify({
    stream: 'testing',
    metadata: { 'last-modified': '2025-11-10T00:00:00Z' },
    architectures: {
      x86_64: {
        artifacts: {
          metal: {
            release: RELEASE,
            formats: { pxe: { kernel: artifact('kernel'), initramfs: artifact('initramfs'), rootfs: artifact('rootfs') } },
          },
        },
      },
    },
  });
}

function fetchArgs(...extra: string[]): string[] {
  return ['images', 'fetch', 'fcos', '--stream', 'testing', '--images-path', images, '--mirror', mirror.url, ...extra];
}

before(async () => {
  mirror = await startMirror();
  work = await mkdtemp(join(tmpdir(), 'bootcfg-fcos-'));
  for (const part of Object.keys(NAMES) as (keyof typeof NAMES)[]) await mirror.put(`${DIR}/${NAMES[part]}`, content[part]);
});

after(async () => {
  await mirror.close();
  await rm(work, { recursive: true, force: true });
  await rm(mirror.root, { recursive: true, force: true });
});

beforeEach(async () => {
  images = join(work, 'images');
  await rm(images, { recursive: true, force: true });
  await rm(join(work, '.images.partial'), { recursive: true, force: true });
  await mirror.put('/streams/testing.json', streamJson());
  mirror.log.length = 0;
});

test('fetch fcos: kernel, initramfs and rootfs from the rebased metadata, checked by sha256', async () => {
  const run = await runBootcfg(fetchArgs());
  assert.equal(run.code, 0, run.stderr);
  const dir = join(images, 'fedora-coreos', RELEASE);
  for (const part of Object.keys(NAMES) as (keyof typeof NAMES)[]) {
    assert.deepEqual(await readFile(join(dir, NAMES[part])), content[part]);
    const record = JSON.parse(await readFile(join(dir, `${NAMES[part]}.verified`), 'utf8'));
    assert.equal(record.check, 'sha256');
    assert.equal(record.sha256, sha256(content[part]));
  }
  assert.deepEqual(JSON.parse(run.stdout), {
    kernel: `/images/fedora-coreos/${RELEASE}/${NAMES.kernel}`,
    initrd: [`/images/fedora-coreos/${RELEASE}/${NAMES.initramfs}`, `/images/fedora-coreos/${RELEASE}/${NAMES.rootfs}`],
    cmdline: { 'ignition.firstboot': '', 'ignition.platform.id': 'metal' },
  });
  assert.ok(mirror.log.some((e) => e.path === `${DIR}/${NAMES.rootfs}` && e.status === 200));
});

test('--no-rootfs skips the live rootfs', async () => {
  const run = await runBootcfg(fetchArgs('--no-rootfs'));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(existsSync(join(images, 'fedora-coreos', RELEASE, NAMES.rootfs)), false);
  assert.equal(JSON.parse(run.stdout).initrd.length, 1);
  assert.ok(!mirror.log.some((e) => e.path.endsWith(NAMES.rootfs)));
});

test('a sha256 mismatch is rejected and leaves nothing behind', async () => {
  await mirror.put('/streams/testing.json', streamJson({ initramfs: sha256(Buffer.from('something else')) }));
  const run = await runBootcfg(fetchArgs('--no-rootfs'));
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`${NAMES.initramfs.replace(/\./g, '\\.')}: SHA-256 mismatch`));
  assert.match(run.stderr, /hint: /);
  const dir = join(images, 'fedora-coreos', RELEASE);
  assert.equal(existsSync(join(dir, NAMES.initramfs)), false);
  const partial = join(work, '.images.partial');
  assert.deepEqual(existsSync(partial) ? (await readdir(partial, { recursive: true })).filter((f) => String(f).endsWith('.part')) : [], []);
});

test('a rerun keeps files whose sha256 still matches the metadata', async () => {
  assert.equal((await runBootcfg(fetchArgs())).code, 0);
  mirror.log.length = 0;
  const run = await runBootcfg(fetchArgs());
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(mirror.log.map((e) => e.path), ['/streams/testing.json']);
  assert.match(run.stderr, /0 fetched, 3 already verified/);
});

test('a missing stream or malformed metadata is an error with a hint', async () => {
  const missing = await runBootcfg(['images', 'fetch', 'fcos', '--stream', 'next', '--images-path', images, '--mirror', mirror.url]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no stream metadata at http:\/\/127\.0\.0\.1:\d+\/streams\/next\.json/);
  await mirror.put('/streams/testing.json', JSON.stringify({ architectures: { x86_64: { artifacts: { metal: { release: RELEASE, formats: {} } } } } }));
  const malformed = await runBootcfg(fetchArgs());
  assert.equal(malformed.code, 1);
  assert.match(malformed.stderr, /lacks a valid architectures\.x86_64\.artifacts\.metal\.formats\.pxe\.kernel/);
});

test('bad flags are usage errors (exit 2)', async () => {
  const stream = await runBootcfg(['images', 'fetch', 'fcos', '--stream', 'rawhide', '--images-path', images]);
  assert.equal(stream.code, 2, stream.stderr);
  const mirrorFlag = await runBootcfg(fetchArgs().map((a) => (a === mirror.url ? 'ftp://example.invalid/' : a)));
  assert.equal(mirrorFlag.code, 2, mirrorFlag.stderr);
  assert.match(mirrorFlag.stderr, /--mirror must be http or https/);
  const os = await runBootcfg(['images', 'fetch', 'windows']);
  assert.equal(os.code, 2, os.stderr);
});
