// Runs the real `bootcfg` (bin/bootcfg.js) as a child process, the way a user does, for the
// images tests: exit code, stdout and stderr, with extra environment variables.

import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..'); // lib/test → repo
const bin = join(repo, 'bin', 'bootcfg.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function runBootcfg(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, cwd: repo, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}
