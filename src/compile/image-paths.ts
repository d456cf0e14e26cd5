// Which kernel and initrd locations a boot config may name. bootcfg serves its images directory
// at /images/ and nothing else, so a path such as matchbox's /assets/… or /vmlinuz would be
// written into every iPXE script and then fail at boot with a 404. Refused at load time
// instead, for seed boot configs and profiles alike. Pure: whether the file exists under
// --images-path is checked by the build (src/build/images-check.ts) from `imageFile`.

export const IMAGES_PREFIX = '/images/';

export type ImageLocation =
  /** Another server's URL, or a relative or scheme-qualified name bootcfg does not check. */
  | { kind: 'elsewhere' }
  /** A file bootcfg serves: its path relative to the images directory. */
  | { kind: 'image'; file: string }
  | { kind: 'refused'; message: string; hint: string };

const HINT = 'bootcfg serves kernels and initrds under /images/ (from --images-path); write /images/<os>/<version>/<file> or an http(s) URL';

export function imageLocation(value: string): ImageLocation {
  if (/^https?:\/\//i.test(value) || !value.startsWith('/')) return { kind: 'elsewhere' };
  if (value.startsWith('//')) return { kind: 'refused', message: `"${value}" is a network-path reference, not a path bootcfg serves`, hint: HINT };
  if (!value.startsWith(IMAGES_PREFIX)) {
    const assets = value.startsWith('/assets/') ? ' (matchbox serves /assets/; bootcfg serves the same files under /images/)' : '';
    return { kind: 'refused', message: `"${value}" is not under /images/, so bootcfg will not serve it${assets}`, hint: HINT };
  }
  const file = imageFile(value);
  if (file === undefined) return { kind: 'refused', message: `"${value}" does not name a file bootcfg serves under /images/`, hint: 'no "..", "." or empty segments, no dot-files, no percent-escapes that do not decode' };
  return { kind: 'image', file };
}

/**
 * The images-directory-relative file an /images/ path is answered from, as the servers read it
 * (query and fragment dropped, percent-decoded once), or undefined when no server would answer it.
 */
function imageFile(value: string): string | undefined {
  const plain = value.slice(IMAGES_PREFIX.length);
  // The common case, checked without allocating: nothing to strip, decode or resolve.
  if (plain !== '' && !/[?#%]|\/\/|(?:^|\/)\.|\/$/.test(plain)) return plain;
  const path = plain.replace(/[?#].*$/, '');
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  const segments = decoded.split('/');
  if (segments.some((segment) => segment === '' || segment.startsWith('.') || segment.includes('\0'))) return undefined;
  return segments.join('/');
}
