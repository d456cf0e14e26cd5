// Brings one release into images/<os>/<version>/ so that every file there is verified.
// Each file is downloaded into a partial directory beside images/ (<images>.partial/, so a
// server exporting images/ never serves a half-written or unchecked file), checked, and
// only then renamed into place, followed by its signature and its `.verified` record.
// A failed check deletes the partial file; a dropped connection keeps it for resuming.

import { copyFile, mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { SourceError } from '../compile/errors.js';
import { download } from './download.js';
import { lockRelease } from './lock.js';
import { getBytes, HttpStatusError, TransportError } from './http.js';
import { makeReporter, type Reporter } from './progress.js';
import { recordName, stillVerified, type VerifiedRecord } from './record.js';
import type { Release, ReleaseFile } from './release.js';
import { sha256File, verifyDetached, type PublicKey, type Signer } from './verify.js';

export interface FetchOptions {
  imagesPath: string;
  /** Trusted keys for openpgp checks (the pinned Flatcar key unless the caller says otherwise). */
  keys?: PublicKey[];
  reporter?: Reporter;
  /** Download attempts per file, each resuming the last. */
  attempts?: number;
}

export interface FetchedFile {
  name: string;
  role: ReleaseFile['role'];
  how: 'fetched' | 'kept';
  bytes: number;
}

export interface FetchResult {
  /** images/<os>/<version>, as given (not resolved). */
  dir: string;
  files: FetchedFile[];
}

/** Where partial downloads live: a sibling of the images directory, on the same filesystem. */
export function partialRoot(imagesPath: string): string {
  const abs = resolve(imagesPath);
  return join(dirname(abs), `.${basename(abs)}.partial`);
}

export async function fetchRelease(release: Release, options: FetchOptions): Promise<FetchResult> {
  try {
    return await fetchInto(release, options);
  } catch (error) {
    throw diskError(error, options.imagesPath) ?? error;
  }
}

async function fetchInto(release: Release, options: FetchOptions): Promise<FetchResult> {
  const dir = join(options.imagesPath, release.os, release.version);
  const partialDir = join(partialRoot(options.imagesPath), release.os, release.version);
  await mkdir(partialDir, { recursive: true });
  const unlock = await lockRelease(partialDir, `${release.os} ${release.version}`);
  const files: FetchedFile[] = [];
  try {
    for (const file of release.files) files.push(await fetchFile(file, dir, partialDir, options));
  } finally {
    await unlock();
    await pruneEmpty(partialDir, partialRoot(options.imagesPath)); // keeps only resumable partials
  }
  return { dir, files };
}

async function fetchFile(file: ReleaseFile, dir: string, partialDir: string, options: FetchOptions): Promise<FetchedFile> {
  const reporter = options.reporter ?? makeReporter();
  const target = join(dir, file.name);
  const label = target;
  const trusted = new Set((options.keys ?? []).map((k) => k.getFingerprint()));
  const kept = await stillVerified(target, join(dir, recordName(file.name)), file.check, trusted);
  if (kept) {
    reporter.settled(label, 'kept', kept.size, 'already verified');
    return { name: file.name, role: file.role, how: 'kept', bytes: kept.size };
  }
  const part = join(partialDir, `${file.name}.part`);
  try {
    const sig = file.check.kind === 'openpgp' ? await fetchSignature(file.check.signatureUrls, label) : undefined;
    const onProgress = (p: { done: number; total?: number }): void => reporter.progress(label, p.done, p.total);
    const first = await download(file.url, part, { attempts: options.attempts, onProgress });
    let proof: Proof;
    try {
      proof = await check(file, part, sig, options.keys, label, reporter);
    } catch (error) {
      if (!first.resumed) throw error;
      // The partial may hold bytes of another file (a rebuilt release, a changed mirror):
      // one clean download settles whether the file itself is bad.
      await rm(part, { force: true });
      await download(file.url, part, { attempts: options.attempts, onProgress });
      proof = await check(file, part, sig, options.keys, label, reporter);
    }
    await commit(file, dir, part, proof);
    reporter.settled(label, 'fetched', proof.record.size, proof.detail);
    return { name: file.name, role: file.role, how: 'fetched', bytes: proof.record.size };
  } catch (error) {
    reporter.failed(label);
    if (!isTransportFailure(error)) await rm(part, { force: true }); // keep only what can resume
    throw error;
  }
}

interface Proof {
  record: VerifiedRecord;
  signature?: { name: string; bytes: Buffer };
  detail: string;
}

async function check(file: ReleaseFile, part: string, sig: Signature | undefined, keys: PublicKey[] | undefined, label: string, reporter: Reporter): Promise<Proof> {
  reporter.verifying(label);
  const [sha256, { size }] = await Promise.all([sha256File(part), stat(part)]);
  const base = { file: file.name, size, sha256, source: file.url, check: file.check.kind, verifiedAt: new Date().toISOString() };
  if (file.check.kind === 'sha256') {
    if (sha256 !== file.check.sha256) {
      throw new SourceError(`SHA-256 mismatch: got ${sha256}, release metadata says ${file.check.sha256}`, {
        file: label,
        hint: 'the download was altered or the mirror is out of step with its metadata; rerun, or try another --mirror',
      });
    }
    return { record: base, detail: 'sha256 matches release metadata' };
  }
  if (!sig || !keys) throw new Error(`internal: ${file.name} needs a signature and keys`);
  const signer: Signer = await verifyDetached({ path: part }, sig.bytes, keys, label);
  const signature = `${file.name}.sig`;
  return {
    record: { ...base, signer, signature },
    signature: { name: signature, bytes: sig.bytes },
    detail: `signed by ${signer.keyID.toUpperCase()}`,
  };
}

interface Signature {
  url: string;
  bytes: Buffer;
}

// The first signature URL that exists wins; only a 404 moves on to the next.
async function fetchSignature(urls: string[], label: string): Promise<Signature> {
  let lastMissing: HttpStatusError | undefined;
  for (const url of urls) {
    try {
      return { url, bytes: await getBytes(url) };
    } catch (error) {
      if (!(error instanceof HttpStatusError) || error.status !== 404) throw error;
      lastMissing = error;
    }
  }
  throw new SourceError(`no signature for ${basename(label)} on the mirror (tried ${urls.map((u) => basename(u)).join(', ')})`, {
    file: label,
    hint: 'check --version and --mirror; bootcfg will not keep an image it cannot verify',
    cause: lastMissing,
  });
}

// The image first, then its signature and record: a crash in between leaves a verified file
// without a record, which the next run simply fetches again.
async function commit(file: ReleaseFile, dir: string, part: string, proof: Proof): Promise<void> {
  await mkdir(dir, { recursive: true }); // only now: a release that fails its first check leaves no directory
  await moveInto(part, join(dir, file.name));
  if (proof.signature) await writeAtomic(join(dir, proof.signature.name), proof.signature.bytes);
  await writeAtomic(join(dir, recordName(file.name)), `${JSON.stringify(proof.record, null, 2)}\n`);
}

async function moveInto(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    // images/ on another filesystem than its sibling: copy beside the target, then rename.
    const near = join(dirname(to), `.${basename(to)}.incoming`);
    try {
      await copyFile(from, near);
      await rename(near, to);
    } catch (copyError) {
      await rm(near, { force: true }); // a short copy (ENOSPC) must not stay beside the images
      throw copyError;
    }
    await rm(from, { force: true });
  }
}

async function writeAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  await writeFile(tmp, data);
  await rename(tmp, path);
}

// Partial files kept after a transport failure can be resumed; after any other failure
// (bad signature, mismatch, 404) they are worthless or untrusted and are removed.
function isTransportFailure(error: unknown): boolean {
  return error instanceof TransportError;
}

async function pruneEmpty(dir: string, stop: string): Promise<void> {
  for (let here = dir; here.startsWith(stop); here = dirname(here)) {
    if ((await readdir(here).catch(() => ['?'])).length > 0) return;
    await rmdir(here).catch(() => undefined);
    if (here === stop) return;
  }
}

// Full disks and unwritable directories are the user's to fix: say so without a stack.
function diskError(error: unknown, imagesPath: string): SourceError | undefined {
  const e = error as NodeJS.ErrnoException;
  if (error instanceof SourceError || typeof e.code !== 'string' || typeof e.syscall !== 'string') return undefined;
  if (!['ENOSPC', 'EACCES', 'EPERM', 'EROFS', 'EDQUOT', 'ENOTDIR', 'EISDIR'].includes(e.code)) return undefined;
  return new SourceError(`cannot write ${e.path ?? imagesPath}: ${e.code}`, {
    file: e.path,
    hint: `check free space and permissions of ${imagesPath} and ${partialRoot(imagesPath)}`,
    cause: error,
  });
}
