// The flags commands share, declared once. Every flag can also come from the environment as
// BOOTCFG_<FLAG> (cli.ts turns on yargs' env support); a flag on the command line wins.

import type { Options } from 'yargs';

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
