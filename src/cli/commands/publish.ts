// `bootcfg publish`: the static layout of the data, published to a directory or an rclone
// remote that any plain static host serves (docs/static.md). Progress goes to stderr, one line
// per step; the last line says what is live. Exit 0 when published (or, with --dry-run, when it
// would be), 1 when the build or the destination fails, 2 for a bad flag.

import { registering, type CommandRun } from './index.js';
import { UsageError } from '../../compile/errors.js';
import { DEFAULT_KEEP, checkBaseUrl, publish, rollback } from '../../publish/publish.js';
import { dataPath, repoOptions, type RepoArgs } from '../options.js';
import { formatWarnings, terminalProgress } from '../report.js';
import { inRepo, repoSource } from './repo.js';

interface Args extends RepoArgs {
  to: string;
  'base-url'?: string;
  'data-path': string;
  'images-path'?: string;
  keep: number;
  'dry-run': boolean;
  rollback?: string;
}

const command: CommandRun<Args> = {
  builder: (yargs) => yargs.options({
    to: { type: 'string', demandOption: true, describe: 'a local directory, or an rclone remote (name:bucket/prefix) [env BOOTCFG_TO]' },
    'base-url': { type: 'string', describe: 'the absolute URL the tree is served at; machines chain <base-url>/boot.ipxe [env BOOTCFG_BASE_URL]' },
    'data-path': dataPath,
    'images-path': { type: 'string', describe: 'publish the kernels and initrds the configs boot from this directory to <to>/images/ (each must exist) [env BOOTCFG_IMAGES_PATH]' },
    keep: { type: 'number', default: DEFAULT_KEEP, describe: 'published revisions kept besides the live one (at least 1) [env BOOTCFG_KEEP]' },
    'dry-run': { type: 'boolean', default: false, describe: 'compile and compare with the destination, write nothing' },
    rollback: { type: 'string', describe: 'point boot.ipxe at this already published revision (its directory or a unique prefix, e.g. the commit SHA); nothing else is written' },
    ...repoOptions,
  })
    .example('$0 publish --to /srv/www/boot --base-url http://boot.example.com', 'publish ./data for a plain nginx serving /srv/www/boot')
    .example('$0 publish --to s3:fleet-boot/prod --base-url https://fleet-boot.s3.amazonaws.com/prod --images-path ./images', 'publish through rclone to S3, images included')
    .example('$0 publish --to s3:fleet-boot/prod --rollback 3f9c2a1', 'switch back to an earlier revision'),
  handler: async (args) => {
    const say = (line: string) => process.stderr.write(`${line}\n`);
    if (args.rollback !== undefined) {
      const dir = await rollback(args.to, args.rollback, say);
      say(`rolled back ${args.to} to revs/${dir}`);
      return;
    }
    if (args['base-url'] === undefined) throw new UsageError('publish needs --base-url', { hint: 'the absolute URL the tree will be served at: resolved config URLs and kernels point under it' });
    if (!Number.isInteger(args.keep) || args.keep < 1 || args.keep > 1000) {
      throw new UsageError(`invalid --keep ${args.keep}`, { hint: 'keep from 1 to 1000 earlier revisions: a machine that read the old entry point a moment ago is still walking the one before' });
    }
    const baseUrl = checkBaseUrl(args['base-url']);
    const status = terminalProgress(process.stderr);
    const report = (line: string) => {
      status.clear();
      say(line);
    };
    try {
      const source = await repoSource(args);
      const result = await inRepo(source, () => publish({
        dataPath: source.dataPath,
        revision: source.revision,
        source: source.source ?? source.dataPath,
        to: args.to,
        baseUrl,
        imagesPath: args['images-path'],
        keep: args.keep,
        dryRun: args['dry-run'],
        progress: status.progress,
        say: report,
      }));
      status.clear();
      process.stderr.write(formatWarnings(result.warnings));
      const pruned = result.pruned.length ? `; ${args['dry-run'] ? 'would prune' : 'pruned'} ${result.pruned.length}` : '';
      say(args['dry-run']
        ? `dry run: revision ${result.revision} would be published to ${args.to} as revs/${result.dir} (${result.content.copied} files to copy)${pruned}; nothing written`
        : `published revision ${result.revision} to ${args.to} as revs/${result.dir}: machines chaining ${baseUrl}/boot.ipxe boot it${pruned}`);
    } finally {
      status.clear();
    }
  },
};
export default registering(command);
