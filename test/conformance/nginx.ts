// Starts a real nginx (Debian's package) in the foreground on 127.0.0.1 with a block generated
// by src/serve/nginx.ts, its prefix, pid, temp and log files in a temp dir of its own. Shared by the
// conformance suite and the benchmarks: `startNginx({distPath, imagesPath}) → {url, stop()}`.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ShapeKeys } from '../../src/compile/shapes.js';
import { nginxConfig } from '../../src/serve/nginx.js';
import { liveShapes } from '../../src/serve/server.js';

export interface StartNginxOptions {
  distPath: string;
  imagesPath: string;
  /** Worker processes (default 1); the master process always runs, as in production. */
  workers?: number;
  /** The shapes the block is generated for; default: the live build's, as `bootcfg nginx` does. */
  shapes?: readonly ShapeKeys[];
  /** Where the generated block writes its `bootcfg` access log (none when absent). */
  accessLog?: string;
}

export interface RunningNginx {
  url: string;
  /** The temp dir holding nginx.conf, bootcfg.conf, logs and the pid file. */
  prefix: string;
  /** The error log so far, for failure messages. */
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

/** The nginx binary, or undefined when the package is not installed. */
export function nginxBinary(): string | undefined {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (existsSync(candidate)) return candidate;
  const found = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() || undefined : undefined;
}

/** Why a test needing nginx may skip here, or undefined when it must run (nginx present, or CI). */
export function nginxSkipReason(): string | undefined {
  if (nginxBinary() || process.env.CI) return undefined;
  return 'nginx is not installed (make nginx-deps installs it); under CI=true this fails instead';
}

export async function startNginx(options: StartNginxOptions): Promise<RunningNginx> {
  const binary = nginxBinary();
  if (!binary) throw new Error('nginx is not installed: run `make nginx-deps` (apt-get install nginx)');
  const prefix = await mkdtemp(join(tmpdir(), 'bootcfg-nginx-'));
  // A port picked now may be taken before nginx binds it; try a few.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const started = await tryStart(binary, prefix, port, options);
    if (started) return started;
    const log = await readLog(prefix);
    if (attempt >= 5 || !/Address already in use/.test(log)) {
      await rm(prefix, { recursive: true, force: true });
      throw new Error(`nginx did not start:\n${log}`);
    }
  }
}

async function tryStart(binary: string, prefix: string, port: number, options: StartNginxOptions): Promise<RunningNginx | undefined> {
  const shapes = options.shapes ?? (await liveShapes(options.distPath));
  const block = nginxConfig({ distPath: options.distPath, imagesPath: options.imagesPath, listen: `127.0.0.1:${port}`, shapes, accessLog: options.accessLog });
  await writeFile(join(prefix, 'bootcfg.conf'), block);
  await writeFile(join(prefix, 'nginx.conf'), mainConfig(prefix, options.workers ?? 1));
  await writeFile(join(prefix, 'error.log'), '');
  const child = spawn(binary, ['-p', `${prefix}/`, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await waitForPort(port, exited);
  if (!ready) {
    await stopChild(child, exited);
    await writeFile(join(prefix, 'error.log'), (await readLog(prefix)) + stderr);
    return undefined;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    prefix,
    errorLog: () => readLog(prefix),
    stop: async () => {
      await stopChild(child, exited);
      await rm(prefix, { recursive: true, force: true });
    },
  };
}

/** The smallest nginx.conf around the generated block; everything nginx writes stays in prefix. */
function mainConfig(prefix: string, workers: number): string {
  // Run as root, nginx would switch workers to "nobody", who cannot read a test's temp dirs.
  const user = process.getuid?.() === 0 ? 'user root root;\n' : '';
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => `    ${name}_temp_path ${prefix}/${name}_temp;`).join('\n');
  return `${user}daemon off;
master_process on;
worker_processes ${workers};
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log notice;
events { worker_connections 1024; }
http {
    access_log off;
${temp}
    include ${prefix}/bootcfg.conf;
}
`;
}

async function readLog(prefix: string): Promise<string> {
  return readFile(join(prefix, 'error.log'), 'utf8').catch(() => '');
}

/** A port free on 127.0.0.1 right now (the caller retries if it is taken before use). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Polls until the port accepts a connection (true) or nginx exits (false); bounded to ~15 s. */
async function waitForPort(port: number, exited: Promise<number | null>): Promise<boolean> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; i < 300 && !gone; i++) {
    if (await canConnect(port)) return !gone;
    await sleep(50);
  }
  return false;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** SIGTERM is nginx's fast shutdown; SIGKILL only if it has not gone in 10 s. */
async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
