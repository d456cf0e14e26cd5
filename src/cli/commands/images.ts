// `bootcfg images fetch flatcar|fcos`: the seed's get-coreos script, for today's
// distributions. Downloads a release's PXE kernel and initrd into images/<os>/<version>/,
// verified, and prints a boot config (JSON) that points at them on stdout, so
// `bootcfg images fetch flatcar > data/boot/default` is a working start.

import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../../compile/errors.js';
import { FCOS_STREAMS, planFcos, type FcosStream } from '../../images/fcos.js';
import { fetchRelease, type FetchResult } from '../../images/fetch.js';
import { FLATCAR_CHANNELS, planFlatcar, type FlatcarChannel } from '../../images/flatcar.js';
import { makeReporter } from '../../images/progress.js';
import type { Release } from '../../images/release.js';
import { loadKeys, type PublicKey } from '../../images/verify.js';

interface FetchArgs {
  os: string;
  'images-path': string;
  mirror?: string;
  channel: string;
  version: string;
  stream: string;
  keyring?: string[];
  rootfs: boolean;
}

const OS_NAMES = ['flatcar', 'fcos', 'fedora-coreos'];

const fetchCommand: CommandModule<object, FetchArgs> = {
  command: 'fetch <os>',
  describe: 'Download and verify a release\'s PXE kernel and initrd into images/<os>/<version>/',
  builder: (yargs) => fetchOptions(yargs),
  handler: async (args) => {
    const keys = args.os === 'flatcar' ? await loadKeys(args.keyring) : undefined;
    const release = await plan(args, keys);
    const result = await fetchRelease(release, { imagesPath: args['images-path'], keys, reporter: makeReporter() });
    process.stderr.write(`${summary(result)}\n`);
    process.stdout.write(`${JSON.stringify(bootConfig(release, result), null, 2)}\n`);
  },
};

function fetchOptions(yargs: Argv): Argv<FetchArgs> {
  return yargs
    .version(false) // --version names the release here, not bootcfg's own version
    .positional('os', { choices: OS_NAMES, describe: 'flatcar (Flatcar Container Linux) or fcos (Fedora CoreOS)', type: 'string', demandOption: true })
    .option('images-path', { type: 'string', default: './images', describe: 'Images directory (served at /images/)' })
    .option('mirror', { type: 'string', describe: 'Mirror base URL (flatcar: the directory holding <version>/, fcos: replaces https://builds.coreos.fedoraproject.org)' })
    .option('channel', { choices: FLATCAR_CHANNELS, default: 'stable', describe: 'flatcar: release channel' })
    .option('version', { type: 'string', default: 'current', describe: 'flatcar: release version, or current' })
    .option('stream', { choices: FCOS_STREAMS, default: 'stable', describe: 'fcos: release stream' })
    .option('keyring', { type: 'string', array: true, describe: 'flatcar: OpenPGP public key file to trust instead of the pinned Flatcar signing key (repeatable)' })
    .option('rootfs', { type: 'boolean', default: true, describe: 'fcos: also fetch the live rootfs (needed to PXE boot; --no-rootfs to skip)' })
    .example('$0 images fetch flatcar', 'newest stable Flatcar into ./images/flatcar/<version>/')
    .example('$0 images fetch flatcar --channel beta --version 4230.1.0', 'one beta release')
    .example('$0 images fetch fcos --stream testing > data/boot/default', 'Fedora CoreOS testing, and a boot config for it') as unknown as Argv<FetchArgs>;
}

async function plan(args: FetchArgs, keys: PublicKey[] | undefined): Promise<Release> {
  const mirror = args.mirror ? checkMirror(args.mirror) : undefined;
  if (keys) return planFlatcar({ channel: args.channel as FlatcarChannel, version: args.version, mirror, keys });
  return planFcos({ stream: args.stream as FcosStream, mirror, rootfs: args.rootfs });
}

function checkMirror(mirror: string): string {
  let url: URL;
  try {
    url = new URL(mirror);
  } catch {
    throw new UsageError(`--mirror is not a URL: ${mirror}`, { hint: 'give an http:// or https:// URL' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--mirror must be http or https, not ${url.protocol}`, { hint: 'give an http:// or https:// URL' });
  }
  return mirror;
}

function summary(result: FetchResult): string {
  const fetched = result.files.filter((f) => f.how === 'fetched').length;
  return `${result.dir}: ${fetched} fetched, ${result.files.length - fetched} already verified`;
}

/** A data/boot file for this release, with URLs as bootcfg serve answers them. */
export function bootConfig(release: Release, result: FetchResult): { kernel: string; initrd: string[]; cmdline: Record<string, string> } {
  const url = (name: string): string => `/images/${release.os}/${release.version}/${name}`;
  const named = (role: string): string[] => result.files.filter((f) => f.role === role).map((f) => url(f.name));
  return {
    kernel: named('kernel')[0] ?? '',
    initrd: [...named('initrd'), ...named('rootfs')],
    cmdline: release.cmdline,
  };
}

const imagesCommand: CommandModule = {
  command: 'images <command>',
  describe: 'Manage OS images served at /images/',
  builder: (yargs) => yargs.command(fetchCommand).demandCommand(1, 'name a subcommand: fetch'),
  handler: () => undefined,
};

export default imagesCommand;
