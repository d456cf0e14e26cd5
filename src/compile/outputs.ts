// The kinds of answer bootcfg compiles, one directory of dist/ each: which data they come from,
// which selector shapes they are looked up by, their content type and the reason a server
// gives when no file matches. The compiler (resolve), the Node server (route) and the nginx
// generator all read this table, so they cannot disagree.

import { SHAPES, type Shape } from './selectors.js';

export interface OutputKind {
  /** Directory under a dist snapshot, and the route's name. */
  readonly dir: 'ipxe' | 'pixiecore' | 'cloud';
  /** The data directory it compiles from. */
  readonly from: 'boot' | 'cloud';
  readonly shapes: readonly Shape[];
  readonly contentType: string;
  /** Body of the 404 when no candidate exists. */
  readonly notFound: string;
}

export const TEXT = 'text/plain; charset=utf-8';

export const OUTPUT_KINDS: readonly OutputKind[] = [
  { dir: 'ipxe', from: 'boot', shapes: SHAPES, contentType: TEXT, notFound: 'no iPXE config for this machine and no default' },
  // Pixiecore asks by MAC only, so machines known only by UUID are not in its directory.
  { dir: 'pixiecore', from: 'boot', shapes: SHAPES.filter((s) => !s.includes('uuid')), contentType: 'application/json', notFound: 'no Pixiecore config for this MAC and no default' },
  { dir: 'cloud', from: 'cloud', shapes: SHAPES, contentType: TEXT, notFound: 'no cloud config for this machine and no default' },
];

export function outputKind(dir: OutputKind['dir']): OutputKind {
  return OUTPUT_KINDS.find((kind) => kind.dir === dir)!;
}

/**
 * Every answer directory the compiler writes (groups-contract: compiled layout). OUTPUT_KINDS
 * above is the seed's three; profiles and groups add generic/ and the two metadata forms.
 */
export const KIND_DIRS = {
  ipxe: 'ipxe',
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
