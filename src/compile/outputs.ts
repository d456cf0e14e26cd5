// The names of what a build writes: the answer directories of a dist snapshot and its few
// fixed files. The request side (content types, 404 reasons, which shapes answer which kind) is
// src/serve/answers.ts; the compiler and both servers share these names.

export const TEXT = 'text/plain; charset=utf-8';

/** Every answer directory the compiler writes (docs/dist-layout.md). */
export const KIND_DIRS = {
  ipxe: 'ipxe',
  grub: 'grub',
  pixiecore: 'pixiecore',
  cloud: 'cloud',
  generic: 'generic',
  ignition: 'ignition',
  metadata: 'metadata',
  metadataJson: 'metadata-json',
} as const;

/** The chainload script every iPXE client fetches first. */
export const CHAIN_FILE = 'boot.ipxe';
export const REVISION_FILE = 'REVISION';
export const MANIFEST_FILE = 'manifest.json';
