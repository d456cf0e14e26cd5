// /grub (issue 10): the grub.cfg each boot answer compiles to, checked by GRUB's own parser
// (grub-script-check, Debian's grub-common), selected like /ipxe by both servers (the
// conformance suite has the HTTP rows), and compared with matchbox v0.9.0's /grub, the judge of
// which group a request gets. grub-script-check is skipped when missing, except under CI=true.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { grubConfig } from '../src/compile/grub.js';
import { get, runCli, startServe, tempDir, writeFiles, ROOT } from './helpers.js';
import { skipWithoutMatchbox, startMatchbox } from './matchbox.js';

const SCRIPT_CHECK = '/usr/bin/grub-script-check';
const noScriptCheck = existsSync(SCRIPT_CHECK) || process.env.CI === 'true' ? false : 'grub-script-check not installed (Debian grub-common)';

/** grub-script-check's verdict on one grub.cfg: undefined when it parses, else its message. */
async function scriptCheck(text: string): Promise<string | undefined> {
  const file = join(await tempDir('grub-'), 'grub.cfg');
  await writeFile(file, text);
  return new Promise((done) => execFile(SCRIPT_CHECK, [file], (error, stdout, stderr) => done(error ? `${stderr}${stdout}` : undefined)));
}

/** Every file under dir, relative. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

const group = (id: string, profile: string, selector?: object) => JSON.stringify({ id, profile, ...(selector && { selector }) });
const boot = (args: string[], kernel = '/images/k/vmlinuz', initrd = ['/images/k/initrd.img']) => ({ kernel, initrd, args });

test('every argument is one double-quoted GRUB word: & ; " \\ and $ stay literal', async (t) => {
  const text = grubConfig(boot(['url=http://h/ignition?a=1&b=2', 'x=a;b', 'q="1"', 'back\\slash', 'price=$5', 'flatcar.autologin']));
  assert.equal(text.split('\n').find((l) => l.startsWith('linux ')), 'linux "/images/k/vmlinuz" "url=http://h/ignition?a=1&b=2" "x=a;b" "q=\\"1\\"" "back\\\\slash" "price=\\$5" "flatcar.autologin"');
  assert.match(text, /^initrd "\/images\/k\/initrd.img"$/m);
  assert.match(text, /\nboot\n$/);
  if (!noScriptCheck) assert.equal(await scriptCheck(text), undefined);
  else t.diagnostic(noScriptCheck);
});

test('matchbox\'s unquoted & is a GRUB syntax error: the reason /grub quotes every word', { skip: noScriptCheck }, async () => {
  assert.match((await scriptCheck('linux "/k" ignition.config.url=http://h/ignition?uuid=${uuid}&mac=${mac:hexhyp}\n'))!, /syntax error/);
});

test('iPXE settings GRUB knows become GRUB variables; ${uuid} is read from SMBIOS; others stay as written', () => {
  const text = grubConfig(boot(['u=http://b/ignition?uuid=${uuid}&mac=${net0/mac:hexhyp}&arch=${buildarch}', 'ip=${ip}', 'host=${hostname}', 'm=${mac}']));
  assert.match(text, /^smbios --type 1 --get-uuid 8 --set bootcfg_uuid$/m);
  assert.match(text, / "u=http:\/\/b\/ignition\?uuid=\$\{bootcfg_uuid\}&mac=\$\{net_default_mac\}&arch=\$\{grub_cpu\}" "ip=\$\{net_default_ip\}" "host=\\\$\{hostname\}" "m=\$\{net_default_mac\}"$/m);
  assert.doesNotMatch(grubConfig(boot(['console=ttyS0'])), /smbios/, 'no SMBIOS read when no argument needs it');
});

test('kernel and initrd URLs become GRUB device paths; https cannot be fetched and the build says so', async () => {
  const text = grubConfig(boot([], 'http://mirror.example:8080/fcos/kernel', ['tftp://10.0.0.1/initrd.img', '/images/rootfs.img']));
  assert.match(text, /^linux "\(http,mirror.example:8080\)\/fcos\/kernel"$/m);
  assert.match(text, /^initrd "\(tftp,10.0.0.1\)\/initrd.img" "\/images\/rootfs.img"$/m);
  const https = grubConfig(boot([], '/images/k', ['https://mirror.example/initrd.img']));
  assert.doesNotMatch(https, /^(linux|initrd|boot)/m);
  assert.match(https, /^echo "bootcfg: GRUB cannot fetch https:\/\/mirror.example\/initrd.img: /m);
  const data = await writeFiles(await tempDir(), { 'boot/default': JSON.stringify({ kernel: '/images/k', initrd: ['https://mirror.example/initrd.img'] }) });
  const { code, stderr } = await runCli(['validate', '--data-path', data]);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /^warning: \S*\/boot\/default: GRUB cannot fetch https:\/\/mirror.example\/initrd.img, so \/grub answers this config's machines with a message and boots nothing$/m);
});

test('the bundled example: every /grub answer passes grub-script-check, arm64 and x86_64 machines get their own kernels', { skip: noScriptCheck }, async () => {
  const root = await tempDir();
  const dist = join(root, 'dist');
  const built = await runCli(['build', '--data-path', join(ROOT, 'data'), '--dist-path', dist]);
  assert.equal(built.code, 0, built.stderr);
  const grub = join(dist, 'current', 'grub');
  const files = await filesUnder(grub);
  assert.ok(files.length >= 5, files.join(', '));
  for (const file of files) assert.equal(await scriptCheck(await readFile(join(grub, file), 'utf8')), undefined, file);
  const server = await startServe(['--dist-path', dist, '--images-path', join(root, 'images')]);
  const x86 = await get(server.url, '/grub?mac=52:54:00:12:34:56&arch=x86_64');
  const arm = await get(server.url, '/grub?mac=52:54:00:12:34:57&arch=arm64');
  assert.equal(x86.status, 200);
  assert.match(x86.body, /^linux "\/images\/fedora-coreos\/[^"]*-live-kernel\.x86_64" .* "coreos\.inst\.ignition_url=http:\/\/bootcfg\.example:8080\/ignition\?mac=\$\{net_default_mac\}&arch=\$\{grub_cpu\}&os=installed"/m);
  assert.match(arm.body, /^linux "\/images\/fedora-coreos\/[^"]*-live-kernel\.aarch64" /m);
});

test('the same groups as matchbox v0.9.0: /grub picks the same profile for every arch and machine', { skip: skipWithoutMatchbox() }, async () => {
  const kernel = (arch: string) => `http://mirror.example/${arch}/vmlinuz`;
  const profile = (id: string, arch: string) => JSON.stringify({ id, boot: { kernel: kernel(arch), initrd: [`http://mirror.example/${arch}/initrd.img`], args: ['console=ttyS0'] } });
  const files = {
    'profiles/x86.json': profile('x86', 'x86_64'),
    'profiles/arm.json': profile('arm', 'aarch64'),
    'profiles/special.json': profile('special', 'special'),
    'groups/default.json': group('default', 'x86'),
    'groups/arm.json': group('arm', 'arm', { arch: 'arm64' }),
    'groups/special.json': group('special', 'special', { mac: '52:54:00:00:00:07', arch: 'arm64' }),
  };
  const data = await writeFiles(await tempDir(), files);
  const root = await tempDir();
  const ours = await startServe(['--data-path', data, '--dist-path', join(root, 'dist'), '--images-path', join(root, 'images')]);
  const theirs = await startMatchbox(data);
  const requests = ['/grub', '/grub?arch=x86_64', '/grub?arch=arm64', '/grub?mac=52:54:00:00:00:07&arch=arm64', '/grub?mac=52:54:00:00:00:07&arch=x86_64', '/grub?mac=52:54:00:00:00:08&arch=arm64'];
  for (const path of requests) {
    const [a, b] = [await get(ours.url, path), await get(theirs.url, path)];
    assert.equal(a.status, b.status, path);
    // matchbox writes the URL as is; bootcfg as GRUB's (http,host)/path: compare the arch directory.
    const kernelDir = (body: string) => /^linux(?:efi)? "(?:http:\/\/|\(http,)mirror\.example\)?\/([^/]+)\//m.exec(body)?.[1];
    assert.equal(kernelDir(a.body), kernelDir(b.body), `${path}\nbootcfg:\n${a.body}\nmatchbox:\n${b.body}`);
    assert.ok(kernelDir(a.body), path);
  }
});
