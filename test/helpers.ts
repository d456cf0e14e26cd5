// Test helpers: real temp directories written from a map of file names to contents, the real
// CLI as a child process, and raw HTTP requests (fetch would normalize `../` away before it
// reaches the server, which is exactly what the traversal tests must not do).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'bin/bootcfg.js');

// Cleanups run once, when the test file ends (an `after` registered inside a `before` hook
// would run as soon as that hook finishes).
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

export const UUID = '1cff2cd8-f00a-42c8-9426-f55e6a1847f6';
export const MAC = '52-54-00-12-34-56';

/** A fresh temp dir, removed when the test file ends. */
export async function tempDir(prefix = 'bootcfg-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs `work` with $TMPDIR (os.tmpdir(), here and in child processes) set to `dir`, then puts it back. */
export async function withTmpdir<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return await work();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

/**
 * Every regular file under dir, relative, sorted, following symlinked directories as servers
 * do: a snapshot's answer directories are links into dist/dirs/ (docs/dist-layout.md), which
 * readdir's recursive walk does not enter.
 */
export async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const files: string[] = [];
  for (const name of (await readdir(join(dir, prefix))).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const info = await stat(join(dir, rel));
    if (info.isDirectory()) files.push(...(await filesUnder(dir, rel)));
    else if (info.isFile()) files.push(rel);
  }
  return files;
}

export async function writeFiles(root: string, files: Record<string, string>): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

export function bootConfig(kernel: string, extra: object = {}): string {
  return `${JSON.stringify({ kernel, initrd: [`${kernel}.initrd`], cmdline: { console: 'ttyS0', quiet: '' }, ...extra }, null, 2)}\n`;
}

/** Machine i's uuid in the fleets seedFleet writes. */
export function fleetUuid(i: number): string {
  return `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

/** A data directory of `machines` machines by uuid, each with a boot and a cloud config, and a default boot config. */
export async function seedFleet(machines: number): Promise<string> {
  const files: Record<string, string> = { 'boot/default': bootConfig('/images/default') };
  for (let i = 0; i < machines; i++) {
    files[`boot/uuid/${fleetUuid(i)}`] = bootConfig(`/images/k${i}`);
    files[`cloud/uuid/${fleetUuid(i)}`] = `#cloud-config\nhostname: node-${i}\n`;
  }
  return writeFiles(await tempDir(), files);
}

/** A data directory with a default, one machine by uuid and one by mac, each distinguishable. */
export function sampleData(): Record<string, string> {
  return {
    'boot/default': bootConfig('/images/default/vmlinuz'),
    [`boot/uuid/${UUID}`]: bootConfig('/images/by-uuid/vmlinuz'),
    'boot/mac/52:54:00:12:34:56': bootConfig('/images/by-mac/vmlinuz'),
    'cloud/default': '#cloud-config\nhostname: default\n',
    [`cloud/uuid/${UUID.toUpperCase()}`]: '#cloud-config\nhostname: by-uuid\n',
    'cloud/mac/525400123456': '#cloud-config\nhostname: by-mac\n',
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env: { ...cleanEnv(), ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** The environment without BOOTCFG_* settings of whoever runs the tests. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('BOOTCFG_')));
}

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** Access-log entries seen so far (JSON lines on stdout). */
  log: Array<Record<string, unknown>>;
  stderr(): string;
  stop(): Promise<void>;
}

/** `bootcfg serve … --address 127.0.0.1:0`, resolved once it prints where it listens. */
export function startServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  return startCliServer(['serve', '--address', '127.0.0.1:0', ...args], env);
}

/** The CLI with exactly these arguments, until it says "listening on" (e.g. the 2015 flag form). */
export async function startCliServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: Array<Record<string, unknown>> = [];
  let stderr = '';
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) if (line) log.push(JSON.parse(line) as Record<string, unknown>);
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${stderr}`)), 20_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${stderr}`));
    });
  });
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  cleanups.push(stop);
  return { url, child, log, stderr: () => stderr, stop };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends `path` exactly as given (no normalization, no re-encoding). */
export function get(base: string, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolveResponse, reject) => {
    const req = request({ host: hostname, port, path, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolveResponse({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Polls `check` until it returns true, a bounded number of times. */
export async function eventually(check: () => Promise<boolean>, what: string, tries = 200, everyMs = 50): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`gave up waiting for ${what}`);
}
