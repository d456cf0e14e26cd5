// The pinned Flatcar signing key is the key Flatcar publishes (by fingerprint), parses, and
// carries a signing subkey; and `images fetch --help` answers without touching the network.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as openpgp from 'openpgp';
import { FLATCAR_KEY_FINGERPRINT, FLATCAR_SIGNING_KEY } from '../src/images/flatcar-signing-key.js';
import { parseVersionTxt } from '../src/images/flatcar.js';
import { rebase } from '../src/images/fcos.js';
import { runBootcfg } from './images-cli.js';

test('the pinned key is Flatcar Buildbot F88C FEDE FF29 A5B4 D952 3864 E25D 9AED 0593 B34A', async () => {
  const key = await openpgp.readKey({ armoredKey: FLATCAR_SIGNING_KEY });
  assert.equal(key.getFingerprint(), FLATCAR_KEY_FINGERPRINT);
  assert.equal(FLATCAR_KEY_FINGERPRINT, 'F88CFEDEFF29A5B4D9523864E25D9AED0593B34A'.toLowerCase());
  await key.verifyPrimaryKey();
  assert.deepEqual(key.getUserIDs(), ['Flatcar Buildbot (Official Builds) <buildbot@flatcar-linux.org>']);
});

test('the pinned key has the 2025 signing subkey, valid when it was made', async () => {
  const key = await openpgp.readKey({ armoredKey: FLATCAR_SIGNING_KEY });
  const id = key.subkeys.map((s) => s.getKeyID()).find((k) => k.toHex() === '32da80f91ef52974');
  assert.ok(id, 'subkey 32DA80F91EF52974 present');
  const signing = await key.getSigningKey(id, new Date('2025-06-01T00:00:00Z'));
  assert.equal(signing.getKeyID().toHex(), '32da80f91ef52974');
});

test('version.txt parsing', () => {
  assert.equal(parseVersionTxt('FLATCAR_BUILD=4152\nFLATCAR_VERSION=4152.2.3\nFLATCAR_VERSION_ID=4152.2.3\n'), '4152.2.3');
  assert.equal(parseVersionTxt('FLATCAR_VERSION="4152.2.3"\n'), '4152.2.3');
  assert.equal(parseVersionTxt('COREOS_VERSION=1.0.0\n'), undefined);
});

test('mirror rebasing keeps the path and swaps the origin', () => {
  const official = 'https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/1/x86_64/k';
  assert.equal(rebase(official, 'http://10.0.0.1:8080/fcos/'), 'http://10.0.0.1:8080/fcos/prod/streams/stable/builds/1/x86_64/k');
});

test('images fetch --help names the distributions and flags', async () => {
  const run = await runBootcfg(['images', 'fetch', '--help']);
  assert.equal(run.code, 0, run.stderr);
  for (const word of ['flatcar', 'fcos', '--channel', '--version', '--stream', '--mirror', '--images-path', '--keyring', '--rootfs']) {
    assert.ok(run.stdout.includes(word), `help mentions ${word}`);
  }
});
