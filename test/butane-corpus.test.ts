// The Butane corpus (test/butane-corpus/*.bu: the features operators write, both variants,
// spec versions 1.0.0–1.4.0) compiled by bootcfg and by the reference Butane v0.23.0: every
// config bootcfg emits passes Debian's ignition-validate, and equals Butane's after decoding
// contents. Where bootcfg differs on purpose, KNOWN_DIFFERENCES says so and docs/ignition.md why.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { compileIgnition } from '../src/compile/ignition.js';
import { CORPUS, FILES_DIR, ignitionValidate, normalize, referenceButane, tool } from './butane-peer.js';

const butane = tool('butane');
const validator = tool('ignition-validate');
const corpus = readdirSync(CORPUS).filter((name) => name.endsWith('.bu')).sort();

function localFiles(path: string): Buffer | undefined {
  try {
    return readFileSync(join(FILES_DIR, path));
  } catch {
    return undefined;
  }
}

function compile(name: string): { json: string; version: string } {
  const file = join(CORPUS, name);
  return compileIgnition({ file: `butane-corpus/${name}`, text: readFileSync(file, 'utf8'), kind: 'butane' }, { local: localFiles });
}

describe('Butane corpus', () => {
  test('holds about twenty configs over both variants and several spec versions', () => {
    assert.ok(corpus.length >= 20, `${corpus.length} configs`);
    const versions = new Set(corpus.map((name) => /^(\w+)-(\d\.\d)/.exec(name)?.slice(1).join(' ')));
    for (const expected of ['fcos 1.0', 'fcos 1.1', 'fcos 1.2', 'fcos 1.3', 'fcos 1.4', 'flatcar 1.0']) assert.ok(versions.has(expected), `corpus lacks ${expected}`);
  });

  for (const name of corpus) {
    describe(name, () => {
      test('passes ignition-validate', { skip: validator.missing }, async () => {
        const complaints = await ignitionValidate(validator.path!, compile(name).json);
        assert.equal(complaints, '', `ignition-validate on bootcfg's output of ${name}`);
      });

      test('equals the reference Butane after decoding contents', { skip: butane.missing }, async () => {
        const ours = JSON.parse(compile(name).json) as Record<string, unknown>;
        const theirs = JSON.parse(await referenceButane(butane.path!, join(CORPUS, name))) as Record<string, unknown>;
        assert.equal((ours.ignition as { version: string }).version, (theirs.ignition as { version: string }).version, 'the Ignition version Butane emits for this spec version');
        assert.deepEqual(normalize(ours), normalize(theirs));
      });
    });
  }
});
