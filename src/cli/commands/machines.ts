// `bootcfg machines`: what every machine and group of a build will boot, and — from access
// logs of bootcfg serve or of nginx with the generated block — what machines did boot: last
// seen, revision served, boots in a window, install loops, unknown machines, machines that
// never fetched their OS config. The same report /-/machines shows (src/fleet/).

import { fstatSync } from 'node:fs';
import { registering, type CommandRun } from './index.js';
import { compile } from '../../build/build.js';
import { Activity } from '../../fleet/activity.js';
import { viewOfCompiled, type BuildView } from '../../fleet/build-view.js';
import { viewOfDist } from '../../fleet/dist.js';
import { STDIN, readLogs } from '../../fleet/read-logs.js';
import { fleetReport, formatReport, matches, entryFields, machineFields } from '../../fleet/report.js';
import { activityOptions, checkActivity, distPath, format, repoOptions, type RepoArgs } from '../options.js';
import { inRepo, repoSource } from './repo.js';

interface Args extends RepoArgs {
  machine?: string;
  'dist-path': string;
  'access-log'?: string[];
  format: 'text' | 'json';
  window: number;
  'loop-count': number;
  'loop-minutes': number;
}


const command: CommandRun<Args> = {
  builder: (yargs) => yargs
    .positional('machine', { type: 'string', describe: 'show only machines and groups whose row contains this text (a MAC, a group…)' })
    .options({
      'data-path': { type: 'string', describe: 'compile this data directory [env BOOTCFG_DATA_PATH]' },
      ...repoOptions,
      'dist-path': { ...distPath, describe: 'without --data-path or --repo: read the live build of this dist directory [env BOOTCFG_DIST_PATH]' },
      'access-log': { type: 'string', array: true, describe: 'bootcfg serve\'s JSON access log or nginx\'s (the generated block\'s format); - or a pipe: standard input [env BOOTCFG_ACCESS_LOG]' },
      ...activityOptions,
      format,
    })
    .example('$0 machines --dist-path /srv/bootcfg --access-log /var/log/nginx/bootcfg.log', 'the live build and what nginx answered')
    .example('journalctl -u bootcfg -o cat | $0 machines 52:54:00:89:d8:10', 'one machine, from serve\'s log on standard input'),
  handler: async (args) => {
    const options = checkActivity(args);
    const build = await readBuild(args);
    const activity = new Activity(build, options);
    const sources = logSources(args['access-log']);
    const progress = terminalLine(process.stderr);
    try {
      await readLogs(activity, sources, progress.show);
    } finally {
      progress.clear();
    }
    const report = fleetReport(build, activity, options, sources.length > 0);
    const filter = args.machine === undefined ? undefined : normalizeFilter(args.machine);
    if (args.format === 'json') {
      const shown = filter === undefined ? report : { ...report, entries: report.entries.filter((e) => matches(filter, ...entryFields(e))), machines: report.machines.filter((m) => matches(filter, ...machineFields(m))) };
      process.stdout.write(`${JSON.stringify(shown)}\n`);
    } else process.stdout.write(formatReport(report, filter));
  },
};
export default registering(command);

async function readBuild(args: Args): Promise<BuildView> {
  if (args.repo || args['data-path'] !== undefined) {
    const source = await repoSource(args);
    const compiled = await inRepo(source, () => compile(source.dataPath, source));
    return viewOfCompiled(compiled, source.source ?? source.dataPath);
  }
  return viewOfDist(args['dist-path']);
}

/** The logs to read: the flags', else standard input when it is a pipe, a socket or a file (never a terminal). */
function logSources(given: string[] | undefined): string[] {
  if (given && given.length > 0) return given;
  try {
    const stdin = fstatSync(0);
    return stdin.isFIFO() || stdin.isFile() || stdin.isSocket() ? [STDIN] : []; // a pipe, a redirected file, a spawned child's pipe
  } catch {
    return [];
  }
}

/** A MAC in any spelling finds its machine: rows show `52-54-00-…`. */
function normalizeFilter(text: string): string {
  return /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i.test(text) ? text.toLowerCase().replace(/:/g, '-') : text;
}

/** One rewritten line on a terminal, at most every 100 ms; nothing elsewhere. */
function terminalLine(out: NodeJS.WriteStream): { show(bytes: number, total: number, lines: number): void; clear(): void } {
  if (!out.isTTY) return { show() {}, clear() {} };
  let at = 0;
  let shown = false;
  return {
    show(bytes, total, lines) {
      const now = Date.now();
      if (now - at < 100) return;
      at = now;
      shown = true;
      const done = total ? ` ${Math.floor((bytes / total) * 100)}%` : '';
      out.write(`\r\x1b[Kreading logs${done}: ${lines} lines, ${(bytes / 1e6).toFixed(1)} MB…`);
    },
    clear() {
      if (shown) out.write('\r\x1b[K');
    },
  };
}
