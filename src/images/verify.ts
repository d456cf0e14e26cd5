// How a downloaded file earns its place in images/: a detached OpenPGP signature checked
// against a pinned key (Flatcar), or a SHA-256 from release metadata (Fedora CoreOS).
// Signatures go through openpgp (OpenPGP.js) rather than a `gpg` child process: no keyring
// on disk, no trust-db state, no parsing of gpg's status output, and it runs wherever Node
// does. Files are streamed, never read whole: a PXE initrd is hundreds of megabytes.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as openpgp from 'openpgp';
import { SourceError, UsageError } from '../compile/errors.js';
import { FLATCAR_SIGNING_KEY } from './flatcar-signing-key.js';

export type PublicKey = openpgp.PublicKey;

/** The keys to trust: those in the `keyringFiles` (armored or binary), or the pinned Flatcar key. */
export async function loadKeys(keyringFiles: readonly string[] = []): Promise<PublicKey[]> {
  if (keyringFiles.length === 0) return openpgp.readKeys({ armoredKeys: FLATCAR_SIGNING_KEY });
  const sets = await Promise.all(keyringFiles.map(readKeyring));
  return sets.flat();
}

async function readKeyring(file: string): Promise<PublicKey[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    throw new UsageError(`cannot read keyring: ${(cause as Error).message}`, {
      file,
      hint: 'pass --keyring a file holding OpenPGP public keys (armored or binary)',
      cause,
    });
  }
  try {
    return isArmored(bytes)
      ? await openpgp.readKeys({ armoredKeys: bytes.toString('utf8') })
      : await openpgp.readKeys({ binaryKeys: bytes });
  } catch (cause) {
    throw new UsageError(`not an OpenPGP public key: ${(cause as Error).message}`, {
      file,
      hint: 'export the key with `gpg --export --armor KEYID > FILE`',
      cause,
    });
  }
}

/** Who signed: the primary key's fingerprint and the signing (sub)key's id, both hex. */
export interface Signer {
  fingerprint: string;
  keyID: string;
}

/** The signed data: a file on disk (streamed) or bytes already in memory. */
export type Signed = { path: string } | { bytes: Uint8Array };

/**
 * Checks that `sigBytes` is a valid detached signature over `data` by one of `keys`.
 * Throws SourceError naming `label` (the file as the user knows it) otherwise.
 */
export async function verifyDetached(data: Signed, sigBytes: Uint8Array, keys: PublicKey[], label: string): Promise<Signer> {
  const signature = await readSignature(sigBytes, label);
  const binary = 'path' in data ? (Readable.toWeb(createReadStream(data.path)) as ReadableStream<Uint8Array>) : data.bytes;
  const message = await openpgp.createMessage({ binary });
  const result = await openpgp.verify({ message, signature, verificationKeys: keys, format: 'binary' });
  await drain(result.data);
  const [first] = result.signatures;
  if (!first) throw badSignature(label, 'the .sig file holds no signature');
  try {
    await first.verified;
  } catch (cause) {
    throw badSignature(label, (cause as Error).message, cause);
  }
  const signer = keys.find((key) => key.getKeys(first.keyID).length > 0);
  return { fingerprint: signer?.getFingerprint() ?? '', keyID: first.keyID.toHex() };
}

/** SHA-256 of a file, lowercase hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function readSignature(sigBytes: Uint8Array, label: string): Promise<openpgp.Signature> {
  try {
    return isArmored(sigBytes)
      ? await openpgp.readSignature({ armoredSignature: Buffer.from(sigBytes).toString('utf8') })
      : await openpgp.readSignature({ binarySignature: sigBytes });
  } catch (cause) {
    throw badSignature(label, `unreadable signature: ${(cause as Error).message}`, cause);
  }
}

// openpgp hashes the message as its data stream is read; verification settles only after
// the stream has been consumed to the end.
async function drain(data: unknown): Promise<void> {
  if (!(data instanceof ReadableStream)) return; // bytes in, bytes out: nothing to consume
  const reader = (data as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done } = await reader.read();
    if (done) return;
  }
}

function isArmored(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 64)).toString('latin1').includes('-----BEGIN PGP');
}

function badSignature(label: string, why: string, cause?: unknown): SourceError {
  return new SourceError(`bad signature: ${why}`, {
    file: label,
    hint:
      'the file or its .sig was altered, or it was signed by a key bootcfg does not trust; ' +
      'if Flatcar rotated its signing subkey, pass --keyring with the current key from https://www.flatcar.org/security/image-signing-key/',
    cause,
  });
}
