// The command line: yargs parses, a command's handler does the work, and main() owns what the
// process prints on failure and its exit code (0 ok, 1 failed build or validation, 2 usage).

import yargs from 'yargs';
import buildCommand from './commands/build.js';
import imagesCommand from './commands/images.js';
import serveCommand from './commands/serve.js';
import validateCommand from './commands/validate.js';
import { BootcfgError, ExitStatus, UsageError } from './errors.js';
import { formatError } from './report.js';

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await yargs([...argv])
      .scriptName('bootcfg')
      .usage('$0 <command> [options]')
      .env('BOOTCFG')
      .command(buildCommand)
      .command(serveCommand)
      .command(validateCommand)
      .command(imagesCommand)
      .demandCommand(1, 'name a command: build, serve or validate')
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
