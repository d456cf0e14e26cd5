// What a release is, once its distribution has been asked: the files to fetch, where they
// come from and how each one is checked. flatcar.ts and fcos.ts produce it; fetch.ts
// consumes it without knowing which distribution it came from.

/** How a file is proven right before it may enter images/. */
export type Check =
  /** A detached OpenPGP signature; the first URL that exists is used. */
  | { kind: 'openpgp'; signatureUrls: string[] }
  /** A SHA-256 published in metadata fetched over TLS from the release host. */
  | { kind: 'sha256'; sha256: string };

export interface ReleaseFile {
  /** File name inside images/<os>/<version>/. */
  name: string;
  url: string;
  check: Check;
  /** What the file is for, in the summary: kernel, initrd, rootfs, metadata. */
  role: 'kernel' | 'initrd' | 'rootfs' | 'metadata';
}

/** The architectures `images fetch --arch` takes, as the distributions name them. */
export const ARCHES = ['x86_64', 'aarch64'] as const;
export type Arch = (typeof ARCHES)[number];

/** iPXE's ${buildarch} (and GRUB's $grub_cpu) for each: what a group's `arch` selector names. */
export const BUILDARCH: Readonly<Record<Arch, string>> = { x86_64: 'x86_64', aarch64: 'arm64' };

export interface Release {
  /** Directory under images/: "flatcar", "flatcar-arm64" or "fedora-coreos". */
  os: string;
  /** Its display name, and its Butane variant. */
  name: string;
  variant: 'fcos' | 'flatcar';
  arch: Arch;
  /** Concrete version ("current" already resolved): the directory under images/<os>/. */
  version: string;
  files: ReleaseFile[];
  /** Kernel arguments a boot config needs for this OS, beyond the operator's own. */
  cmdline: Record<string, string>;
}

/** Joins a base URL and a relative path with exactly one slash. */
export function joinUrl(base: string, ...parts: string[]): string {
  return [base.replace(/\/+$/, ''), ...parts.map((p) => p.replace(/^\/+|\/+$/g, ''))].join('/');
}

/** Version strings become directory names: refuse anything that could climb out of images/. */
export function safeSegment(value: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/.test(value) && !value.includes('..');
}
