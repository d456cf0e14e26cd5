// Real git repos for the GitOps tests: a bare "remote" made in a temp dir and a working clone
// that commits and pushes to it, as an operator would. Plain `git` via execFileSync: the tests
// exercise bootcfg against git, not against a stand-in.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Files to write (string) or delete (null), by path relative to the repo root. */
export type Changes = Record<string, string | null>;

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test Operator',
  GIT_AUTHOR_EMAIL: 'ops@example.test',
  GIT_COMMITTER_NAME: 'Test Operator',
  GIT_COMMITTER_EMAIL: 'ops@example.test',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** A bare remote plus a working clone pushing to it; dispose() removes both. */
export class ConfigRepo {
  readonly root = mkdtempSync(join(tmpdir(), 'bootcfg-git-'));
  readonly remote = join(this.root, 'remote.git');
  readonly work = join(this.root, 'work');

  constructor(readonly branch = 'main') {
    git(this.root, 'init', '--quiet', '--bare', `--initial-branch=${branch}`, this.remote);
    git(this.remote, 'config', 'receive.denyDeleteCurrent', 'ignore'); // the tests delete main
    git(this.root, 'init', '--quiet', `--initial-branch=${branch}`, this.work);
    git(this.work, 'remote', 'add', 'origin', this.remote);
  }

  /** Write/delete files, commit, return the new SHA (does not push). */
  commit(changes: Changes, message = 'change'): string {
    for (const [path, content] of Object.entries(changes)) {
      const file = join(this.work, path);
      if (content === null) {
        rmSync(file, { force: true });
      } else {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, content);
      }
    }
    git(this.work, 'add', '--all');
    git(this.work, 'commit', '--quiet', '--allow-empty', '-m', message);
    return git(this.work, 'rev-parse', 'HEAD');
  }

  push(branch = this.branch, force = false): void {
    git(this.work, 'push', '--quiet', ...(force ? ['--force'] : []), 'origin', `HEAD:refs/heads/${branch}`);
  }

  /** Commit and push in one step. */
  commitPush(changes: Changes, message = 'change'): string {
    const sha = this.commit(changes, message);
    this.push();
    return sha;
  }

  /** Drop the last commit locally (for a force-push that rewrites history). */
  resetHard(rev: string): void {
    git(this.work, 'reset', '--quiet', '--hard', rev);
  }

  deleteRemoteBranch(branch: string): void {
    git(this.work, 'push', '--quiet', 'origin', '--delete', branch);
  }

  tag(name: string): void {
    git(this.work, 'tag', name);
    git(this.work, 'push', '--quiet', 'origin', `refs/tags/${name}`);
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A minimal valid data directory in the seed's layout, parameterised by kernel version. */
export function seedData(kernel = '1.0', extra: Changes = {}): Changes {
  return {
    'boot/default': JSON.stringify({ kernel: `/images/vmlinuz-${kernel}`, initrd: [`/images/initrd-${kernel}.img`], cmdline: { console: 'ttyS0' } }, null, 2) + '\n',
    'cloud/default': `#cloud-config\n# kernel ${kernel}\n`,
    ...extra,
  };
}

// ---- the real CLI as a child process ----

import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/bootcfg.js', import.meta.url));

/** Run the CLI to completion; returns exit code and output. */
export function runCli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A running `bootcfg serve`; stderr is collected for assertions and failure reports. */
export interface Served {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  stop: () => Promise<void>;
}

export async function startServe(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'serve', '--address', '127.0.0.1:0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    child.on('close', (code) => reject(new Error(`serve exited with ${code} before listening:\n${stderr}`)));
  });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const closed = new Promise((resolve) => child.once('close', resolve));
    child.kill('SIGTERM');
    await closed;
  };
  return { url, child, stderr: () => stderr, stop };
}

/** Poll until `check` returns a value, at most `tries` times with `delayMs` between (bounded, not timed). */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, tries = 300, delayMs = 100): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  throw new Error(`gave up waiting for ${what}`);
}

export function signGitHub(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

// ---- a client that never finishes its request ----

import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: string;
  text: string;
}

/**
 * A POST over a raw socket that sends its headers and only `sent` of the body it
 * announces, then waits: `answer` settles when the server answers and closes the connection.
 */
export function slowPost(url: string, headers: Record<string, string>, sent = 'x'.repeat(10), length = 1000): { socket: Socket; answer: Promise<RawAnswer> } {
  const { hostname, port, pathname } = new URL(url);
  const socket = connect(Number(port), hostname);
  const lines = [`POST ${pathname} HTTP/1.1`, `Host: ${hostname}`, `Content-Length: ${length}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.write(`${lines.join('\r\n')}\r\n\r\n${sent}`);
  let raw = '';
  socket.on('data', (chunk: Buffer) => (raw += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const answer = new Promise<RawAnswer>((resolve) => {
    socket.on('close', () => {
      const [head = '', text = ''] = raw.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0), headers: head.toLowerCase(), text });
    });
  });
  return { socket, answer };
}
