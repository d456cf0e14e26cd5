// `bootcfg images fetch flatcar|fcos`: the seed's get-coreos script, for today's
// distributions. Downloads a release's PXE kernel and initrd into images/<os>/<version>/,
// verified, and prints on stdout a boot config (JSON) that points at them, so
// `bootcfg images fetch flatcar > data/boot/default` is a working start — or, with --print,
// a profile or a Butane starter naming the same files (src/images/starter.ts).

import type { Argv, CommandModule } from 'yargs';
import { registering, type CommandRun } from './index.js';
import { UsageError } from '../../compile/errors.js';
import { FCOS_STREAMS, planFcos, type FcosStream } from '../../images/fcos.js';
import { fetchRelease, type FetchResult } from '../../images/fetch.js';
import { FLATCAR_CHANNELS, planFlatcar, type FlatcarChannel } from '../../images/flatcar.js';
import { makeReporter } from '../../images/progress.js';
import { ARCHES, type Arch, type Release } from '../../images/release.js';
import { bootConfig, butaneStarter, profile, PRINTS, starterId, type Print } from '../../images/starter.js';
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
  arch: Arch;
  print: Print;
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
    process.stderr.write(`${summary(result, release, args.print)}\n`);
    process.stdout.write(printed(args.print, release, result));
  },
};

function printed(print: Print, release: Release, result: FetchResult): string {
  if (print === 'butane') return butaneStarter(release);
  return `${JSON.stringify(print === 'profile' ? profile(release, result) : bootConfig(release, result), null, 2)}\n`;
}

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
    .option('arch', { choices: ARCHES, default: 'x86_64', describe: 'Architecture (aarch64: iPXE\'s arch=arm64); Flatcar aarch64 goes to images/flatcar-arm64/' })
    .option('print', { choices: PRINTS, default: 'boot', describe: 'What to print on stdout: a boot config (data/boot/default), a profile, or a Butane starter for it' })
    .example('$0 images fetch flatcar', 'newest stable Flatcar into ./images/flatcar/<version>/')
    .example('$0 images fetch flatcar --channel beta --version 4230.1.0', 'one beta release')
    .example('$0 images fetch fcos --stream testing > data/boot/default', 'Fedora CoreOS testing, and a boot config for it')
    .example('$0 images fetch fcos --arch aarch64 --print profile > data/profiles/fedora-coreos-aarch64.json', 'arm64 Fedora CoreOS, and a profile using Ignition')
    .example('$0 images fetch fcos --arch aarch64 --print butane > data/ignition/fedora-coreos-aarch64.bu', 'the Butane starter that profile names (the files are kept, not fetched again)') as unknown as Argv<FetchArgs>;
}

async function plan(args: FetchArgs, keys: PublicKey[] | undefined): Promise<Release> {
  const mirror = args.mirror ? checkMirror(args.mirror) : undefined;
  if (keys) return planFlatcar({ channel: args.channel as FlatcarChannel, version: args.version, mirror, keys, arch: args.arch });
  return planFcos({ stream: args.stream as FcosStream, mirror, rootfs: args.rootfs, arch: args.arch });
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

function summary(result: FetchResult, release: Release, print: Print): string {
  const fetched = result.files.filter((f) => f.how === 'fetched').length;
  const id = starterId(release);
  const next = print === 'profile' ? `next: --print butane > data/ignition/${id}.bu` : print === 'boot' ? `for a profile with Ignition: --print profile > data/profiles/${id}.json` : undefined;
  return `${result.dir}: ${fetched} fetched, ${result.files.length - fetched} already verified${next ? ` (${next})` : ''}`;
}

const imagesCommand: CommandRun<object> = {
  builder: (yargs) => yargs.command(fetchCommand).demandCommand(1, 'name a subcommand: fetch'),
  handler: () => undefined,
};

export default registering(imagesCommand);
