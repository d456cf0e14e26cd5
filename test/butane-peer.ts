// The real tools the Butane and Ignition tests measure bootcfg against: the reference Butane
// (../shared/peers/butane, v0.23.0) and Debian's ignition-validate (package `ignition`, 2.14).
// Absent tools skip the tests that need them with a message saying which, except under CI=true,
// where both are installed (make ci-deps, shared/ beside the clone) and absence is a failure.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ROOT, tempDir } from './helpers.js';

export const BUTANE = join(ROOT, '../shared/peers/butane');
export const CORPUS = join(ROOT, 'test/butane-corpus');
export const FILES_DIR = join(CORPUS, 'files');

export interface Tool {
  path?: string;
  /** Why the tool cannot be used here; undefined when it can. */
  missing?: string;
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, name))) return join(dir, name);
  for (const dir of ['/usr/bin', '/usr/sbin']) if (existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

/** A tool, or why not; under CI a missing tool throws so the test fails instead of skipping. */
export function tool(name: 'butane' | 'ignition-validate'): Tool {
  const path = name === 'butane' ? (existsSync(BUTANE) ? BUTANE : undefined) : findOnPath(name);
  if (path) return { path };
  const missing = name === 'butane' ? `the reference Butane is absent (${BUTANE}; see shared/peers/README.md)` : 'ignition-validate is not installed (apt-get install ignition, or make ci-deps)';
  if (process.env.CI === 'true') throw new Error(`${missing}: CI must have it`);
  return { missing };
}

export function run(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 60_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let scratch: string | undefined;

/** ignition-validate on a config; resolves to its complaints ('' when it accepts the config). */
export async function ignitionValidate(validator: string, json: string): Promise<string> {
  scratch ??= await tempDir('bootcfg-ignition-');
  const file = join(scratch, `config-${Math.random().toString(36).slice(2)}.ign`);
  await writeFile(file, json);
  const result = await run(validator, [file]);
  return result.code === 0 && result.stderr.trim() === '' && result.stdout.trim() === '' ? '' : `${result.stdout}${result.stderr}`.trim() || `exit ${result.code}`;
}

/** The reference Butane's Ignition for a corpus file (strict: a warning is a failure). */
export async function referenceButane(butane: string, file: string): Promise<string> {
  const result = await run(butane, ['--strict', '--files-dir', FILES_DIR, file]);
  if (result.code !== 0) throw new Error(`butane failed on ${file}: ${result.stderr}`);
  return result.stdout;
}

/**
 * Two Ignition configs, made comparable: data: URLs decoded (and gunzipped when compression is
 * gzip) into their text, so encoding choices do not count; empty compression and empty
 * objects dropped; keys sorted.
 */
export function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value === null || typeof value !== 'object') return value;
  const object = { ...(value as Record<string, unknown>) };
  if (typeof object.source === 'string' && object.source.startsWith('data:')) {
    object.source = { decoded: decodeDataUrl(object.source, object.compression === 'gzip') };
    delete object.compression;
  }
  if (object.compression === '' || object.compression === null) delete object.compression;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(object).sort()) {
    const inner = normalize(object[key]);
    if (inner && typeof inner === 'object' && !Array.isArray(inner) && Object.keys(inner).length === 0) continue;
    out[key] = inner;
  }
  return out;
}

export function decodeDataUrl(url: string, gzip: boolean): string {
  const comma = url.indexOf(',');
  const meta = url.slice(5, comma);
  const body = url.slice(comma + 1);
  let bytes = meta.endsWith(';base64') ? Buffer.from(body, 'base64') : percentDecode(body);
  if (gzip) bytes = gunzipSync(bytes);
  return bytes.toString('utf8');
}

// Byte by byte: decodeURIComponent would refuse percent-encoded bytes that are not UTF-8.
function percentDecode(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%') {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i]!, 'utf8'));
  }
  return Buffer.from(bytes);
}
