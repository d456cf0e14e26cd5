// Starts the real `bootcfg serve` CLI on 127.0.0.1 port 0 as a child process, for the
// conformance suite and benchmarks: `startBootcfg({distPath, imagesPath}) → {url, stop()}`.

import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RunningBootcfg {
  url: string;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/** Repo root: this file compiles to lib/test/conformance/bootcfg.js. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'bin', 'bootcfg.js');

/** Why the Node side cannot run yet (the server has not landed), or undefined. */
export function startBootcfg(options: { distPath: string; imagesPath: string; extraArgs?: string[] }): Promise<RunningBootcfg> {
  const args = [BIN, 'serve', '--dist-path', options.distPath, '--images-path', options.imagesPath, '--address', '127.0.0.1:0', ...(options.extraArgs ?? [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`bootcfg serve did not say "listening on" in 30s:\n${stderr}`));
    }, 30_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const url = /listening on (http:\/\/[^\s]+)/.exec(stderr)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ url: url.replace(/\/$/, ''), stderr: () => stderr, stop });
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`bootcfg serve exited before listening:\n${stderr}`));
    });
  });
}
