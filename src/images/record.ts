// The `.verified` record beside each image: what was checked, against what, and the SHA-256
// of the bytes that passed. A rerun skips a file only if the file on disk still hashes to
// the recorded value (and, for metadata-checked files, the metadata still names it), so a
// truncated copy or a hand-edited file is fetched again rather than trusted.

import { readFile } from 'node:fs/promises';
import type { Check } from './release.js';
import { sha256File, type Signer } from './verify.js';

export interface VerifiedRecord {
  file: string;
  size: number;
  sha256: string;
  source: string;
  check: Check['kind'];
  /** For openpgp: who signed, and the signature file kept beside the image. */
  signer?: Signer;
  signature?: string;
  verifiedAt: string;
}

export function recordName(file: string): string {
  return `${file}.verified`;
}

/**
 * The record and the file still agree, and the record still satisfies `check`: the same
 * metadata sha256, or a signer among the keys trusted now (a file accepted under another
 * --keyring is checked again). Undefined if anything is off.
 */
export async function stillVerified(
  filePath: string,
  recordPath: string,
  check: Check,
  trustedFingerprints: ReadonlySet<string>,
): Promise<VerifiedRecord | undefined> {
  const record = await readRecord(recordPath);
  if (!record || record.check !== check.kind) return undefined;
  if (check.kind === 'sha256' && record.sha256 !== check.sha256) return undefined;
  if (check.kind === 'openpgp' && !trustedFingerprints.has(record.signer?.fingerprint ?? '')) return undefined;
  try {
    return (await sha256File(filePath)) === record.sha256 ? record : undefined;
  } catch {
    return undefined; // the file is gone
  }
}

async function readRecord(path: string): Promise<VerifiedRecord | undefined> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as Partial<VerifiedRecord>;
    return typeof value.sha256 === 'string' && typeof value.size === 'number' ? (value as VerifiedRecord) : undefined;
  } catch {
    return undefined;
  }
}
