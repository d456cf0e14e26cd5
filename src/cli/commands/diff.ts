// `bootcfg diff FROM TO`: what a change does to the fleet, before it lands. Each side is a data
// directory or a revision of a repo (the current directory's, or --repo's); both are compiled
// with the real pipeline and their outputs compared, so the report shows the answers machines
// will get, not the data files, and which groups they come from. Exit 0 when nothing changes,
// 1 when something does, 2 on error.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registering, type CommandRun } from './index.js';
import { compile, type Compiled } from '../../build/build.js';
import { ExitStatus } from '../../compile/errors.js';
import { compareBuilds, formatJson, formatText } from '../../git/diff.js';
import { exportLocalRevision, fetchRevision, isDirectory, type Revision } from '../../git/fetch.js';
import { format, repoOptions } from '../options.js';
import { exitWith, inRepo } from './repo.js';

interface Args {
  from: string;
  to: string;
  repo?: string;
  'cache-path'?: string;
  format: 'text' | 'json';
  summary: boolean;
}

/** Both sides compile with the same revision stamp, so only real differences show. */
const STAMP = 'bootcfg-diff';

const command: CommandRun<Args> = {
  builder: (yargs) => yargs
    .positional('from', { type: 'string', demandOption: true, describe: 'data directory, or revision (branch, tag, SHA) of the repo' })
    .positional('to', { type: 'string', demandOption: true, describe: 'data directory, or revision of the repo' })
    .options({
      ...repoOptions,
      repo: { ...repoOptions.repo, describe: 'repo the revisions belong to (default: the current directory\'s) [env BOOTCFG_REPO]' },
      ref: { ...repoOptions.ref, hidden: true },
      format,
      summary: { type: 'boolean', default: false, describe: 'text format: who changes, without the per-file diffs' },
    })
    .example('$0 diff origin/main HEAD', 'in a config repo\'s CI: the blast radius of a pull request')
    .example('$0 diff ./data-old ./data --format json', 'compare two data directories, for tools'),
  handler: async (args) => {
    let report;
    // Revisions of a local repo are exported to a throw-away directory (not ./.cache inside the
    // repo CI checked out); a remote --repo keeps its mirror in the usual cache.
    const scratch = !args['cache-path'] && (!args.repo || isDirectory(args.repo)) ? await mkdtemp(join(tmpdir(), 'bootcfg-diff-')) : undefined;
    const options = { ...args, 'cache-path': args['cache-path'] ?? scratch };
    try {
      const [from, to] = [await side(args.from, options), await side(args.to, options)];
      const [before, after] = [await compileSide(from), await compileSide(to)];
      report = compareBuilds(from.label, to.label, before.files, after.files, { from: before.origins, to: after.origins });
    } catch (error) {
      exitWith(2, error);
    } finally {
      if (scratch) await rm(scratch, { recursive: true, force: true });
    }
    process.stdout.write(args.format === 'json' ? formatJson(report) : formatText(report, { diffs: !args.summary }));
    if (report.changed) throw new ExitStatus(1);
  },
};
export default registering(command);

interface Side {
  label: string;
  dataPath: string;
  revision?: Revision;
}

/** A directory is a data directory; anything else is a revision of --repo (or of "."). */
async function side(name: string, args: Args): Promise<Side> {
  if (!args.repo && isDirectory(name)) return { label: name, dataPath: name };
  const revision = args.repo && !isDirectory(args.repo)
    ? await fetchRevision({ repo: args.repo, ref: name, cachePath: args['cache-path'] })
    : await exportLocalRevision(args.repo ?? '.', name, args['cache-path']);
  return { label: `${name} (${revision.sha.slice(0, 12)})`, dataPath: revision.dataPath, revision };
}

async function compileSide(side: Side): Promise<Compiled> {
  return inRepo({ dataPath: side.dataPath, fetched: side.revision }, () => compile(side.dataPath, { revision: STAMP }));
}
