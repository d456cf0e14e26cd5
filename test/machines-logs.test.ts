// bootcfg machines joins a build to what machines did, from the real access logs of both
// servers: bootcfg serve's JSON log and the log real nginx writes with the generated block's
// `bootcfg` log_format. The same requests give the same flags from either log.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { build } from '../src/build/build.js';
import { MAX_LINE, readLines } from '../src/fleet/logs.js';
import { nginxSkipReason, startNginx } from './conformance/nginx.js';
import { BIN, ROOT, eventually, get, runCli, sampleData, startServe, tempDir, writeFiles } from './helpers.js';

const KNOWN = '52:54:00:12:34:56'; // boot/mac/ in sampleData()
const STRANGER = '52:54:00:aa:bb:cc';
const PXE_ONLY = '52:54:00:dd:ee:ff';

/** A day in the fleet: a known machine looping on its boot script, a stranger, a Pixiecore boot. */
async function bootStorm(url: string): Promise<number> {
  const paths = [
    '/boot.ipxe',
    ...Array.from({ length: 3 }, () => `/ipxe?uuid=&mac=${KNOWN.replace(/:/g, '%3A')}&arch=x86_64`),
    '/boot.ipxe',
    `/ipxe?mac=${STRANGER}`,
    `/cloud?mac=${STRANGER}`,
    `/pixiecore/v1/boot/${PXE_ONLY}`,
    '/ipxe?mac=not-a-mac',
  ];
  for (const path of paths) await get(url, path);
  return paths.length;
}

async function machines(args: string[]): Promise<Record<string, any>> {
  const result = await runCli(['machines', ...args, '--format', 'json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Record<string, any>;
}

function assertFlags(report: Record<string, any>, revision: string): void {
  assert.equal(report.revision, revision);
  assert.deepEqual(report.flags.loop, ['mac:52-54-00-12-34-56']);
  assert.deepEqual(report.flags.unknown, ['mac:52-54-00-aa-bb-cc', 'mac:52-54-00-dd-ee-ff']);
  assert.deepEqual(report.flags['no-os-config'], ['mac:52-54-00-12-34-56', 'mac:52-54-00-dd-ee-ff']);
  const known = report.machines.find((m: any) => m.id === 'mac:52-54-00-12-34-56');
  assert.equal(known.boots, 3);
  assert.equal(known.bootsInWindow, 3);
  assert.equal(known.revision, revision);
  assert.equal(known.answer, 'mac/52-54-00-12-34-56');
  assert.equal(known.loop.boots, 3);
  const entry = report.entries.find((e: any) => e.key === 'mac/52-54-00-12-34-56');
  assert.equal(entry.kernel, '/images/by-mac/vmlinuz');
  assert.deepEqual(entry.initrd, ['/images/by-mac/vmlinuz.initrd']);
  assert.deepEqual(entry.args, ['console=ttyS0', 'quiet']);
  assert.equal(entry.seen, 1);
  assert.equal(report.entries.find((e: any) => e.key === 'default').seen, 2);
}

async function fixture(): Promise<{ root: string; data: string; distPath: string; imagesPath: string; revision: string }> {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  const distPath = join(root, 'dist');
  const imagesPath = join(root, 'images');
  await mkdir(imagesPath);
  const { revision } = await build({ dataPath: data, distPath });
  return { root, data, distPath, imagesPath, revision };
}

test('bootcfg serve\'s access log: loops, unknown machines and machines without their OS config are flagged', async () => {
  const { root, distPath, imagesPath, revision } = await fixture();
  const serve = await startServe(['--dist-path', distPath, '--images-path', imagesPath]);
  const sent = await bootStorm(serve.url);
  await eventually(async () => serve.log.length >= sent, 'the access log');
  const log = join(root, 'serve.log');
  await writeFile(log, `${serve.log.map((entry) => JSON.stringify(entry)).join('\n')}\nnot a log line\n`);
  const report = await machines(['--dist-path', distPath, '--access-log', log]);
  assertFlags(report, revision);
  assert.equal(report.stats.unparsed, 1);
  // The thresholds are flags: four boots within the window are needed now.
  assert.deepEqual((await machines(['--dist-path', distPath, '--access-log', log, '--loop-count', '4'])).flags.loop, []);
});

test('a machine booting GRUB counts its /grub fetches as boots, like /ipxe', async () => {
  const { root, distPath, imagesPath, revision } = await fixture();
  const serve = await startServe(['--dist-path', distPath, '--images-path', imagesPath]);
  const paths = [...Array.from({ length: 3 }, () => `/grub?uuid=&mac=${KNOWN}&arch=x86_64`), `/cloud?mac=${KNOWN}`];
  for (const path of paths) assert.equal((await get(serve.url, path)).status, 200, path);
  await eventually(async () => serve.log.length >= paths.length, 'the access log');
  const log = join(root, 'serve.log');
  await writeFile(log, serve.log.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
  const report = await machines(['--dist-path', distPath, '--access-log', log]);
  const known = report.machines.find((m: any) => m.id === 'mac:52-54-00-12-34-56');
  assert.ok(known, JSON.stringify(report.machines));
  assert.deepEqual([known.boots, known.revision, known.answer], [3, revision, 'mac/52-54-00-12-34-56']);
  assert.equal(known.answers.grub, 'grub/mac/52-54-00-12-34-56');
  assert.deepEqual(report.flags.loop, ['mac:52-54-00-12-34-56']);
});

test('nginx writes the bootcfg log format and bootcfg machines reads it as serve\'s', { skip: nginxSkipReason() }, async () => {
  const { root, distPath, imagesPath, revision } = await fixture();
  const log = join(root, 'nginx-access.log');
  const nginx = await startNginx({ distPath, imagesPath, accessLog: log });
  try {
    const sent = await bootStorm(nginx.url);
    await eventually(async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').length > sent, 'nginx\'s access log');
  } finally {
    await nginx.stop();
  }
  const first = JSON.parse((await readFile(log, 'utf8')).split('\n')[1]!) as Record<string, unknown>;
  assert.equal(first.server, 'nginx');
  assert.equal(first.file, '/ipxe/mac/56/52-54-00-12-34-56'); // the file try_files sent (its shard dir included)
  assertFlags(await machines(['--dist-path', distPath, '--access-log', log]), revision);
});

test('logs come on standard input, and a MAC in any spelling picks its machine', async () => {
  const { root, distPath, imagesPath, revision } = await fixture();
  const serve = await startServe(['--dist-path', distPath, '--images-path', imagesPath]);
  const sent = await bootStorm(serve.url);
  await eventually(async () => serve.log.length >= sent, 'the access log');
  const text = serve.log.map((entry) => JSON.stringify(entry)).join('\n');
  const child = spawn(process.execPath, [BIN, 'machines', '--dist-path', distPath, '52:54:00:AA:BB:CC'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stdin.end(text);
  const code = await new Promise((done) => child.once('close', done));
  assert.equal(code, 0);
  assert.match(stdout, new RegExp(`^revision ${revision} `));
  assert.match(stdout, /unknown machines \(answered by the default\): 2/);
  assert.match(stdout, /^mac:52-54-00-aa-bb-cc .* default +unknown$/m);
  assert.doesNotMatch(stdout, /52-54-00-12-34-56/); // filtered out
});

test('a build from the data directory lists every machine and the default', async () => {
  const { data, revision } = await fixture();
  const report = await machines(['--data-path', data]);
  assert.equal(report.revision, revision);
  assert.equal(report.logs, false);
  assert.deepEqual(report.entries.map((e: any) => e.key), ['mac/52-54-00-12-34-56', 'uuid/1cff2cd8-f00a-42c8-9426-f55e6a1847f6', 'default']);
  assert.deepEqual(report.entries[0].answers, { cloud: 'cloud/mac/52-54-00-12-34-56', grub: 'grub/mac/52-54-00-12-34-56', ipxe: 'ipxe/mac/52-54-00-12-34-56', pixiecore: 'pixiecore/mac/52-54-00-12-34-56' });
});

test('an over-long log line is skipped whole, without holding it', async () => {
  const long = 'x'.repeat(MAX_LINE * 3);
  const chunks = ['{"a":1}\n', long.slice(0, MAX_LINE * 2), `${long.slice(MAX_LINE * 2)}\n{"b":`, '2}\n'];
  let skipped = 0;
  const lines: string[] = [];
  for await (const line of readLines(Readable.from(chunks), () => skipped++)) lines.push(line);
  assert.deepEqual(lines, ['{"a":1}', '{"b":2}']);
  assert.equal(skipped, 1);
});

test('profiles and groups: the live dist names each answer\'s group and profile, and an install loop is on the default', async () => {
  const root = await tempDir();
  const distPath = join(root, 'dist');
  const imagesPath = join(root, 'images');
  await mkdir(imagesPath);
  await build({ dataPath: join(ROOT, 'data'), distPath });
  const serve = await startServe(['--dist-path', distPath, '--images-path', imagesPath]);
  const paths = [
    ...Array.from({ length: 3 }, () => '/ipxe?mac=52-54-00-00-00-99&arch=x86_64'), // the installer, again and again
    '/ipxe?mac=52-54-00-00-00-98&arch=x86_64&os=installed',
    '/ignition?mac=52-54-00-00-00-98&arch=x86_64&os=installed',
  ];
  for (const path of paths) assert.equal((await get(serve.url, path)).status, 200, path);
  await eventually(async () => serve.log.length >= paths.length, 'the access log');
  const log = join(root, 'serve.log');
  await writeFile(log, serve.log.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
  const report = await machines(['--dist-path', distPath, '--access-log', log]);
  const entry = (key: string) => report.entries.find((e: any) => e.key === key);
  assert.deepEqual([entry('default').group, entry('default').profile], ['install', 'install']);
  assert.deepEqual([entry('os/installed').group, entry('os/installed').profile], ['workers', 'worker']);
  assert.deepEqual([entry('mac.arch/52-54-00-89-d8-10/x86_64').group, entry('mac.arch/52-54-00-89-d8-10/x86_64').profile], ['control-plane-1', 'control-plane']);
  const looping = report.machines.find((m: any) => m.id === 'mac:52-54-00-00-00-99');
  assert.deepEqual(looping.flags, ['loop', 'unknown']); // the FCOS installer fetches no OS config of its own: coreos.inst.ignition_url is the installed system's
  assert.equal(looping.loop.answer, 'default');
  const worker = report.machines.find((m: any) => m.id === 'mac:52-54-00-00-00-98');
  assert.deepEqual([worker.answer, worker.flags], ['os/installed', []]);
  assert.equal(worker.answers.ignition, 'ignition/os/installed');
});
