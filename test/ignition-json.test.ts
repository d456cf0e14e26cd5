// Ignition JSON sources (.ign, .json): read with positions, checked against the schema of their
// spec version and the semantic rules, and emitted unchanged in meaning. Each config bootcfg
// accepts here passes ignition-validate; where bootcfg rejects a config Ignition itself rejects,
// the test asks ignition-validate too, so the two agree. The reference Butane's output for the
// whole corpus is read back as Ignition JSON: the rules raise no false alarm on real configs.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BootcfgError, ErrorList } from '../src/compile/errors.js';
import { compileIgnition, ignitionSourceKind } from '../src/compile/ignition.js';
import { CORPUS, ignitionValidate, referenceButane, tool } from './butane-peer.js';

const validator = tool('ignition-validate');
const butane = tool('butane');

function compileJson(text: string): string {
  return compileIgnition({ file: 'ignition/node.ign', text, kind: 'ignition' }).json;
}

function errorsOf(text: string): string[] {
  try {
    compileJson(text);
  } catch (error) {
    assert.ok(error instanceof BootcfgError, String(error));
    return (error instanceof ErrorList ? error.errors : [error]).map((e) => `${e.line}:${e.column}: ${e.message} | ${e.hint ?? ''}`);
  }
  assert.fail('expected a build error');
}

function assertError(text: string, expected: RegExp): void {
  const errors = errorsOf(text);
  assert.ok(errors.some((e) => expected.test(e)), `no error matching ${expected} in:\n${errors.join('\n')}`);
}

const NODE = {
  ignition: { version: '3.3.0' },
  storage: {
    files: [{ path: '/etc/hostname', mode: 420, overwrite: true, contents: { source: 'data:,node-1' } }],
    directories: [{ path: '/opt/bin', mode: 493 }],
    links: [{ path: '/etc/localtime', target: '../usr/share/zoneinfo/UTC' }],
  },
  systemd: { units: [{ name: 'docker.service', enabled: true }, { name: 'a.service', contents: '[Service]\nExecStart=/bin/true\n' }] },
  passwd: { users: [{ name: 'core', sshAuthorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA a@b'] }] },
  kernelArguments: { shouldExist: ['console=ttyS0'] },
};

describe('Ignition JSON sources', () => {
  test('the kind follows the file extension', () => {
    assert.equal(ignitionSourceKind('ignition/a.ign'), 'ignition');
    assert.equal(ignitionSourceKind('ignition/a.json'), 'ignition');
    assert.equal(ignitionSourceKind('ignition/a.ignition'), 'ignition');
    assert.equal(ignitionSourceKind('ignition/a.bu'), 'butane');
    assert.equal(ignitionSourceKind('ignition/a.yaml'), 'butane');
    assert.equal(ignitionSourceKind('ignition/a.txt'), undefined);
  });

  test('a valid config compiles to the same config, and ignition-validate accepts it', { skip: validator.missing }, async () => {
    const json = compileJson(JSON.stringify(NODE, null, 2));
    assert.deepEqual(JSON.parse(json), NODE);
    assert.equal(await ignitionValidate(validator.path!, json), '');
  });

  test('every spec version from 3.0.0 to 3.3.0 is accepted', { skip: validator.missing }, async () => {
    for (const version of ['3.0.0', '3.1.0', '3.2.0', '3.3.0']) {
      const json = compileJson(JSON.stringify({ ignition: { version }, storage: { files: [{ path: '/etc/a', contents: { source: 'data:,a' } }] } }));
      assert.equal(await ignitionValidate(validator.path!, json), '', version);
    }
  });

  test('other versions are refused with the reason', () => {
    assertError('{"ignition": {"version": "3.4.0"}}', /^1:15: Ignition spec version "3.4.0" is not supported \| bootcfg takes Ignition 3.0.0, 3.1.0, 3.2.0, 3.3.0/);
    assertError('{"ignition": {"version": "2.2.0"}}', /convert spec 2 configs with ign-converter/);
    assertError('{"storage": {}}', /^1:1: missing ignition.version/);
  });

  test('JSON syntax errors, duplicate keys and non-objects name the line', () => {
    assertError('{\n  "ignition": {"version": "3.3.0"},\n}\n', /^3:1: invalid JSON/);
    assertError('{"ignition": {"version": "3.3.0"},\n "storage": {},\n "storage": {}}', /^3:2: duplicate key "storage"/);
    assertError('[1]', /^1:1: an Ignition config is a JSON object/);
  });

  test('unknown keys say "did you mean"; keys of later versions name the version', () => {
    assertError('{"ignition": {"version": "3.3.0"},\n "storage": {"files": [{"path": "/a",\n   "contnets": {}}]}}', /^3:4: unknown key "contnets" \| did you mean "contents"\?/);
    assertError('{"ignition": {"version": "3.2.0"},\n "kernelArguments": {}}', /^2:2: "kernelArguments" is not in Ignition 3.2.0 \| it needs "version": "3.3.0" or later/);
    assertError('{"ignition": {"version": "3.3.0"},\n "storage": {"files": [{"path": "/a", "mode": "0644"}]}}', /^2:39: "mode" must be an integer/);
    assertError('{"ignition": {"version": "3.3.0"},\n "systemd": {"units": [{"enabled": true}]}}', /^2:24: missing "name"/);
  });

  test('semantic rules point at the JSON line', () => {
    assertError('{"ignition": {"version": "3.3.0"},\n "storage": {"files": [\n  {"path": "/etc/a", "mode": 644}]}}', /^3:22: mode 644 is decimal .* in Ignition JSON write 420/);
    assertError('{"ignition": {"version": "3.3.0"},\n "passwd": {"users": [{"name": "core",\n  "passwordHash": "secret"}]}}', /^3:3: password hash of "core" is not a crypt\(3\) hash/);
  });

  test('rules Ignition shares: ignition-validate rejects what bootcfg rejects', { skip: validator.missing }, async () => {
    const rejected = [
      { ignition: { version: '3.3.0' }, storage: { files: [{ path: 'etc/a' }] } },
      { ignition: { version: '3.3.0' }, storage: { files: [{ path: '/etc/a' }], links: [{ path: '/etc/a', target: '/b' }] } },
      { ignition: { version: '3.3.0' }, storage: { files: [{ path: '/etc/a', contents: { source: 'ftp://x/a' } }] } },
      { ignition: { version: '3.3.0' }, storage: { files: [{ path: '/etc/a', contents: { source: 'https://x/a', compression: 'xz' } }] } },
      { ignition: { version: '3.3.0' }, systemd: { units: [{ name: 'a' }] } },
      { ignition: { version: '3.3.0' }, systemd: { units: [{ name: 'a.service' }, { name: 'a.service' }] } },
      { ignition: { version: '3.3.0' }, storage: { files: [{ path: '/etc/a', contents: { source: 'https://x/a', verification: { hash: 'md5-00' } } }] } },
      { ignition: { version: '3.3.0' }, storage: { files: [{ path: '/etc/a', user: { id: 1, name: 'core' } }] } },
      { ignition: { version: '3.3.0' }, storage: { files: [{ path: '/etc/a', contents: { source: 'data:,a', httpHeaders: [{ name: 'X', value: 'y' }] } }] } },
      { ignition: { version: '3.3.0' }, storage: { filesystems: [{ device: '/dev/sdb', path: '/var/x' }] } },
      { ignition: { version: '3.3.0' }, storage: { filesystems: [{ device: 'sdb', format: 'xfs' }] } },
      { ignition: { version: '3.3.0' }, storage: { luks: [{ name: 'a' }] } },
      { ignition: { version: '3.3.0' }, storage: { raid: [{ name: 'a' }] } },
      { ignition: { version: '3.3.0' }, storage: { disks: [{ device: '/dev/sda' }, { device: '/dev/sda' }] } },
      { ignition: { version: '3.3.0' }, storage: { disks: [{ device: '/dev/sda', partitions: [{ number: 1 }, { number: 1 }] }] } },
      { ignition: { version: '3.3.0' }, storage: { disks: [{ device: '/dev/sda', partitions: [{ label: 'a:b' }] }] } },
      { ignition: { version: '3.3.0' }, systemd: { units: [{ name: 'a.service', contents: '[Service\nExecStart=/bin/true\n' }] } },
    ];
    for (const config of rejected) {
      const text = JSON.stringify(config);
      assert.ok(errorsOf(text).length > 0);
      assert.notEqual(await ignitionValidate(validator.path!, text), '', `ignition-validate accepts ${text}`);
    }
  });

  test('the reference Butane\'s output for the whole corpus reads back without a complaint', { skip: butane.missing }, async () => {
    for (const name of readdirSync(CORPUS).filter((file) => file.endsWith('.bu'))) {
      const theirs = await referenceButane(butane.path!, join(CORPUS, name));
      assert.deepEqual(JSON.parse(compileJson(theirs)), JSON.parse(theirs), name);
    }
  });
});
