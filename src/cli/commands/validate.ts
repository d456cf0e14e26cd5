// `bootcfg validate`: every check build makes, all problems at once, nothing written.
// It is what a config repo's CI runs on every pull request.

import type { CommandModule } from 'yargs';
import { compile } from '../../build/build.js';
import { BootcfgError, ExitStatus } from '../../compile/errors.js';
import { dataPath, format } from '../options.js';
import { formatError, problems } from '../report.js';
import { inRepo, repoOptions, repoSource, type RepoArgs } from './repo.js';

interface Args extends RepoArgs {
  'data-path': string;
  format: 'text' | 'json';
}

const command: CommandModule<object, Args> = {
  command: 'validate',
  describe: 'Check the data directory as build would, report every problem, write nothing',
  builder: (yargs) => yargs.options({ 'data-path': dataPath, format, ...repoOptions })
    .example('$0 validate --data-path ./data --format json', 'machine-readable report for CI'),
  handler: async (args) => {
    const json = args.format === 'json';
    try {
      const source = await repoSource(args);
      const compiled = await inRepo(source, () => compile(source.dataPath, source));
      const files = compiled.files.size;
      process.stdout.write(json ? `${JSON.stringify({ ok: true, revision: compiled.revision, configs: compiled.inputs, files, errors: [] })}\n` : `ok: ${compiled.inputs} configs compile to ${files} files (revision ${compiled.revision})\n`);
    } catch (error) {
      if (!(error instanceof BootcfgError)) throw error;
      if (json) process.stdout.write(`${JSON.stringify({ ok: false, errors: problems(error).map((p) => p.toJSON()) })}\n`);
      else process.stderr.write(`${formatError(error)}\n`);
      throw new ExitStatus(error.exitCode);
    }
  },
};
export default command;
