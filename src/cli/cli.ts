// The command line: yargs parses, a command's handler does the work, and main() owns what the
// process prints on failure and its exit code (0 ok, 1 failed build or validation, 2 usage).

import yargs from 'yargs';
import { addCommands } from './commands/index.js';
import { BootcfgError, ExitStatus, UsageError } from '../compile/errors.js';
import { rewriteLegacyArgv } from './legacy.js';
import { formatError } from './report.js';

export async function main(given: readonly string[]): Promise<number> {
  const argv = rewriteLegacyArgv(given); // the 2015 binary's `-address=…` form
  try {
    const cli = yargs(argv);
    await addCommands(cli, argv);
    await cli
      .scriptName('bootcfg')
      .usage('$0 <command> [options]')
      .env('BOOTCFG')
      .middleware((args) => ignoreOtherCommandsEnv(args, argv, declaredOptions(cli)), true)
      .demandCommand(1, 'name a command (bootcfg --help lists them)')
      .strict()
      .help()
      .alias('help', 'h')
      .version()
      .wrap(Math.max(100, Math.min(130, process.stdout.columns || 130)))
      .epilogue('bootcfg compiles network-boot configs (iPXE, Pixiecore, cloud-config) from a data directory into dist/ and serves them.\nEvery flag can also be set as BOOTCFG_<FLAG> in the environment (BOOTCFG_DATA_PATH, BOOTCFG_ADDRESS, …); flags win.\nDocs: README.md, docs/http.md (URL contract), docs/dist-layout.md.')
      .exitProcess(false)
      .fail((message, error) => {
        throw error ?? new UsageError(message, { hint: 'run `bootcfg --help` or `bootcfg <command> --help`' });
      })
      .parseAsync();
    return 0;
  } catch (error) {
    if (error instanceof ExitStatus) return error.exitCode;
    process.stderr.write(`${formatError(error)}\n`);
    return error instanceof BootcfgError ? error.exitCode : 1;
  }
}

/**
 * One environment often serves several commands (/etc/default/bootcfg, a container image):
 * a BOOTCFG_* variable the running command does not take is ignored rather than failing it
 * as an unknown flag. A flag typed on the command line is still checked strictly.
 */
function ignoreOtherCommandsEnv(args: Record<string, unknown>, argv: readonly string[], known: Record<string, unknown>): void {
  const fromEnv = Object.keys(process.env)
    .filter((name) => name.startsWith('BOOTCFG_'))
    .map((name) => name.slice('BOOTCFG_'.length).toLowerCase().replace(/_/g, '-'));
  const typed = new Set(argv.filter((arg) => arg.startsWith('--')).map((arg) => arg.slice(2).split('=')[0]));
  for (const flag of fromEnv) {
    if (flag in known || typed.has(flag)) continue;
    delete args[flag];
    delete args[flag.replace(/-(.)/g, (_, c: string) => c.toUpperCase())];
  }
}

/** The options yargs knows for the command being run (getOptions() is public API missing from @types/yargs). */
function declaredOptions(cli: unknown): Record<string, unknown> {
  return (cli as { getOptions(): { key: Record<string, unknown> } }).getOptions().key;
}
