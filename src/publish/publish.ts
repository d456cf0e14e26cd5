// `bootcfg publish`: compile the data into the static layout and publish it to a directory or an
// rclone remote so that a host knowing nothing about bootcfg can boot the fleet (docs/static.md).
// The order of writes is the whole point, and it is said once, here:
//   1. images (shared by revisions, never removed by publish),
//   2. the revision's content under revs/<dir>/ (skipping what is already there: resumable),
//   3. the revision's own chain, revs/<dir>/boot.ipxe (the revision is now complete),
//   4. the entry point boot.ipxe, naming revs/<dir>/ (one small write: the switch),
//   5. the history, then old revisions pruned (never the live one, nor the newest --keep others).
// A booting machine reads the entry point once and everything after it from one revision's
// directory, which is complete before anything names it, so it never mixes two revisions.

import { BootcfgError, SourceError, UsageError } from '../compile/errors.js';
import { CHAIN_FILE } from '../compile/outputs.js';
import { compile, type Progress } from '../build/build.js';
import { destinationFor, type CopyResult, type Destination } from './destination.js';
import { REVS_DIR, entryScript, parseEntryScript, staticLayout } from './layout.js';
import { deletionBatches, isRevisionDir, sealRevision } from './tree.js';

/** Published revisions in publish order, oldest first, one directory name a line. */
export const HISTORY_FILE = `${REVS_DIR}/history`;
const ENTRY = CHAIN_FILE;
/** What object stores and CDNs are told to cache: the entry point never, a revision forever. */
const MUTABLE = 'no-cache';
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Revisions kept besides the live one when --keep is not given. */
export const DEFAULT_KEEP = 2;

export interface PublishOptions {
  dataPath: string;
  /** The commit SHA for --repo; a hash of the output otherwise. */
  revision?: string;
  /** Where the data came from, for the manifest. */
  source: string;
  to: string;
  /** Absolute http(s) URL the tree is published at, without a trailing slash (checkBaseUrl). */
  baseUrl: string;
  imagesPath?: string;
  keep: number;
  dryRun: boolean;
  progress?: Progress;
  /** One line per step, as it happens. */
  say: (line: string) => void;
}

export interface PublishResult {
  revision: string;
  dir: string;
  content: CopyResult;
  images?: CopyResult;
  /** The revision directory the entry point named before, if any. */
  previous?: string;
  pruned: string[];
  warnings: BootcfgError[];
}

export async function publish(options: PublishOptions): Promise<PublishResult> {
  const images = new Set<string>();
  const compiled = await compile(options.dataPath, { revision: options.revision, imagesPath: options.imagesPath, layout: staticLayout(options.baseUrl, images), progress: options.progress });
  const tree = sealRevision(compiled.files, compiled.revision, options.source);
  const dest = destinationFor(options.to);
  const would = options.dryRun ? 'would be ' : '';
  const prefix = `${REVS_DIR}/${tree.dir}`;
  const previous = await liveRevision(dest); // before anything is written: a foreign boot.ipxe stops it
  let copiedImages: CopyResult | undefined;
  if (options.imagesPath !== undefined) {
    const progress = (line: string) => options.say(`images: ${line}`);
    copiedImages = await dest.copy(options.imagesPath, 'images', { files: [...images].sort(), dryRun: options.dryRun, progress });
    options.say(`images: ${copiedImages.copied} ${would}copied, ${copiedImages.skipped} already there`);
  } else if (images.size > 0) {
    options.say(`images: not published (no --images-path); ${images.size} kernels and initrds must be at ${dest.description}/images/ already`);
  }
  const content = new Map([...tree.files].filter(([path]) => path !== CHAIN_FILE));
  const copied = await dest.put(prefix, content, { dryRun: options.dryRun, cacheControl: IMMUTABLE, progress: (line) => options.say(`${prefix}: ${line}`) });
  options.say(`${prefix}: ${copied.copied} files ${would}copied, ${copied.skipped} already there`);
  let pruned: string[] = [];
  if (!options.dryRun) {
    await checkComplete(dest, prefix, [...content.keys()]);
    await dest.writeFile(`${prefix}/${CHAIN_FILE}`, tree.files.get(CHAIN_FILE)!, IMMUTABLE);
    await switchTo(dest, tree.dir, tree.entry);
    options.say(`${ENTRY} → ${prefix}/${CHAIN_FILE}${previous && previous !== tree.dir ? ` (was ${REVS_DIR}/${previous})` : ''}`);
    pruned = await prune(dest, options.keep, options.say);
  } else {
    options.say(`${ENTRY} would name ${prefix}/${CHAIN_FILE}${previous ? ` (now ${REVS_DIR}/${previous})` : ''}`);
    pruned = await prunable(dest, options.keep, tree.dir);
    for (const dir of pruned) options.say(`would prune ${REVS_DIR}/${dir}`);
  }
  return { revision: compiled.revision, dir: tree.dir, content: copied, images: copiedImages, previous, pruned, warnings: compiled.warnings };
}

/**
 * Rollback: point the entry point at a revision already published (its directory, or a unique
 * prefix such as the commit SHA). One small write; nothing is copied or pruned.
 */
export async function rollback(to: string, wanted: string, say: (line: string) => void): Promise<string> {
  const dest = destinationFor(to);
  const dirs = (await dest.listDirs(REVS_DIR)).filter(isRevisionDir);
  const matches = dirs.includes(wanted) ? [wanted] : dirs.filter((dir) => dir.startsWith(wanted));
  if (matches.length !== 1) {
    const known = (await readHistory(dest)).slice(-5).reverse();
    throw new UsageError(matches.length === 0 ? `no revision ${wanted} under ${dest.description}/${REVS_DIR}/` : `${wanted} names ${matches.length} revisions: ${matches.join(', ')}`, {
      hint: known.length ? `the newest published: ${known.join(', ')}` : 'nothing has been published there yet',
    });
  }
  const dir = matches[0]!;
  if (!(await dest.readFile(`${REVS_DIR}/${dir}/${CHAIN_FILE}`))) {
    throw new SourceError(`${REVS_DIR}/${dir} was never completely published (it has no ${CHAIN_FILE})`, { hint: 'publish that revision again (bootcfg publish --repo … --ref <sha>): it resumes, then switches' });
  }
  const previous = await liveRevision(dest);
  await switchTo(dest, dir, entryScript(dir));
  say(`${ENTRY} → ${REVS_DIR}/${dir}/${CHAIN_FILE}${previous ? ` (was ${REVS_DIR}/${previous})` : ''}`);
  return dir;
}

/**
 * The revision the entry point names, undefined when there is none yet. A boot.ipxe that
 * bootcfg did not write (an operator's own, in a directory that was never a publish target)
 * is refused rather than replaced.
 */
async function liveRevision(dest: Destination): Promise<string | undefined> {
  const entry = await dest.readFile(ENTRY);
  if (!entry) return undefined;
  const dir = parseEntryScript(entry.toString('utf8'));
  if (dir === undefined) {
    throw new SourceError(`${dest.description}/${ENTRY} is not an entry point bootcfg publish wrote; it was left alone`, { hint: 'publish to an empty directory or prefix, or move that boot.ipxe away first' });
  }
  return dir;
}

/** Refuses to switch unless every file of the revision is listed there (a copy that lost one says so). */
async function checkComplete(dest: Destination, prefix: string, files: readonly string[]): Promise<void> {
  const there = new Set(await dest.listFiles(prefix));
  const missing = files.filter((file) => !there.has(file));
  if (missing.length > 0) {
    throw new SourceError(`${dest.description}/${prefix} lacks ${missing.length} of its files after the copy (${missing.slice(0, 3).join(', ')}…); the entry point was not changed`, { hint: 'run the same publish again: it copies only what is missing' });
  }
}

/** The entry point names `dir`, then the history records it. */
async function switchTo(dest: Destination, dir: string, entry: string): Promise<void> {
  await dest.writeFile(ENTRY, Buffer.from(entry), MUTABLE);
  const history = (await readHistory(dest)).filter((name) => name !== dir);
  await dest.writeFile(HISTORY_FILE, Buffer.from([...history, dir].map((name) => `${name}\n`).join('')), MUTABLE);
}

async function readHistory(dest: Destination): Promise<string[]> {
  const text = (await dest.readFile(HISTORY_FILE))?.toString('utf8') ?? '';
  return text.split('\n').filter(isRevisionDir);
}

/**
 * The revisions a prune removes: published ones other than the live one, beyond the `keep`
 * newest. `incoming`: as they will be once that revision is live (for --dry-run).
 */
async function prunable(dest: Destination, keep: number, incoming?: string): Promise<string[]> {
  let history = await readHistory(dest);
  let live = incoming;
  if (incoming) history = [...history.filter((dir) => dir !== incoming), incoming];
  else live = await liveRevision(dest);
  const others = history.filter((dir) => dir !== live);
  const present = new Set(await dest.listDirs(REVS_DIR));
  return others.slice(0, Math.max(0, others.length - keep)).filter((dir) => present.has(dir));
}

/**
 * Removes old revisions, the live one never: each one's chain first, then its answers from the
 * least specific up (deletionBatches), then the rest; the history forgets them afterwards.
 */
async function prune(dest: Destination, keep: number, say: (line: string) => void): Promise<string[]> {
  const doomed = await prunable(dest, keep);
  for (const dir of doomed) {
    const prefix = `${REVS_DIR}/${dir}`;
    for (const batch of deletionBatches(await dest.listFiles(prefix))) await dest.deleteFiles(prefix, batch);
    await dest.deleteTree(prefix);
    say(`pruned ${prefix}`);
  }
  if (doomed.length > 0) {
    const history = (await readHistory(dest)).filter((dir) => !doomed.includes(dir));
    await dest.writeFile(HISTORY_FILE, Buffer.from(history.map((name) => `${name}\n`).join('')), MUTABLE);
  }
  return doomed;
}

/** --base-url checked and without its trailing slash: an absolute http(s) URL iPXE and Linux can take as one word. */
export function checkBaseUrl(text: string): string {
  const hint = 'give the absolute URL the tree is served at, like https://boot.example.com/fleet (machines chain <base-url>/boot.ipxe)';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--base-url ${JSON.stringify(text)} is not a URL`, { hint });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--base-url must be http or https, not ${url.protocol}`, { hint });
  if (url.search || url.hash || url.username || url.password || text.includes('#') || text.includes('?')) throw new UsageError('--base-url takes no query, fragment or user name', { hint });
  // One word for iPXE and the kernel command line: no whitespace, no `$` (a setting), no `;`, `&` or `|`.
  if (!/^[A-Za-z0-9._~:/[\]@!'()*+,=%-]+$/.test(text)) throw new UsageError(`--base-url ${JSON.stringify(text)} holds a character iPXE or a kernel command line would read`, { hint });
  return text.replace(/\/+$/, '');
}
