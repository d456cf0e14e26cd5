// `bootcfg images fetch flatcar` against a Flatcar-shaped mirror on 127.0.0.1, with release
// files signed by a key the test makes: current resolution, skip on rerun, resume after a
// dropped connection, restart without Range, and rejection of tampered or unsigned files.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { runBootcfg } from './images-cli.js';
import { blob, makeKey, sign, startMirror, untilSize, type Mirror, type MirrorLogEntry, type TestKey } from './images-mirror.js';

const VERSION = '4242.1.0';
const KERNEL = 'flatcar_production_pxe.vmlinuz';
const INITRD = 'flatcar_production_pxe_image.cpio.gz';
const BASE = '/amd64-usr';

let mirror: Mirror;
let key: TestKey;
let work: string;
let keyring: string;
let images: string;
const content = { kernel: blob(96 * 1024), initrd: blob(160 * 1024) };

async function publish(dir: string, name: string, data: Uint8Array | string, signer: TestKey = key): Promise<void> {
  await mirror.put(`${BASE}/${dir}/${name}`, data);
  await mirror.put(`${BASE}/${dir}/${name}.sig`, await sign(signer, data));
}

async function publishRelease(): Promise<void> {
  const versionTxt = `FLATCAR_BUILD=4242\nFLATCAR_BRANCH=1\nFLATCAR_PATCH=0\nFLATCAR_VERSION=${VERSION}\nFLATCAR_VERSION_ID=${VERSION}\n`;
  for (const dir of [VERSION, 'current']) {
    await publish(dir, KERNEL, content.kernel);
    await publish(dir, INITRD, content.initrd);
    await publish(dir, 'version.txt', versionTxt);
  }
}

function fetchArgs(...extra: string[]): string[] {
  return ['images', 'fetch', 'flatcar', '--images-path', images, '--mirror', `${mirror.url}${BASE}`, '--keyring', keyring, ...extra];
}

function downloads(name: string): MirrorLogEntry[] {
  return mirror.log.filter((e) => e.path.endsWith(`/${name}`));
}

/** Nothing but verified files (and their .sig/.verified) in images/, no partials anywhere. */
async function assertClean(): Promise<void> {
  const partial = join(work, '.images.partial');
  const left = existsSync(partial) ? await readdir(partial, { recursive: true }) : [];
  assert.deepEqual(left.filter((f) => String(f).endsWith('.part')), [], 'no partial files left');
  const dir = join(images, 'flatcar', VERSION);
  if (!existsSync(dir)) return;
  for (const name of await readdir(dir)) {
    if (name.endsWith('.sig') || name.endsWith('.verified')) continue;
    assert.ok(existsSync(join(dir, `${name}.verified`)), `${name} has a .verified record`);
  }
}

before(async () => {
  mirror = await startMirror();
  key = await makeKey();
  work = await mkdtemp(join(tmpdir(), 'bootcfg-images-'));
  keyring = join(work, 'test-key.asc');
  await writeFile(keyring, key.armoredPublic);
  await publishRelease();
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
  mirror.log.length = 0;
  mirror.ranges = true;
  mirror.dropAfter.clear();
  mirror.beforeDrop = undefined;
  await publishRelease();
});

test('fetch flatcar current: resolves the version, verifies, prints a boot config', async () => {
  const run = await runBootcfg(fetchArgs());
  assert.equal(run.code, 0, run.stderr);
  const dir = join(images, 'flatcar', VERSION);
  assert.deepEqual(await readFile(join(dir, KERNEL)), content.kernel);
  assert.deepEqual(await readFile(join(dir, INITRD)), content.initrd);
  const record = JSON.parse(await readFile(join(dir, `${INITRD}.verified`), 'utf8'));
  assert.equal(record.check, 'openpgp');
  assert.equal(record.signer.keyID, key.keyID);
  assert.ok(existsSync(join(dir, `${INITRD}.sig`)));
  // Files come from the concrete version's directory, not from the moving `current`.
  assert.ok(downloads(INITRD).every((e) => e.path === `${BASE}/${VERSION}/${INITRD}`));
  const boot = JSON.parse(run.stdout);
  assert.deepEqual(boot, {
    kernel: `/images/flatcar/${VERSION}/${KERNEL}`,
    initrd: [`/images/flatcar/${VERSION}/${INITRD}`],
    cmdline: { 'flatcar.first_boot': '1' },
  });
  assert.match(run.stderr, new RegExp(`flatcar/${VERSION}: 3 fetched, 0 already verified`));
  await assertClean();
});

test('a rerun keeps verified files without downloading them again', async () => {
  assert.equal((await runBootcfg(fetchArgs('--version', VERSION))).code, 0);
  mirror.log.length = 0;
  const run = await runBootcfg(fetchArgs('--version', VERSION));
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(downloads(INITRD), []);
  assert.deepEqual(downloads(KERNEL), []);
  assert.match(run.stderr, /0 fetched, 3 already verified/);
});

test('a file verified under another --keyring is checked again, not kept', async () => {
  assert.equal((await runBootcfg(fetchArgs('--version', VERSION))).code, 0);
  const otherKeyring = join(work, 'other-key.asc');
  await writeFile(otherKeyring, (await makeKey('other')).armoredPublic);
  const args = fetchArgs('--version', VERSION).map((a) => (a === keyring ? otherKeyring : a));
  const run = await runBootcfg(args);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /bad signature/);
  assert.doesNotMatch(run.stderr, /kept /);
});

test('a file changed on disk after verification is fetched again', async () => {
  assert.equal((await runBootcfg(fetchArgs('--version', VERSION))).code, 0);
  await writeFile(join(images, 'flatcar', VERSION, INITRD), 'corrupted');
  mirror.log.length = 0;
  const run = await runBootcfg(fetchArgs('--version', VERSION));
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(await readFile(join(images, 'flatcar', VERSION, INITRD)), content.initrd);
  assert.equal(downloads(INITRD).length, 1);
  assert.match(run.stderr, /1 fetched, 2 already verified/);
});

test('a connection dropped midway resumes with a Range request', async () => {
  mirror.dropAfter.set(`${BASE}/${VERSION}/${INITRD}`, 64 * 1024);
  // Hang up only once the client has stored those bytes, so the resume point is exact.
  mirror.beforeDrop = () => untilSize(join(work, '.images.partial', 'flatcar', VERSION, `${INITRD}.part`), 64 * 1024);
  const run = await runBootcfg(fetchArgs('--version', VERSION));
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(await readFile(join(images, 'flatcar', VERSION, INITRD)), content.initrd);
  assert.deepEqual(downloads(INITRD).map((e) => [e.status, e.range]), [
    [200, undefined],
    [206, `bytes=${64 * 1024}-`],
  ]);
  await assertClean();
});

test('a dropped connection on a mirror without Range support restarts the file', async () => {
  mirror.ranges = false;
  mirror.dropAfter.set(`${BASE}/${VERSION}/${KERNEL}`, 10_000);
  const run = await runBootcfg(fetchArgs('--version', VERSION));
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(await readFile(join(images, 'flatcar', VERSION, KERNEL)), content.kernel);
  assert.deepEqual(downloads(KERNEL).map((e) => e.status), [200, 200]);
  await assertClean();
});

test('a partial file left by an interrupted run is resumed by the next run', async () => {
  const partialDir = join(work, '.images.partial', 'flatcar', VERSION);
  await rm(partialDir, { recursive: true, force: true });
  await mkdir(partialDir, { recursive: true });
  await writeFile(join(partialDir, `${INITRD}.part`), content.initrd.subarray(0, 50_000));
  const run = await runBootcfg(fetchArgs('--version', VERSION));
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(await readFile(join(images, 'flatcar', VERSION, INITRD)), content.initrd);
  assert.deepEqual(downloads(INITRD).map((e) => e.range), ['bytes=50000-']);
  await assertClean();
});

test('a resumed file that fails its check is downloaded once more from scratch', async () => {
  const partialDir = join(work, '.images.partial', 'flatcar', VERSION);
  await mkdir(partialDir, { recursive: true });
  await writeFile(join(partialDir, `${INITRD}.part`), blob(50_000)); // bytes of some other file
  const run = await runBootcfg(fetchArgs('--version', VERSION));
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(downloads(INITRD).map((e) => [e.status, e.range]), [
    [206, 'bytes=50000-'],
    [200, undefined],
  ]);
  assert.deepEqual(await readFile(join(images, 'flatcar', VERSION, INITRD)), content.initrd);
  await assertClean();
});

test('a complete partial file (run stopped before verifying) is verified, not fetched again', async () => {
  const partialDir = join(work, '.images.partial', 'flatcar', VERSION);
  await mkdir(partialDir, { recursive: true });
  await writeFile(join(partialDir, `${INITRD}.part`), content.initrd);
  const run = await runBootcfg(fetchArgs('--version', VERSION));
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(downloads(INITRD).map((e) => e.status), [416]);
  assert.deepEqual(await readFile(join(images, 'flatcar', VERSION, INITRD)), content.initrd);
  await assertClean();
});

test('a tampered file is rejected and nothing unverified is left behind', async () => {
  const tampered = Buffer.from(content.initrd);
  tampered[1000] = (tampered[1000] ?? 0) ^ 0xff;
  await mirror.put(`${BASE}/${VERSION}/${INITRD}`, tampered);
  const run = await runBootcfg(fetchArgs('--version', VERSION));
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`${INITRD}: bad signature`));
  assert.match(run.stderr, /hint: /);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(existsSync(join(images, 'flatcar', VERSION, INITRD)), false);
  await assertClean();
});

test('a release signed by another key is rejected (default: the pinned Flatcar key)', async () => {
  const run = await runBootcfg(['images', 'fetch', 'flatcar', '--images-path', images, '--mirror', `${mirror.url}${BASE}`, '--version', VERSION]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /bad signature: .*signing key/i);
  assert.equal(existsSync(join(images, 'flatcar', VERSION, KERNEL)), false);
  await assertClean();
});

test('a forged current/version.txt is refused before anything is downloaded', async () => {
  const other = await makeKey('intruder');
  await publish('current', 'version.txt', 'FLATCAR_VERSION=6666.0.0\n', other);
  const run = await runBootcfg(fetchArgs());
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /current\/version\.txt: bad signature/);
  assert.deepEqual(downloads(KERNEL), []);
});

test('an older release without the PXE kernel .sig verifies against the image kernel .sig', async () => {
  await rm(join(mirror.root, `${BASE}/${VERSION}/${KERNEL}.sig`));
  await mirror.put(`${BASE}/${VERSION}/flatcar_production_image.vmlinuz.sig`, await sign(key, content.kernel));
  const run = await runBootcfg(fetchArgs('--version', VERSION));
  assert.equal(run.code, 0, run.stderr);
  assert.ok(existsSync(join(images, 'flatcar', VERSION, KERNEL)));
});

test('an unknown version is a 404 with a hint; an unreachable mirror says so', async () => {
  const missing = await runBootcfg(fetchArgs('--version', '1.2.3'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no signature for flatcar_production_pxe\.vmlinuz/);
  assert.match(missing.stderr, /hint: /);
  assert.equal(existsSync(join(images, 'flatcar', '1.2.3')), false, 'no directory for a release that failed');
  assert.equal(existsSync(join(work, '.images.partial')), false, 'no empty partial directories');

  const closed = await startMirror();
  await closed.close();
  const unreachable = await runBootcfg(['images', 'fetch', 'flatcar', '--images-path', images, '--mirror', closed.url, '--keyring', keyring]);
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /cannot reach http:\/\/127\.0\.0\.1:\d+\/current\/version\.txt.*ECONNREFUSED/);
  await rm(closed.root, { recursive: true, force: true });
});

test('an LTS alias like current-2024 resolves through its signed version.txt', async () => {
  await publish('current-2024', 'version.txt', `FLATCAR_VERSION=${VERSION}\n`);
  const run = await runBootcfg(fetchArgs('--channel', 'lts', '--version', 'current-2024'));
  assert.equal(run.code, 0, run.stderr);
  assert.ok(existsSync(join(images, 'flatcar', VERSION, KERNEL)));
  assert.equal(existsSync(join(images, 'flatcar', 'current-2024')), false);
});

test('an images path that cannot be written is an error with a hint, not a stack', async () => {
  await writeFile(join(work, 'not-a-dir'), 'x');
  const args = fetchArgs('--version', VERSION).map((a) => (a === images ? join(work, 'not-a-dir') : a));
  const run = await runBootcfg(args);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /cannot write .*ENOTDIR/);
  assert.match(run.stderr, /hint: check free space and permissions/);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
  await rm(join(work, '.not-a-dir.partial'), { recursive: true, force: true });
});

test('a second fetch of the same release waits its turn; a stale lock is taken over', async () => {
  const partialDir = join(work, '.images.partial', 'flatcar', VERSION);
  await mkdir(partialDir, { recursive: true });
  await writeFile(join(partialDir, '.lock'), `${process.pid}\n`); // held by a live process: this test
  const busy = await runBootcfg(fetchArgs('--version', VERSION));
  assert.equal(busy.code, 1, busy.stderr);
  assert.match(busy.stderr, new RegExp(`another bootcfg \\(pid ${process.pid}\\) is fetching flatcar ${VERSION}`));
  await writeFile(join(partialDir, '.lock'), '2147483646\n'); // no such process
  const run = await runBootcfg(fetchArgs('--version', VERSION));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(existsSync(join(partialDir, '.lock')), false);
});

test('BOOTCFG_IMAGES_PATH sets the images directory', async () => {
  const run = await runBootcfg(['images', 'fetch', 'flatcar', '--mirror', `${mirror.url}${BASE}`, '--keyring', keyring, '--version', VERSION], {
    BOOTCFG_IMAGES_PATH: images,
  });
  assert.equal(run.code, 0, run.stderr);
  assert.ok(existsSync(join(images, 'flatcar', VERSION, INITRD)));
});
