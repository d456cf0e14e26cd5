// The flags commands share, declared once. Every flag can also come from the environment as
// BOOTCFG_<FLAG> (cli.ts turns on yargs' env support); a flag on the command line wins.

import type { Options } from 'yargs';
import { UsageError } from '../compile/errors.js';
import type { ActivityOptions } from '../fleet/activity.js';

export const dataPath = {
  type: 'string',
  default: './data',
  describe: 'data directory: profiles/ and groups/, boot/ and cloud/ configs, templates [env BOOTCFG_DATA_PATH]',
} satisfies Options;

export const distPath = {
  type: 'string',
  default: './dist',
  describe: 'where compiled configs go: dist/current -> dist/revs/<snapshot> [env BOOTCFG_DIST_PATH]',
} satisfies Options;

export const imagesPath = {
  type: 'string',
  default: './images',
  describe: 'static assets (kernels, initrds) served at /images/ [env BOOTCFG_IMAGES_PATH]',
} satisfies Options;

/** build and validate: the images directory to check kernels and initrds against (no default: no check). */
export const checkImagesPath = {
  type: 'string',
  describe: 'fail when a kernel or initrd under /images/ is not a file in this directory [env BOOTCFG_IMAGES_PATH]',
} satisfies Options;

export const address = {
  type: 'string',
  default: '127.0.0.1:8080',
  describe: 'HOST:PORT to listen on; port 0 picks a free one [env BOOTCFG_ADDRESS]',
} satisfies Options;

export const format = {
  choices: ['text', 'json'] as const,
  default: 'text' as const,
  describe: 'report as text for people or JSON for tools [env BOOTCFG_FORMAT]',
} satisfies Options;

/** build, validate, diff, machines, publish and serve: the data directory from a git repo (src/cli/commands/repo.ts does the fetching). */
export const repoOptions = {
  repo: {
    type: 'string',
    describe: 'build from this git repo (URL or path) instead of --data-path; its root is the data directory [env BOOTCFG_REPO]',
  },
  ref: {
    type: 'string',
    describe: 'branch, tag or commit SHA of --repo (default: the remote HEAD) [env BOOTCFG_REF]',
  },
  'cache-path': {
    type: 'string',
    describe: 'where --repo is mirrored (default ./.cache/repos) [env BOOTCFG_CACHE_PATH]',
  },
} satisfies Record<string, Options>;

/** serve --repo only: how to follow the ref. */
export const followOptions = {
  'pull-interval': {
    type: 'number',
    default: 60,
    describe: 'serve --repo: seconds between fetches, 0 for webhook only [env BOOTCFG_PULL_INTERVAL]',
  },
  // Environment only (a flag would show the secret in `ps`); declared so that yargs reads it.
  'webhook-secret': {
    type: 'string',
    hidden: true,
    describe: 'serve --repo: HMAC secret of POST /-/hooks/git [env BOOTCFG_WEBHOOK_SECRET only]',
  },
} satisfies Record<string, Options>;

export interface RepoArgs {
  repo?: string;
  ref?: string;
  'cache-path'?: string;
  'data-path'?: string;
  'webhook-secret'?: string;
}

/** machines and serve's fleet view: what counts as a boot, an install loop. */
export const activityOptions = {
  window: { type: 'number', default: 24 * 60, describe: 'count boots within this many minutes before the newest log line [env BOOTCFG_WINDOW]' },
  'loop-count': { type: 'number', default: 3, describe: 'an install loop: the same boot answer this many times … [env BOOTCFG_LOOP_COUNT]' },
  'loop-minutes': { type: 'number', default: 30, describe: '… within this many minutes [env BOOTCFG_LOOP_MINUTES]' },
} as const;

/** The activity flags as machines and the fleet view take them: whole numbers within bounds, else a usage error. */
export function checkActivity(args: { window: number; 'loop-count': number; 'loop-minutes': number }): ActivityOptions {
  const check = (flag: string, value: number, max: number) => {
    if (!Number.isInteger(value) || value < 1 || value > max) throw new UsageError(`invalid --${flag} ${value}`, { hint: `give a whole number from 1 to ${max}` });
    return value;
  };
  return {
    windowMinutes: check('window', args.window, 366 * 24 * 60),
    loopCount: check('loop-count', args['loop-count'], 1000),
    loopMinutes: check('loop-minutes', args['loop-minutes'], 7 * 24 * 60),
  };
}
