// Flatcar Container Linux releases, as laid out on its release hosts:
//   https://<channel>.release.flatcar-linux.net/amd64-usr/<version>/   (arm64-usr for --arch aarch64)
//     flatcar_production_pxe.vmlinuz(.sig)          PXE kernel
//     flatcar_production_pxe_image.cpio.gz(.sig)    PXE initrd
//     version.txt(.sig)                             FLATCAR_VERSION=<version>, …
// `current` (and, on the LTS channel, `current-<year>`) is an alias directory for the newest
// release. We resolve it first
// (through the signed version.txt) and then fetch from the concrete version's directory, so
// a release published mid-download cannot mix two versions into one images/ directory.
// Since 2024 the PXE kernel is the generic image kernel; releases from before its own .sig
// existed are covered by also accepting flatcar_production_image.vmlinuz.sig.

import { UsageError, SourceError } from '../compile/errors.js';
import { getBytes, HttpStatusError } from './http.js';
import { joinUrl, safeSegment, type Arch, type Release, type ReleaseFile } from './release.js';
import { verifyDetached, type PublicKey } from './verify.js';

export const FLATCAR_CHANNELS = ['stable', 'beta', 'alpha', 'lts'] as const;
export type FlatcarChannel = (typeof FLATCAR_CHANNELS)[number];

export interface FlatcarOptions {
  channel: FlatcarChannel;
  /** A version like 4152.2.3, or "current". */
  version: string;
  /** Directory that holds <version>/ directories; default: the channel's amd64-usr (arm64-usr). */
  mirror?: string;
  /** Default x86_64. The arm64 release has the same file names, so it goes to images/flatcar-arm64/. */
  arch?: Arch;
  keys: PublicKey[];
}

const KERNEL = 'flatcar_production_pxe.vmlinuz';
const INITRD = 'flatcar_production_pxe_image.cpio.gz';
const VERSION_TXT = 'version.txt';

/** The official base for a channel: the directory holding <version>/ directories. */
export function flatcarBase(channel: FlatcarChannel, arch: Arch = 'x86_64'): string {
  return `https://${channel}.release.flatcar-linux.net/${arch === 'aarch64' ? 'arm64-usr' : 'amd64-usr'}`;
}

/** Resolves `current` if asked and lists the files of one Flatcar release. */
export async function planFlatcar(options: FlatcarOptions): Promise<Release> {
  const arch = options.arch ?? 'x86_64';
  const base = options.mirror ?? flatcarBase(options.channel, arch);
  const version = isAlias(options.version) ? await resolveAlias(base, options.version, options.keys) : options.version;
  if (!safeSegment(version)) {
    throw new UsageError(`invalid Flatcar version "${version}"`, { hint: 'use a version like 4152.2.3, or current' });
  }
  const dir = joinUrl(base, version);
  const signed = (name: string, role: ReleaseFile['role'], extraSigs: string[] = []): ReleaseFile => ({
    name,
    role,
    url: joinUrl(dir, name),
    check: { kind: 'openpgp', signatureUrls: [joinUrl(dir, `${name}.sig`), ...extraSigs.map((s) => joinUrl(dir, s))] },
  });
  return {
    os: arch === 'aarch64' ? 'flatcar-arm64' : 'flatcar',
    name: 'Flatcar Container Linux',
    variant: 'flatcar',
    arch,
    version,
    files: [
      signed(KERNEL, 'kernel', ['flatcar_production_image.vmlinuz.sig']),
      signed(INITRD, 'initrd'),
      signed(VERSION_TXT, 'metadata'),
    ],
    // Makes the PXE-booted system run Ignition; add ignition.config.url to give it a config.
    cmdline: { 'flatcar.first_boot': '1' },
  };
}

/** `current`, or an LTS stream's `current-2024`: directories that move to each new release. */
function isAlias(version: string): boolean {
  return /^current(-\d{4})?$/.test(version);
}

// version.txt of an alias, verified in memory before its FLATCAR_VERSION is believed.
async function resolveAlias(base: string, alias: string, keys: PublicKey[]): Promise<string> {
  const url = joinUrl(base, alias, VERSION_TXT);
  let text: Buffer;
  let sig: Buffer;
  try {
    [text, sig] = await Promise.all([getBytes(url), getBytes(`${url}.sig`)]);
  } catch (error) {
    if (error instanceof HttpStatusError && error.status === 404) {
      throw new SourceError(`no ${alias} release at ${joinUrl(base, alias)}/`, {
        hint: 'check --channel and --mirror (the mirror is the directory holding <version>/ directories, e.g. …/amd64-usr)',
        cause: error,
      });
    }
    throw error;
  }
  await verifyDetached({ bytes: text }, sig, keys, url);
  const version = parseVersionTxt(text.toString('utf8'));
  if (!version) {
    throw new SourceError('version.txt names no FLATCAR_VERSION', { file: url, hint: 'check that --mirror points at a Flatcar release mirror' });
  }
  return version;
}

/** FLATCAR_VERSION from a version.txt (shell variable assignments). */
export function parseVersionTxt(text: string): string | undefined {
  const match = /^FLATCAR_VERSION=["']?([^"'\s]+)["']?\s*$/m.exec(text);
  return match?.[1];
}
