// `bootcfg import matchbox SRC DEST`: one command from a matchbox data directory to a bootcfg
// one. Reading and writing happen here and in import/source.ts; the conversion itself is the
// pure import/matchbox.ts. Nothing is written unless everything translates (or --force).

import type { CommandModule } from 'yargs';
import { registering, type CommandRun } from './index.js';
import { ErrorList, ExitStatus } from '../../compile/errors.js';
import { importMatchbox, type ImportResult } from '../../import/matchbox.js';
import { readMatchboxDir, writeImport } from '../../import/source.js';
import { formatError } from '../report.js';

interface Args {
  src: string;
  dest: string;
  groups?: string;
  'keep-assets': boolean;
  force: boolean;
}

const matchboxCommand: CommandModule<object, Args> = {
  command: 'matchbox <src> <dest>',
  describe: 'Turn a matchbox data directory (profiles/, groups/, cloud/, generic/, ignition/) into a bootcfg one',
  builder: (yargs) =>
    yargs
      .positional('src', { describe: 'matchbox data directory (its -data-path)', type: 'string', demandOption: true })
      .positional('dest', { describe: 'new bootcfg data directory (must not exist, or be empty)', type: 'string', demandOption: true })
      .options({
        groups: { describe: 'read groups from DIR instead of SRC/groups (e.g. one of matchbox\'s examples/groups/<name>)', type: 'string', requiresArg: true },
        'keep-assets': { describe: 'keep /assets/ paths (default: rewrite them to /images/, where bootcfg serves kernels; build refuses kernel and initrd paths outside /images/, so rewrite those yourself)', type: 'boolean', default: false },
        force: { describe: 'write what translates even when some templates do not (exit status stays 1)', type: 'boolean', default: false },
      })
      .example('$0 import matchbox /var/lib/matchbox ./data', 'import, then: bootcfg validate --data-path ./data')
      .epilogue(
        'Go templates become handlebars; every construct that cannot be translated is reported as file:line:col.\n' +
          'Exit 0: imported. Exit 1: problems found (nothing written, unless --force). Exit 2: usage.\n' +
          'Differences from matchbox and how to migrate: docs/matchbox-migration.md.',
      ),
  handler: async (args) => {
    const source = await readMatchboxDir(args.src, args.groups);
    const result = importMatchbox(source, { keepAssets: args['keep-assets'] });
    for (const note of result.notes) process.stderr.write(`note: ${note}\n`);
    const failed = result.problems.length > 0;
    if (failed) process.stderr.write(`${formatError(new ErrorList(result.problems))}\n`);
    if (failed && !args.force) {
      process.stderr.write(`nothing written to ${args.dest} (fix the problems above, or pass --force to write what translates)\n`);
      throw new ExitStatus(1);
    }
    await writeImport(args.dest, result.files);
    process.stdout.write(`${summary(result, args.dest)}\n`);
    if (failed) throw new ExitStatus(1);
  },
};

function summary(result: ImportResult, dest: string): string {
  const { profiles, groups, translated, copied } = result.counts;
  return `imported ${profiles} profiles, ${groups} groups, ${translated} templates translated, ${copied} copied into ${dest}; next: bootcfg validate --data-path ${dest}`;
}

const command: CommandRun<object> = {
  builder: (yargs) => yargs.command(matchboxCommand).demandCommand(1, 'name what to import from: matchbox'),
  handler: () => {},
};
export default registering(command);
