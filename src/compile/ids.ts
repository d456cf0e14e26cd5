// Machine identifiers, normalized once where they enter bootcfg: data file names at load time
// and request parameters at serve time. Everything past these functions sees one canonical
// spelling, so `52:54:00:AB:CD:EF` in a file name and `52-54-00-ab-cd-ef` from iPXE meet.

/** Canonical UUID: lowercase 8-4-4-4-12. */
export type Uuid = string & { readonly __brand: 'uuid' };
/** Canonical MAC: lowercase, hyphen-separated (iPXE's `${net0/mac:hexhyp}`). */
export type Mac = string & { readonly __brand: 'mac' };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Six octets separated all by `:`, all by `-`, or not at all (the backreference keeps them
// consistent), or Cisco's three dotted groups of four.
const MAC = /^([0-9a-f]{2})([:-]?)([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i;
const CISCO_MAC = /^([0-9a-f]{4})\.([0-9a-f]{4})\.([0-9a-f]{4})$/i;

export const UUID_HINT = 'expected 8-4-4-4-12 hex digits';
export const MAC_HINT = 'expected 6 hex octets, like 52:54:00:12:34:56';

/** The canonical UUID, or undefined when `text` is not one. */
export function parseUuid(text: string): Uuid | undefined {
  return UUID.test(text) ? (text.toLowerCase() as Uuid) : undefined;
}

/** The canonical MAC, or undefined when `text` is not one in an accepted spelling. */
export function parseMac(text: string): Mac | undefined {
  const octets = MAC.exec(text);
  if (octets) return [1, 3, 4, 5, 6, 7].map((i) => octets[i]).join('-').toLowerCase() as Mac;
  const groups = CISCO_MAC.exec(text);
  if (groups) return groups.slice(1).join('').replace(/(..)(?!$)/g, '$1-').toLowerCase() as Mac;
  return undefined;
}
