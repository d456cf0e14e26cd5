// `bootcfg validate`: every check build makes, all problems at once, nothing written.
// It is what a config repo's CI runs on every pull request. Warnings (an unused profile or
// template, …) are printed too and do not fail it.

import { registering, type CommandRun } from './index.js';
import { compile } from '../../build/build.js';
import { BootcfgError, ExitStatus } from '../../compile/errors.js';
import { checkImagesPath, dataPath, format, repoOptions, type RepoArgs } from '../options.js';
import { formatError, formatWarnings, problems, warningsOf } from '../report.js';
import { inRepo, repoSource } from './repo.js';

interface Args extends RepoArgs {
  'data-path': string;
  'images-path'?: string;
  format: 'text' | 'json';
}

const command: CommandRun<Args> = {
  builder: (yargs) => yargs.options({ 'data-path': dataPath, 'images-path': checkImagesPath, format, ...repoOptions })
    .example('$0 validate --data-path ./data --format json', 'machine-readable report for CI')
    .example('$0 validate --images-path ./images', 'also check that every kernel and initrd under /images/ exists'),
  handler: async (args) => {
    const json = args.format === 'json';
    const toJson = (list: readonly BootcfgError[]) => list.map((p) => p.toJSON());
    try {
      const source = await repoSource(args);
      const compiled = await inRepo(source, () => compile(source.dataPath, { ...source, imagesPath: args['images-path'] }));
      const files = compiled.files.size;
      if (json) process.stdout.write(`${JSON.stringify({ ok: true, revision: compiled.revision, configs: compiled.inputs, files, errors: [], warnings: toJson(compiled.warnings) })}\n`);
      else {
        process.stderr.write(formatWarnings(compiled.warnings));
        const warned = compiled.warnings.length ? `, ${compiled.warnings.length} warning${compiled.warnings.length === 1 ? '' : 's'}` : '';
        process.stdout.write(`ok: ${compiled.inputs} configs compile to ${files} files (revision ${compiled.revision})${warned}\n`);
      }
    } catch (error) {
      if (!(error instanceof BootcfgError)) throw error;
      if (json) process.stdout.write(`${JSON.stringify({ ok: false, errors: toJson(problems(error)), warnings: toJson(warningsOf(error)) })}\n`);
      else process.stderr.write(`${formatWarnings(warningsOf(error))}${formatError(error)}\n`);
      throw new ExitStatus(error.exitCode);
    }
  },
};
export default registering(command);
