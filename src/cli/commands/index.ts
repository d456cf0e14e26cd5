// The commands, as `bootcfg --help` lists them, and the module that has each one's options and
// work. A command's module is loaded only when its name is on the command line: `serve` runs for
// weeks, and held every other command's code too (openpgp for `images`, the importer, publish):
// ~12 MB of resident memory at rest over a small dist, ~4 MB at 100k machines, where V8 flushes
// the unused bytecode in the end (docs/BENCHMARKS.md); `bootcfg --version` loads none of them.

import type { Argv, CommandModule } from 'yargs';

/** A command's options and its work, as its module has them (its name and summary are below). */
export type CommandRun<Args> = Required<Pick<CommandModule<object, Args>, 'builder' | 'handler'>>;

/** A command's name with its positionals, as yargs takes it (`diff <from> <to>`), and its summary. */
export interface CommandSummary {
  command: string;
  describe: string;
}

/** What a command's module exports: the command given to yargs whole, under its summary. */
export type Register = (cli: Argv, summary: CommandSummary) => void;

/** A module's Register for its options and work (typed by its own arguments, which yargs checks there). */
export function registering<Args>(run: CommandRun<Args>): Register {
  return (cli, summary) => {
    cli.command({ ...summary, ...run });
  };
}

interface CommandEntry extends CommandSummary {
  load(): Promise<Register>;
}

const COMMANDS: readonly CommandEntry[] = [
  {
    command: 'build',
    describe: 'Compile the data directory into dist/ (writes only what changed; a failed build writes nothing)',
    load: async () => (await import('./build.js')).default,
  },
  {
    command: 'serve',
    describe: 'Serve dist/ to iPXE, Pixiecore and booting machines (building first with --data-path)',
    load: async () => {
      // Before serve's modules load: loading them alone grew the young generation to 8 MB a semi-space.
      (await import('../../serve/collect.js')).keepYoungGenerationSmall();
      return (await import('./serve.js')).default;
    },
  },
  {
    command: 'validate',
    describe: 'Check the data directory as build would, report every problem and warning, write nothing',
    load: async () => (await import('./validate.js')).default,
  },
  {
    command: 'nginx',
    describe: 'Print an nginx server block (include it inside http { }) that serves dist/ by the same URL contract, for the selector shapes of the live build',
    load: async () => (await import('./nginx.js')).default,
  },
  {
    command: 'publish',
    describe: 'Publish the static layout to a directory or an rclone remote: content first, the entry point boot.ipxe last',
    load: async () => (await import('./publish.js')).default,
  },
  {
    command: 'diff <from> <to>',
    describe: "Show which machines' answers change between two revisions or data directories (exit 1 if any)",
    load: async () => (await import('./diff.js')).default,
  },
  {
    command: 'images <command>',
    describe: 'Manage OS images served at /images/',
    load: async () => (await import('./images.js')).default,
  },
  {
    command: 'import <format>',
    describe: 'Import another tool\'s data directory (matchbox)',
    load: async () => (await import('./import.js')).default,
  },
  {
    command: 'machines [machine]',
    describe: 'Show what each machine and group boots (from a build) and what machines did boot (from access logs)',
    load: async () => (await import('./machines.js')).default,
  },
];

/** A command's name: the first word of its yargs command. */
function commandName(entry: CommandEntry): string {
  return entry.command.split(' ')[0]!;
}

/** Stands in for a command that is not being run: yargs lists it in --help, and never runs it. */
const NOT_RUN = registering<object>({
  builder: (yargs) => yargs,
  handler: () => {
    throw new Error('bug: a command ran that was not loaded');
  },
});

/**
 * Gives yargs the commands for `argv`: each one whose name is a word of it loaded whole, the
 * others as a name and summary only. A word that only looks like a command (a flag's value named
 * `serve`) loads one more module than needed, never one too few.
 */
export async function addCommands(cli: Argv, argv: readonly string[]): Promise<void> {
  const words = new Set(argv);
  const registers = await Promise.all(COMMANDS.map((entry) => (words.has(commandName(entry)) ? entry.load() : NOT_RUN)));
  COMMANDS.forEach((entry, i) => registers[i]!(cli, { command: entry.command, describe: entry.describe }));
}
