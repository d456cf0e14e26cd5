// Every class of bad input gets its file, line and column and a hint, through the real CLI.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bootConfig, runCli, sampleData, tempDir, writeFiles, UUID } from './helpers.js';

async function validate(files: Record<string, string>, format = 'text') {
  const data = await writeFiles(await tempDir(), files);
  const result = await runCli(['validate', '--data-path', data, '--format', format]);
  return { ...result, data };
}

async function expectProblem(files: Record<string, string>, location: string, message: RegExp, hint: RegExp) {
  const { code, stderr, data } = await validate(files);
  assert.equal(code, 1, stderr);
  const line = stderr.split('\n').find((l) => l.startsWith(join(data, location)));
  assert.ok(line, `no problem reported at ${location}:\n${stderr}`);
  assert.match(line, message);
  assert.match(stderr, hint);
}

test('the sample data validates', async () => {
  const { code, stdout } = await validate(sampleData());
  assert.equal(code, 0, stdout);
  assert.match(stdout, /^ok: 6 configs compile to 14 files \(revision [0-9a-f]{12}\)$/m);
});

test('invalid JSON is reported at its line and column', async () => {
  await expectProblem({ 'boot/default': '{\n  "kernel": "/images/k",\n  "initrd": ["/images/i"],\n}\n' }, 'boot/default:4:1:', /invalid JSON: expected a property name/, /hint: a boot config is a JSON object/);
  await expectProblem({ 'boot/default': '{\n  "kernel": "/images/k"\n  "initrd": []\n}' }, 'boot/default:3:3:', /invalid JSON: expected a comma/, /hint/);
  await expectProblem({ 'boot/default': '' }, 'boot/default:1:1:', /invalid JSON/, /hint/);
  await expectProblem({ 'boot/default': '[]' }, 'boot/default:1:1:', /must be a JSON object, not an array/, /hint/);
});

test('unknown keys list the allowed ones and guess the intended one', async () => {
  await expectProblem({ 'boot/default': '{\n  "kernel": "/images/k",\n  "initrds": ["/images/i"]\n}' }, 'boot/default:3:3:', /unknown key "initrds"/, /allowed keys: kernel, initrd, cmdline, args; did you mean "initrd"\?/);
});

test('a missing kernel is named', async () => {
  await expectProblem({ 'boot/default': '{"initrd": ["/images/i"]}' }, 'boot/default:1:1:', /missing "kernel"/, /add "kernel":/);
});

test('initrd must be a list of strings', async () => {
  await expectProblem({ 'boot/default': '{"kernel": "/images/k",\n "initrd": "/images/i"}' }, 'boot/default:2:12:', /"initrd" must be a list of strings, not a string/, /hint/);
  await expectProblem({ 'boot/default': '{"kernel": "/images/k",\n "initrd": ["/images/i", 3]}' }, 'boot/default:2:26:', /each item of "initrd" must be a non-empty string, not a number/, /hint/);
});

test('kernel arguments that would break the iPXE script are refused', async () => {
  await expectProblem({ 'boot/default': '{"kernel": "/images/k",\n "cmdline": {"console": "ttyS0\\nshell"}}' }, 'boot/default:2:25:', /"cmdline" value of "console" contains whitespace or a control character/, /splits the kernel line/);
  await expectProblem({ 'boot/default': '{"kernel": "/images/k",\n "cmdline": {"debug": true}}' }, 'boot/default:2:23:', /"cmdline" value of "debug" must be a string, not a boolean/, /write "debug": "true"/);
  await expectProblem({ 'boot/default': '{"kernel": "/images/k", "args": ["a b"]}' }, 'boot/default:1:34:', /each item of "args" contains whitespace/, /hint/);
});

test('a repeated key is an error, not a silent last-one-wins', async () => {
  await expectProblem({ 'boot/default': '{"kernel": "/images/k",\n "kernel": "/images/other"}' }, 'boot/default:2:2:', /duplicate key "kernel"/, /keep one/);
});

test('file names under uuid/ and mac/ must be UUIDs and MACs', async () => {
  await expectProblem({ 'boot/uuid/node1': bootConfig('/images/k') }, 'boot/uuid/node1:', /file name "node1" is not a UUID/, /8-4-4-4-12/);
  await expectProblem({ 'cloud/mac/52:54:00:12:34': 'x' }, 'cloud/mac/52:54:00:12:34:', /is not a MAC address/, /6 hex octets/);
  await expectProblem({ 'boot/uiid/whatever': bootConfig('/images/k') }, 'boot/uiid/whatever:', /unexpected file/, /boot\|cloud>\/uuid\/<uuid>/);
});

test('two files naming the same machine are both named', async () => {
  const { code, stderr: stdout } = await validate({ 'boot/mac/52:54:00:12:34:56': bootConfig('/images/a'), 'boot/mac/52-54-00-12-34-56': bootConfig('/images/b'), [`cloud/uuid/${UUID}`]: 'a', [`cloud/uuid/${UUID.toUpperCase()}`]: 'b' });
  assert.equal(code, 1);
  assert.match(stdout, /boot\/mac\/52-54-00-12-34-56 and boot\/mac\/52:54:00:12:34:56 name the same machine \(boot\/mac\/52-54-00-12-34-56\)/);
  assert.match(stdout, new RegExp(`cloud/uuid/${UUID.toUpperCase()} and cloud/uuid/${UUID} name the same machine`));
});

test('template errors name the template file and line', async () => {
  await expectProblem({ ...sampleData(), 'templates/ipxe.hbs': '#!ipxe\nkernel {{kernel}}\n{{#each initrd}}\ninitrd {{this}}\n' }, 'templates/ipxe.hbs:5:', /template error: Expecting .*'OPEN_ENDBLOCK', got 'EOF'/, /templates see kernel/);
  await expectProblem({ ...sampleData(), 'templates/ipxe.hbs': '#!ipxe\nkernel {{kernal}}\nboot\n' }, 'templates/ipxe.hbs:2:10:', /template error: "kernal" not defined \(rendering boot\/default\)/, /templates see kernel/);
  await expectProblem({ ...sampleData(), 'templates/grub.hbs': 'x' }, 'templates/grub.hbs:', /unknown template/, /templates\/boot\.ipxe\.hbs, templates\/ipxe\.hbs/);
});

test('every problem is reported in one run, and as JSON for tools', async () => {
  const { code, stdout } = await validate({ 'boot/default': '{"kernal": "/images/k"}', 'boot/uuid/x': '{}', 'cloud/mac/zz': '' }, 'json');
  assert.equal(code, 1);
  const report = JSON.parse(stdout) as { ok: boolean; errors: Array<{ file: string; line?: number; message: string; hint?: string }> };
  assert.equal(report.ok, false);
  const messages = report.errors.map((e) => e.message).sort();
  assert.deepEqual(messages, ['file name "x" is not a UUID', 'file name "zz" is not a MAC address', 'missing "kernel"', 'unknown key "kernal"']);
  assert.ok(report.errors.every((e) => e.file && e.hint));
});

test('a missing data directory is a clear error', async () => {
  const { code, stderr } = await runCli(['validate', '--data-path', '/nonexistent/bootcfg-data']);
  assert.equal(code, 1);
  assert.match(stderr, /data directory \/nonexistent\/bootcfg-data does not exist/);
  assert.match(stderr, /hint: pass --data-path/);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace for an expected error');
});

test('symlinks may not reach outside the data directory', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), { ...sampleData(), 'shared/flatcar.json': bootConfig('/images/shared/vmlinuz') });
  await writeFile(join(root, 'secret'), 'root:x:0:0\n');
  await symlink('../../shared/flatcar.json', join(data, 'boot/mac/aa:bb:cc:dd:ee:ff'));
  await symlink(join(root, 'secret'), join(data, 'cloud/mac/aa:bb:cc:dd:ee:01'));
  await symlink('missing', join(data, 'cloud/mac/aa:bb:cc:dd:ee:02'));
  const { code, stderr } = await runCli(['validate', '--data-path', data]);
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`${data}/cloud/mac/aa:bb:cc:dd:ee:01: symlink points outside the data directory`));
  assert.match(stderr, new RegExp(`${data}/cloud/mac/aa:bb:cc:dd:ee:02: broken symlink`));
  assert.doesNotMatch(stderr, /ee:ff/, 'a link inside the data directory is fine');
});

test('a symlinked boot/, cloud/ or templates/ may not leave the data directory either', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), { 'boot/default': bootConfig('/images/k') });
  await writeFiles(join(root, 'outside'), { default: 'root:x:0:0\n' });
  await symlink(join(root, 'outside'), join(data, 'cloud'));
  const { code, stderr } = await runCli(['validate', '--data-path', data]);
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`${data}/cloud: symlink points outside the data directory`));
});
