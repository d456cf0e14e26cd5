// The servers a VM boots from, each started fresh for one boot so its request log holds that
// VM's requests only: `bootcfg serve` (the real CLI as a child process), and nginx with the
// block `bootcfg nginx` generates (nginx.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { AccessLog } from './access-log.js';
import { repoRoot } from './config.js';
import { stop, type Segment } from './netns.js';
import { startNginx } from './nginx.js';

export interface RunningServer {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  log: AccessLog;
  /** The server's own stderr, for failure reports. */
  stderr(): string;
  close(): Promise<void>;
}

export type ServerKind = 'bootcfg' | 'nginx';

const cli = join(repoRoot, 'bin', 'bootcfg.js');

/** Runs the CLI to completion; resolves to its output, or rejects with it when it fails. */
async function runCli(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  if (code !== 0) throw new Error(`bootcfg ${args[0]} exited ${code}:\n${out}`);
  return out;
}

export async function bootcfgBuild(dataPath: string, distPath: string): Promise<void> {
  await runCli(['build', '--data-path', dataPath, '--dist-path', distPath]);
}

/** `bootcfg publish` of a data directory and its images to a local folder (static.test.ts). */
export function bootcfgPublish(dataPath: string, imagesPath: string, to: string, baseUrl: string): Promise<string> {
  return runCli(['publish', '--to', to, '--base-url', baseUrl, '--data-path', dataPath, '--images-path', imagesPath]);
}

/** `bootcfg publish --rollback`: points the entry point of a published folder back at `revision`. */
export function bootcfgRollback(to: string, revision: string): Promise<string> {
  return runCli(['publish', '--to', to, '--rollback', revision]);
}

/** Resolves once the child prints "listening on http://…", or rejects when it exits first. */
function listening(child: ChildProcess, stderr: () => string): Promise<string> {
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`no "listening on" within 30 s:\n${stderr()}`)), 30_000);
    child.stderr?.on('data', () => {
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(stderr());
      if (m?.[1]) {
        clearTimeout(timer);
        done(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`bootcfg serve exited ${code} before listening:\n${stderr()}`));
    });
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () => stop(child);
}

/** On 127.0.0.1, or inside a segment's namespace at `address` (netns.ts), where its guests reach it. */
export async function startBootcfg(
  distPath: string,
  imagesPath: string,
  on?: { segment: Segment; address: string },
): Promise<RunningServer> {
  const args = [cli, 'serve', '--dist-path', distPath, '--images-path', imagesPath, '--address', on?.address ?? '127.0.0.1:0'];
  const child = on ? on.segment.spawn(process.execPath, args) : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = new AccessLog();
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => log.write(c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (err += c));
  const close = stopper(child);
  try {
    const url = await listening(child, () => err);
    return { url, port: Number(new URL(url).port), log, stderr: () => err, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Either server, on 127.0.0.1 or inside a segment's namespace at `address`. */
export function startServer(
  kind: ServerKind,
  distPath: string,
  imagesPath: string,
  on?: { segment: Segment; address: string },
): Promise<RunningServer> {
  return kind === 'nginx' ? startNginx(distPath, imagesPath, on) : startBootcfg(distPath, imagesPath, on);
}
