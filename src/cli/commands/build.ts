// `bootcfg build`: compile the data directory into a new dist snapshot. Warnings are printed
// before the summary line; they do not fail the build.

import { registering, type CommandRun } from './index.js';
import { build, formatBuild } from '../../build/build.js';
import { checkImagesPath, dataPath, distPath, repoOptions, type RepoArgs } from '../options.js';
import { formatWarnings, terminalProgress } from '../report.js';
import { inRepo, repoSource } from './repo.js';

interface Args extends RepoArgs {
  'data-path': string;
  'dist-path': string;
  'images-path'?: string;
}

const command: CommandRun<Args> = {
  builder: (yargs) => yargs.options({ 'data-path': dataPath, 'dist-path': distPath, 'images-path': checkImagesPath, ...repoOptions })
    .example('$0 build --data-path ./data --dist-path ./dist', 'compile ./data into ./dist/current'),
  handler: async (args) => {
    const status = terminalProgress(process.stderr);
    try {
      const source = await repoSource(args);
      const result = await inRepo(source, () => build({ ...source, distPath: args['dist-path'], imagesPath: args['images-path'], progress: status.progress }));
      status.clear();
      process.stderr.write(`${formatWarnings(result.warnings)}${formatBuild(result)}\n`);
    } finally {
      status.clear();
    }
  },
};
export default registering(command);
