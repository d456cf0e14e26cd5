// Runs `bootcfg images …` as a child process, the way a user does, for the images tests.
// Uses the real bin/bootcfg.js once src/cli.ts registers the images command. Until the
// CLI lands on this branch, a stand-in with the same contract (yargs, env BOOTCFG_*,
// BootcfgError → `file: message` + hint, exit 1; UsageError exit 2) runs the same command module.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url)); // lib/test
const repo = join(here, '..', '..');
const realCli = join(repo, 'lib', 'src', 'cli.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function usesRealCli(): boolean {
  return existsSync(realCli) && readFileSync(realCli, 'utf8').includes('commands/images');
}

export function runBootcfg(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const entry = usesRealCli() ? join(repo, 'bin', 'bootcfg.js') : standIn();
  return new Promise((done) => {
    execFile(process.execPath, [entry, ...args], { env: { ...process.env, ...env }, cwd: repo, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

function standIn(): string {
  // Outside lib/test/, so `node --test lib/test/` does not take it for a test file.
  const file = join(repo, 'lib', 'images-cli-standin.mjs');
  const yargs = join(repo, 'node_modules', 'yargs', 'index.mjs');
  const command = join(repo, 'lib', 'src', 'commands', 'images.js');
  const errors = join(repo, 'lib', 'src', 'errors.js');
  writeFileSync(
    file,
    `import yargs from ${JSON.stringify(yargs)};
import images from ${JSON.stringify(command)};
import { BootcfgError } from ${JSON.stringify(errors)};
try {
  await yargs(process.argv.slice(2)).scriptName('bootcfg').env('BOOTCFG').command(images)
    .strict().demandCommand(1).fail((msg, err) => { throw err ?? Object.assign(new Error(msg), { usage: true }); }).parseAsync();
} catch (e) {
  if (e instanceof BootcfgError) {
    process.stderr.write(e.located + '\\n' + (e.hint ? 'hint: ' + e.hint + '\\n' : ''));
    process.exitCode = e.exitCode;
  } else if (e && e.usage) { process.stderr.write(e.message + '\\n'); process.exitCode = 2; }
  else { process.stderr.write((e && e.stack) + '\\n'); process.exitCode = 1; }
}
`,
  );
  return file;
}
