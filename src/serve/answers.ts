// The request side of each kind of compiled answer: which route asks for it, its content type,
// the 404 reason when no candidate exists, and which shapes it can be looked up by. The Node
// server (route.ts) and the nginx generator (nginx.ts) both read this table, so they cannot
// disagree; the kind directory names are the compiler's (docs/dist-layout.md).

import type { ShapeKeys } from '../compile/shapes.js';
import { TEXT } from '../compile/outputs.js';

export const JSON_TYPE = 'application/json';
/** What Ignition and CoreOS tooling expect of an Ignition config (matchbox serves the same). */
export const IGNITION_TYPE = 'application/vnd.coreos.ignition+json';

export interface AnswerKind {
  /** Directory under a dist snapshot. */
  readonly dir: 'ipxe' | 'grub' | 'pixiecore' | 'cloud' | 'generic' | 'ignition' | 'metadata' | 'metadata-json';
  readonly contentType: string;
  /** Body of the 404 when no candidate exists. */
  readonly notFound: string;
  /** Whether a shape of the build can answer this kind (Pixiecore knows only the MAC). */
  readonly accepts: (shape: ShapeKeys) => boolean;
}

const ANY = (): boolean => true;

export const ANSWER_KINDS = {
  ipxe: { dir: 'ipxe', contentType: TEXT, notFound: 'no iPXE config for this machine and no default', accepts: ANY },
  grub: { dir: 'grub', contentType: TEXT, notFound: 'no GRUB config for this machine and no default', accepts: ANY },
  pixiecore: {
    dir: 'pixiecore',
    contentType: JSON_TYPE,
    notFound: 'no Pixiecore config for this MAC and no default',
    accepts: (shape) => shape.length === 0 || (shape.length === 1 && shape[0] === 'mac'),
  },
  cloud: { dir: 'cloud', contentType: TEXT, notFound: 'no cloud config for this machine and no default', accepts: ANY },
  generic: { dir: 'generic', contentType: TEXT, notFound: 'no generic config for this machine and no default', accepts: ANY },
  ignition: { dir: 'ignition', contentType: IGNITION_TYPE, notFound: 'no Ignition config for this machine and no default', accepts: ANY },
  metadata: { dir: 'metadata', contentType: TEXT, notFound: 'no metadata for this machine and no default', accepts: ANY },
  'metadata-json': { dir: 'metadata-json', contentType: JSON_TYPE, notFound: 'no metadata for this machine and no default', accepts: ANY },
} as const satisfies Record<string, AnswerKind>;

/** Routes whose kind is chosen by the query's selector keys: path → kind (metadata may switch to JSON). */
export const QUERY_ROUTES = {
  '/ipxe': ANSWER_KINDS.ipxe,
  '/grub': ANSWER_KINDS.grub,
  '/cloud': ANSWER_KINDS.cloud,
  '/generic': ANSWER_KINDS.generic,
  '/ignition': ANSWER_KINDS.ignition,
  '/metadata': ANSWER_KINDS.metadata,
} as const satisfies Record<string, AnswerKind>;

/** `/metadata?format=json` answers from this kind instead. */
export const METADATA_JSON: AnswerKind = ANSWER_KINDS['metadata-json'];
export const INVALID_FORMAT = 'invalid format: expected json or nothing';

export const PIXIECORE_PREFIX = '/pixiecore/v1/boot/';

/**
 * The placeholder in the compiled chainload script that both servers replace with the extra
 * label parameters given to /boot.ipxe (`&os=installed`), or nothing. It is an iPXE setting
 * reference, so a server that does not replace it leaves iPXE an empty expansion.
 */
export const PASS_ON_PLACEHOLDER = '${bootcfg_query}';
