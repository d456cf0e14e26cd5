// Fedora CoreOS releases, found through stream metadata:
//   https://builds.coreos.fedoraproject.org/streams/<stream>.json
//     architectures.<arch>.artifacts.metal.release                 e.g. 43.20251024.3.0
//     architectures.<arch>.artifacts.metal.formats.pxe.{kernel,initramfs,rootfs}.{location,sha256}
// <arch> is x86_64 or aarch64 (--arch); both land in images/fedora-coreos/<release>/, since
// every file name carries its architecture.
// Each file is checked against the sha256 in that metadata, which is fetched over TLS from
// the release host (or from --mirror, which the operator then trusts for the metadata).
// With --mirror, the metadata comes from <mirror>/streams/<stream>.json and every artifact
// location keeps its path but gets the mirror as its base.
// The live PXE boot needs the rootfs as well as kernel and initramfs (as a second initrd, or
// by URL with coreos.live.rootfs_url); it is fetched unless --no-rootfs.

import { SourceError } from '../compile/errors.js';
import { getBytes, HttpStatusError } from './http.js';
import { joinUrl, safeSegment, type Arch, type Release, type ReleaseFile } from './release.js';

export const FCOS_STREAMS = ['stable', 'testing', 'next'] as const;
export type FcosStream = (typeof FCOS_STREAMS)[number];

export const FCOS_BASE = 'https://builds.coreos.fedoraproject.org';

export interface FcosOptions {
  stream: FcosStream;
  /** Which architecture's artifacts (default x86_64). */
  arch?: Arch;
  /** Replaces https://builds.coreos.fedoraproject.org in every URL. */
  mirror?: string;
  /** Fetch the live rootfs too (default true). */
  rootfs?: boolean;
}

interface Artifact {
  location: string;
  sha256: string;
}

const PARTS = [
  ['kernel', 'kernel'],
  ['initramfs', 'initrd'],
  ['rootfs', 'rootfs'],
] as const;

/** Reads the stream metadata and lists the PXE files of its current release. */
export async function planFcos(options: FcosOptions): Promise<Release> {
  const metaUrl = joinUrl(options.mirror ?? FCOS_BASE, 'streams', `${options.stream}.json`);
  const meta = await readMetadata(metaUrl);
  const arch = options.arch ?? 'x86_64';
  const metal = dig(meta, ['architectures', arch, 'artifacts', 'metal']);
  const version = dig(metal, ['release']);
  if (typeof version !== 'string' || !safeSegment(version)) throw malformed(metaUrl, `architectures.${arch}.artifacts.metal.release`, arch);
  const wanted = PARTS.filter(([, role]) => role !== 'rootfs' || options.rootfs !== false);
  const files = wanted.map(([key, role]): ReleaseFile => {
    const path = `architectures.${arch}.artifacts.metal.formats.pxe.${key}`;
    const artifact = asArtifact(dig(metal, ['formats', 'pxe', key]));
    if (!artifact) throw malformed(metaUrl, path, arch);
    const url = options.mirror ? rebase(artifact.location, options.mirror) : artifact.location;
    return { name: basename(url, metaUrl, path, arch), role, url, check: { kind: 'sha256', sha256: artifact.sha256.toLowerCase() } };
  });
  return { os: 'fedora-coreos', name: 'Fedora CoreOS', variant: 'fcos', arch, version, files, cmdline: { 'ignition.firstboot': '', 'ignition.platform.id': 'metal' } };
}

async function readMetadata(url: string): Promise<unknown> {
  let body: Buffer;
  try {
    body = await getBytes(url);
  } catch (error) {
    if (error instanceof HttpStatusError && error.status === 404) {
      throw new SourceError(`no stream metadata at ${url}`, {
        hint: 'check --stream and --mirror (the mirror replaces https://builds.coreos.fedoraproject.org)',
        cause: error,
      });
    }
    throw error;
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw new SourceError(`stream metadata is not JSON: ${(cause as Error).message}`, { file: url, hint: 'check --mirror', cause });
  }
}

/** Keeps the path of an official URL and swaps its origin (and any prefix) for the mirror. */
export function rebase(location: string, mirror: string): string {
  let path: string;
  try {
    path = new URL(location).pathname;
  } catch {
    throw new SourceError(`artifact location is not a URL: ${location}`, { hint: 'check --mirror' });
  }
  return joinUrl(mirror, path);
}

function basename(url: string, metaUrl: string, path: string, arch: Arch): string {
  const name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  if (!safeSegment(name)) throw malformed(metaUrl, `${path}.location`, arch);
  return name;
}

function asArtifact(value: unknown): Artifact | undefined {
  const location = dig(value, ['location']);
  const sha256 = dig(value, ['sha256']);
  if (typeof location !== 'string' || typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256)) return undefined;
  return { location, sha256 };
}

function dig(value: unknown, path: readonly string[]): unknown {
  let here = value;
  for (const key of path) {
    if (typeof here !== 'object' || here === null) return undefined;
    here = (here as Record<string, unknown>)[key];
  }
  return here;
}

function malformed(url: string, path: string, arch: Arch): SourceError {
  return new SourceError(`stream metadata lacks a valid ${path}`, {
    file: url,
    hint: `the stream may not publish PXE images for ${arch}, or --mirror serves something else`,
  });
}
