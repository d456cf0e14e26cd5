// /ignition end to end through the real CLI on real files: a profile's ignition_id (Butane or
// Ignition JSON) rendered per group by handlebars, compiled and checked at build time, written
// under ignition/<shape>/<values…>, and served by `bootcfg serve` with Ignition's content type.
// Every compiled answer passes ignition-validate; errors name the template, line and group.

import { distFile } from '../src/compile/shapes.js';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ignitionValidate, tool } from './butane-peer.js';
import { filesUnder, get, ROOT, runCli, startServe, tempDir, writeFiles } from './helpers.js';

const validator = tool('ignition-validate');
const MAC1 = '52:54:00:00:00:11';
const MAC2 = '52:54:00:00:00:12';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx1ck9tZXN0YWJsZWtleWZvcnRlc3RzMDAwMDAwMDA ops@bootcfg';

function json(value: object): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function fleet(): Record<string, string> {
  const boot = { kernel: '/images/flatcar/vmlinuz', initrd: ['/images/flatcar/initrd'] };
  return {
    'profiles/node.json': json({ id: 'node', boot, ignition_id: 'node.bu' }),
    'profiles/raw.json': json({ id: 'raw', boot, ignition_id: 'raw.ign' }),
    'groups/nodes.json': json({ id: 'nodes', profile: 'node', selector: { mac: [MAC1, MAC2] }, metadata: { role: 'worker' } }),
    'groups/default.json': json({ id: 'default', profile: 'raw' }),
    'ignition/node.bu': [
      'variant: flatcar',
      'version: 1.0.0',
      'passwd:',
      '  users:',
      '    - name: core',
      `      ssh_authorized_keys: ["${KEY}"]`,
      'storage:',
      '  files:',
      '    - path: /etc/hostname',
      '      mode: 0644',
      '      contents:',
      '        inline: "{{role}}-{{mac}}"',
      '    - path: /etc/motd',
      '      contents:',
      '        local: motd/welcome.txt',
      '',
    ].join('\n'),
    'ignition/raw.ign': json({ ignition: { version: '3.3.0' }, storage: { files: [{ path: '/etc/group-name', contents: { source: 'data:,{{bootcfg.group.id}}' } }] } }),
    'files/motd/welcome.txt': 'Booted by bootcfg\n',
  };
}

test('a profile\'s Butane and Ignition templates compile per group, pass ignition-validate and are served as Ignition', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), fleet());
  const dist = join(root, 'dist');
  const built = await runCli(['build', '--data-path', data, '--dist-path', dist]);
  assert.equal(built.code, 0, built.stderr);
  const read = (path: string) => readFile(join(dist, 'current', distFile(path)), 'utf8');
  const node1 = JSON.parse(await read('ignition/mac/52-54-00-00-00-11'));
  assert.equal(node1.ignition.version, '3.3.0');
  assert.deepEqual(node1.storage.files[0], { path: '/etc/hostname', mode: 420, contents: { source: 'data:,worker-52:54:00:00:00:11', compression: '' } });
  assert.equal(node1.storage.files[1].contents.source, 'data:,Booted%20by%20bootcfg%0A');
  assert.match(await read('ignition/mac/52-54-00-00-00-12'), /worker-52:54:00:00:00:12/);
  assert.deepEqual(JSON.parse(await read('ignition/default')).storage.files[0].contents.source, 'data:,default');
  if (!validator.missing) {
    for (const path of ['ignition/mac/52-54-00-00-00-11', 'ignition/mac/52-54-00-00-00-12', 'ignition/default']) {
      assert.equal(await ignitionValidate(validator.path!, await read(path)), '', path);
    }
  }
  const server = await startServe(['--data-path', data, '--dist-path', join(root, 'dist-serve'), '--images-path', join(root, 'images')]);
  const answer = await get(server.url, `/ignition?mac=${MAC2}&os=anything`);
  assert.equal(answer.status, 200);
  assert.equal(answer.headers['content-type'], 'application/vnd.coreos.ignition+json');
  assert.equal(answer.body, await read('ignition/mac/52-54-00-00-00-12'));
  assert.equal((await get(server.url, '/ignition?mac=52:54:00:00:00:99')).body, await read('ignition/default'));
});

test('a Butane error in a rendered template names the template, its line and the group', async () => {
  const files = fleet();
  files['ignition/node.bu'] = files['ignition/node.bu']!.replace('      mode: 0644', '      mode: {{mode}}');
  files['groups/nodes.json'] = json({ id: 'nodes', profile: 'node', selector: { mac: MAC1 }, metadata: { role: 'worker', mode: 644 } });
  const data = await writeFiles(await tempDir(), files);
  const { code, stderr } = await runCli(['validate', '--data-path', data]);
  assert.equal(code, 1, stderr);
  assert.match(stderr, new RegExp(`^${join(data, 'ignition/node.bu')}:10:7: mode 644 is decimal \\(octal 1204\\): did you mean octal 0644\\? \\(rendered for group nodes \\(groups/nodes.json\\)\\)$`, 'm'));
});

test('contents.local reads files/ only', async () => {
  const files = fleet();
  files['ignition/node.bu'] = files['ignition/node.bu']!.replace('local: motd/welcome.txt', 'local: ../profiles/node.json');
  const data = await writeFiles(await tempDir(), files);
  const { code, stderr } = await runCli(['validate', '--data-path', data]);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /ignition\/node\.bu:15:9: "local" path "\.\.\/profiles\/node\.json" must be relative and stay inside the files directory/);
});

test('an ignition_id must say Butane or Ignition by its extension', async () => {
  const files = fleet();
  files['profiles/raw.json'] = json({ id: 'raw', boot: { kernel: '/images/flatcar/vmlinuz' }, ignition_id: 'raw.txt' });
  files['ignition/raw.txt'] = '{}';
  const data = await writeFiles(await tempDir(), files);
  const { code, stderr } = await runCli(['validate', '--data-path', data]);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /profiles\/raw\.json:\d+:\d+: "ignition_id" names ignition\/raw\.txt, which is neither Butane nor Ignition by its extension/);
});

test('every Ignition answer the bundled data/ compiles to passes ignition-validate', async (t) => {
  if (validator.missing) return t.skip(validator.missing);
  const dist = join(await tempDir(), 'dist');
  const built = await runCli(['build', '--data-path', join(ROOT, 'data'), '--dist-path', dist]);
  assert.equal(built.code, 0, built.stderr);
  const answers = await filesUnder(join(dist, 'current', 'ignition'));
  // The example installs Fedora CoreOS with ignition/worker.bu: a worker per arch at least.
  assert.ok(answers.length >= 2, 'the bundled data/ compiles Ignition answers');
  for (const answer of answers) {
    const file = join(dist, 'current', 'ignition', answer);
    assert.equal(await ignitionValidate(validator.path!, await readFile(file, 'utf8')), '', file);
  }
  t.diagnostic(`${answers.length} Ignition answers checked`);
});
