// `bootcfg import matchbox SRC DEST` through the real CLI: matchbox's own examples, a fleet of
// our own, and the ways an import must refuse (reporting file:line:col) rather than guess.

import assert from 'node:assert/strict';
import { readFile, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { runCli, tempDir, writeFiles } from './helpers.js';
import { MATCHBOX_EXAMPLES } from './matchbox.js';

const EXAMPLE_GROUPS = (name: string) => join(MATCHBOX_EXAMPLES, 'groups', name);

async function tree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = `${prefix}${entry.name}`;
    if (entry.isDirectory()) out.push(...(await tree(join(dir, entry.name), `${rel}/`)));
    else out.push(rel);
  }
  return out.sort();
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
}

/** A small matchbox directory of our own: labels, a mac group, a template reading the request. */
function fleet(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'profiles/worker.json': JSON.stringify({ id: 'worker', name: 'Worker', boot: { kernel: '/assets/os/vmlinuz', initrd: ['/assets/os/initrd'], args: ['console=ttyS0', 'url=http://mb.example:8080/assets/os/x'], cmdline: { quiet: '' } }, generic_id: 'worker.tmpl', cloud_id: 'worker.yaml' }),
    'groups/by-mac.json': JSON.stringify({ id: 'node1', name: 'Node 1', profile: 'worker', selector: { mac: '52:54:00:89:d8:10', os: 'installed' }, metadata: { hostname: 'node1', request: 'shadowed' } }),
    'generic/worker.tmpl': 'host={{.hostname}} mac={{.request.query.mac}}\n',
    'cloud/worker.yaml': '#cloud-config\nhostname: {{.hostname}}\n',
    'generic/unused.tmpl': 'nobody uses me\n',
    ...extra,
  };
}

test('matchbox\'s flatcar-install example: the raw_query it forwards is refused at its line, nothing written', async () => {
  const dest = join(await tempDir(), 'data');
  const result = await runCli(['import', 'matchbox', MATCHBOX_EXAMPLES, dest, '--groups', EXAMPLE_GROUPS('flatcar-install')]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /^ignition\/flatcar-install\.yaml:23:60: \.request\.raw_query is the request's own query string/m);
  assert.match(result.stderr, /hint: /);
  assert.match(result.stderr, /nothing written/);
  await assert.rejects(readdir(dest));
});

test('--force writes what translates and marks the rest so that it cannot build unnoticed', async () => {
  const dest = join(await tempDir(), 'data');
  const result = await runCli(['import', 'matchbox', MATCHBOX_EXAMPLES, dest, '--groups', EXAMPLE_GROUPS('flatcar-install'), '--force']);
  assert.equal(result.code, 1, result.stderr);
  assert.deepEqual(await tree(dest), ['groups/stage-0.json', 'groups/stage-1.json', 'ignition/flatcar-install.yaml', 'ignition/flatcar.yaml', 'profiles/flatcar-install.json', 'profiles/flatcar.json']);
  const template = await readFile(join(dest, 'ignition/flatcar-install.yaml'), 'utf8');
  assert.match(template, /\{\{untranslated "23:60: \.request\.raw_query[^"]*"\}\}&os=installed/);
  assert.match(template, /-V \{\{os_version\}\} \\\\\{\{#if \(index this "baseurl"\)\}\}-b \{\{baseurl\}\} \\\\\{\{\/if\}\}/);
  const stage0 = await readJson(join(dest, 'groups/stage-0.json'));
  assert.equal((stage0.metadata as Record<string, string>).baseurl, 'http://matchbox.example.com:8080/images/flatcar');
  assert.match(result.stderr, /note: groups\/install\.json: written as groups\/stage-0\.json/);
});

test('matchbox\'s fedora-coreos example imports cleanly: /assets/ → /images/, Ignition JSON copied byte for byte', async () => {
  const dest = join(await tempDir(), 'data');
  const result = await runCli(['import', 'matchbox', MATCHBOX_EXAMPLES, dest, '--groups', EXAMPLE_GROUPS('fedora-coreos')]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /imported 1 profiles, 1 groups, 0 templates translated, 1 copied/);
  assert.match(result.stderr, /ignition\/: 1 template imported; bootcfg compiles them at build time/);
  const profile = await readJson(join(dest, 'profiles/fedora-coreos.json'));
  const boot = profile.boot as { kernel: string; initrd: string[]; args: string[] };
  assert.equal(boot.kernel, '/images/fedora-coreos/fedora-coreos-32.20200923.3.0-live-kernel-x86_64');
  assert.ok(boot.initrd.every((path) => path.startsWith('/images/')));
  assert.deepEqual(await readFile(join(dest, 'ignition/fedora-coreos.ign')), await readFile(join(MATCHBOX_EXAMPLES, 'ignition/fedora-coreos.ign')));
  const kept = join(await tempDir(), 'data');
  assert.equal((await runCli(['import', 'matchbox', MATCHBOX_EXAMPLES, kept, '--groups', EXAMPLE_GROUPS('fedora-coreos'), '--keep-assets'])).code, 0);
  assert.match(((await readJson(join(kept, 'profiles/fedora-coreos.json'))).boot as { kernel: string }).kernel, /^\/assets\//);
});

test('the examples directory as it is: sub-directories of groups/ are named, not read (as matchbox does)', async () => {
  const result = await runCli(['import', 'matchbox', MATCHBOX_EXAMPLES, join(await tempDir(), 'data')]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /note: groups\/flatcar-install\/: not imported .*--groups SRC\/groups\/flatcar-install/);
  assert.match(result.stderr, /^groups: no groups\/\*\.json/m);
});

test('a fleet of our own: groups renamed by id, cmdline and a shadowed "request" dropped with a note, unused templates named', async () => {
  const src = await writeFiles(await tempDir(), fleet());
  const dest = join(await tempDir(), 'data');
  const result = await runCli(['import', 'matchbox', src, dest]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await tree(dest), ['cloud/worker.yaml', 'generic/worker.tmpl', 'groups/node1.json', 'profiles/worker.json']);
  assert.equal(await readFile(join(dest, 'generic/worker.tmpl'), 'utf8'), 'host={{hostname}} mac={{request.query.mac}}\n');
  const profile = await readJson(join(dest, 'profiles/worker.json'));
  assert.deepEqual(profile.boot, { kernel: '/images/os/vmlinuz', initrd: ['/images/os/initrd'], args: ['console=ttyS0', 'url=http://mb.example:8080/images/os/x'] });
  assert.deepEqual((await readJson(join(dest, 'groups/node1.json'))).metadata, { hostname: 'node1' });
  for (const note of [/boot\.cmdline dropped \(matchbox v0\.9\.0 ignores it/, /metadata "request" dropped/, /generic\/unused\.tmpl: not imported/, /groups\/by-mac\.json: written as groups\/node1\.json/]) assert.match(result.stderr, note);
});

test('.request.query.<key> where a group using the template does not select on <key> is refused at its line', async () => {
  const src = await writeFiles(await tempDir(), fleet({ 'groups/default.json': JSON.stringify({ id: 'default', profile: 'worker', metadata: { hostname: 'any' } }) }));
  const result = await runCli(['import', 'matchbox', src, join(await tempDir(), 'data')]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^generic\/worker\.tmpl:1:26: \.request\.query\.mac is known only when a request arrives, and group default does not select on "mac"/m);
  assert.match(result.stderr, /hint: bootcfg compiles answers ahead of requests: add "mac" to the selector of default/);
});

test('broken data is reported with file, line and column; a reserved metadata key is refused', async () => {
  const src = await writeFiles(await tempDir(), fleet({
    'groups/broken.json': '{\n  "id": "broken",\n  "profile": "worker",\n}\n',
    'groups/reserved.json': JSON.stringify({ id: 'reserved', profile: 'worker', selector: { mac: '52:54:00:00:00:01' }, metadata: { bootcfg: 1 } }, null, 2),
    'groups/lost.json': JSON.stringify({ id: 'lost', profile: 'nowhere' }),
    'groups/keys.json': JSON.stringify({ id: 'keys', profile: 'worker', selector: { ip: '10.0.0.1', os: '../etc', mac: 'zz' } }),
  }));
  const result = await runCli(['import', 'matchbox', src, join(await tempDir(), 'data')]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^groups\/broken\.json:4:1: invalid JSON: /m);
  assert.match(result.stderr, /^groups\/reserved\.json:8:16: metadata key "bootcfg" is reserved/m);
  assert.match(result.stderr, /^groups\/lost\.json:1:24: profile "nowhere" not found/m);
  assert.match(result.stderr, /^groups\/keys\.json:1:50: selector key "ip" cannot be selected on\n  hint: selector keys are uuid, mac/m);
  assert.match(result.stderr, /^groups\/keys\.json:1:66: selector invalid os: /m);
  assert.match(result.stderr, /^groups\/keys\.json:1:81: selector invalid mac: /m);
});

test('DEST must be new or empty; SRC must be a directory; a symlink out of SRC is refused', async () => {
  const src = await writeFiles(await tempDir(), fleet());
  const dest = await writeFiles(await tempDir(), { 'keep.txt': 'mine\n' });
  const notEmpty = await runCli(['import', 'matchbox', src, dest]);
  assert.equal(notEmpty.code, 2);
  assert.match(notEmpty.stderr, /is not empty/);
  assert.equal(await readFile(join(dest, 'keep.txt'), 'utf8'), 'mine\n');
  assert.equal((await runCli(['import', 'matchbox', join(src, 'nope'), join(await tempDir(), 'd')])).code, 2);
  await symlink('/etc/passwd', join(src, 'generic/passwd'));
  const linked = await runCli(['import', 'matchbox', src, join(await tempDir(), 'data')]);
  assert.equal(linked.code, 1);
  assert.match(linked.stderr, /^generic\/passwd: symlink points outside the matchbox directory/m);
});
