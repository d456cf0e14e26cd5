// Butane errors read as `file:line:col: message` + hint, at the line of the key or value at fault:
// YAML syntax, unknown keys with "did you mean", wrong types, features bootcfg refuses (naming
// the feature and the Butane version), version limits, local files that escape, and the semantic
// rules of ignition-rules.ts as they point back into the Butane source.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BootcfgError, ErrorList } from '../src/compile/errors.js';
import { compileIgnition } from '../src/compile/ignition.js';
import { ignitionValidate, tool } from './butane-peer.js';

const validator = tool('ignition-validate');

const FILES: Record<string, string> = { 'motd': 'hello\n', 'ssh/keys': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA a@b\n', 'plain.txt': 'not gzip' };
const local = (path: string) => (Object.hasOwn(FILES, path) ? Buffer.from(FILES[path]!) : undefined);

/** Every error of a Butane text as "line:col: message | hint". */
function errorsOf(body: string, header = 'variant: fcos\nversion: 1.4.0\n'): string[] {
  try {
    compileIgnition({ file: 'ignition/node.bu', text: header + body, kind: 'butane' }, { local });
  } catch (error) {
    assert.ok(error instanceof BootcfgError, String(error));
    const list = error instanceof ErrorList ? error.errors : [error];
    return list.map((e) => {
      assert.equal(e.file, 'ignition/node.bu');
      return `${e.line}:${e.column}: ${e.message} | ${e.hint ?? ''}`;
    });
  }
  assert.fail('expected a build error');
}

function assertError(body: string, expected: RegExp, header?: string): void {
  const errors = errorsOf(body, header);
  assert.ok(errors.some((e) => expected.test(e)), `no error matching ${expected} in:\n${errors.join('\n')}`);
}

describe('Butane errors: the source', () => {
  test('YAML syntax errors name the line', () => {
    assertError('storage:\n  files:\n    - path: /a\n   bad indent: x\n', /^\d+:\d+: invalid YAML/);
  });

  test('a repeated key is an error (Go would keep the last silently)', () => {
    assertError('storage:\n  files: []\n  files: []\n', /^5:3: invalid YAML: Map keys must be unique/);
  });

  test('an unknown YAML tag is an error; the standard ones are typed as Butane types them', async () => {
    assertError('storage:\n  files:\n    - path: /a\n      overwrite: !custom true\n', /^6:18: invalid YAML: Unresolved tag: !custom/);
    const json = compileIgnition({ file: 'x.bu', text: 'variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /a\n      mode: !!int 420\n      contents:\n        inline: !!binary aGVsbG8=\n', kind: 'butane' }).json;
    assert.deepEqual(JSON.parse(json).storage.files[0], { path: '/a', mode: 420, contents: { source: 'data:,hello', compression: '' } });
    // Every config the tests compile passes Ignition's own validator.
    if (!validator.missing) assert.equal(await ignitionValidate(validator.path!, json), '');
  });

  test('variant and version are required and checked', () => {
    assert.match(errorsOf('storage: {}\n', '')[0]!, /missing "variant"/);
    assert.match(errorsOf('', 'variant: rhcos\nversion: 0.1.0\n')[0]!, /^1:10: Butane variant "rhcos" is not supported/);
    assert.match(errorsOf('', 'variant: fcos\nversion: 1.9.0\n')[0]!, /^2:10: unknown Butane fcos version "1.9.0" \| use one of 1.0.0, 1.1.0/);
  });

  test('newer spec versions are refused with the version to use', () => {
    assert.match(errorsOf('', 'variant: fcos\nversion: 1.5.0\n')[0]!, /Butane fcos 1.5.0 emits Ignition 3.4.0, which bootcfg does not emit yet \| use one of .*1.4.0/);
    assert.match(errorsOf('', 'variant: flatcar\nversion: 1.1.0\n')[0]!, /Butane flatcar 1.1.0 emits Ignition 3.4.0/);
  });

  test('an unknown key says "did you mean" and points at the key', () => {
    assertError('storage:\n  files:\n    - path: /etc/a\n      mdoe: 0644\n', /^6:7: unknown key "mdoe" \| did you mean "mode"\?/);
    assertError('sytemd:\n  units: []\n', /^3:1: unknown key "sytemd" \| did you mean "systemd"\?/);
    assertError('storage:\n  files:\n    - path: /etc/a\n      contents:\n        inlin: x\n', /^7:9: unknown key "inlin" \| did you mean "inline"\?/);
  });

  test('the Ignition spelling of a key is not Butane\'s', () => {
    assertError('passwd:\n  users:\n    - name: core\n      sshAuthorizedKeys: []\n', /^6:7: unknown key "sshAuthorizedKeys" \| .*ssh_authorized_keys/);
  });

  test('wrong types point at the value', () => {
    assertError('storage:\n  files:\n    - path: /etc/a\n      mode: rw-r--r--\n', /^6:13: "mode" must be an integer, not "rw-r--r--" \| write 0644/);
    assertError('systemd:\n  units:\n    - name: a.service\n      enabled: maybe\n', /^6:16: "enabled" must be a boolean/);
    assertError('storage:\n  files: /etc/a\n', /^4:10: "files" must be a list/);
    assertError('storage:\n  files:\n    - path: /etc/a\n      mode: "0644"\n', /^6:13: "mode" must be an integer, not "0644"/);
  });

  test('a field newer than the spec version names the version that has it', () => {
    assertError('kernel_arguments:\n  should_exist: [quiet]\n', /^3:1: "kernel_arguments" is not in Butane fcos 1.0.0 \(Ignition 3.0.0\) \| it needs version: 1.4.0 or later/, 'variant: fcos\nversion: 1.0.0\n');
    assertError('storage:\n  luks:\n    - name: a\n', /"luks" is not in Butane fcos 1.1.0 .*1.2.0 or later/, 'variant: fcos\nversion: 1.1.0\n');
  });

  test('a missing required key points at its mapping', () => {
    assertError('storage:\n  files:\n    - mode: 0644\n', /^5:7: missing "path"/);
  });

  test('anchors that multiply the document are bounded', () => {
    let yaml = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 8; i++) yaml += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
    const errors = errorsOf(`${yaml}storage:\n  files:\n    - path: /a\n      contents:\n        inline: *a7\n`);
    assert.ok(errors.length > 0);
  });
});

describe('Butane errors: refused features', () => {
  test('boot_device: versions and variants without it, layouts bootcfg does not lay out', () => {
    assertError('boot_device:\n  luks:\n    tpm2: true\n', /^3:1: "boot_device" is not in Butane fcos 1.2.0 \| it appeared in Butane fcos 1.3.0 and later/, 'variant: fcos\nversion: 1.2.0\n');
    assertError('boot_device:\n  luks:\n    tpm2: true\n', /^3:1: "boot_device" is not in Butane flatcar 1.0.0/, 'variant: flatcar\nversion: 1.0.0\n');
    assertError('boot_device:\n  layout: s390x-eckd\n  luks:\n    tpm2: true\n', /^4:3: boot_device layout "s390x-eckd" is not supported by bootcfg \| layouts: x86_64, aarch64, ppc64le/);
    assertError('boot_device:\n  mirror:\n    devices: [/dev/sda]\n', /^5:5: mirroring requires at least two devices/);
    assertError('boot_device:\n  mirorr: {}\n', /^4:3: unknown key "mirorr" \| did you mean "mirror"\?/);
  });

  test('boot_device merged with the operator\'s storage: errors keep the operator\'s lines', () => {
    const body = 'boot_device:\n  mirror:\n    devices: [/dev/sda, /dev/sdb]\nstorage:\n  filesystems:\n    - device: /dev/md/md-boot\n      path: boot\n';
    assertError(body, /^9:7: filesystem path "boot" is not absolute/);
  });

  test('grub users are in a spec version bootcfg does not take yet', () => {
    assertError('grub:\n  users:\n    - name: root\n', /^3:1: "grub" is not in Butane fcos 1.4.0 \| it appeared in Butane fcos 1.5.0 and later, which bootcfg does not take yet/);
  });

  test('storage.trees is refused with the reason; with_mount_unit needs its version and a path', () => {
    assertError('storage:\n  trees:\n    - local: etc\n', /^4:3: "trees" \(Butane fcos 1.1.0 and later\) is not supported by bootcfg \| .*storage.files with contents.local/);
    assertError('storage:\n  filesystems:\n    - device: /dev/sdb\n      with_mount_unit: true\n', /^6:7: "with_mount_unit" is not in Butane fcos 1.0.0 \| .*it needs version: 1.1.0 or later/, 'variant: fcos\nversion: 1.0.0\n');
    assertError('storage:\n  filesystems:\n    - device: /dev/sdb\n      format: xfs\n      with_mount_unit: true\n', /^7:7: with_mount_unit needs the filesystem's "path"/);
  });

  test('Clevis on Flatcar is refused, as Butane does: Flatcar does not ship it', () => {
    assertError('storage:\n  luks:\n    - name: data\n      device: /dev/vdb\n      clevis:\n        tpm2: true\n', /^7:7: "clevis" is not supported on flatcar/, 'variant: flatcar\nversion: 1.0.0\n');
  });

  test('contents_local on units is a later spec version', () => {
    assertError('systemd:\n  units:\n    - name: a.service\n      contents_local: a.service\n', /"contents_local" is not in Butane fcos 1.4.0 \| it appeared in Butane fcos 1.5.0/);
  });
});

describe('Butane errors: contents', () => {
  test('contents.local may not leave the files directory', () => {
    for (const path of ['../secret', '/etc/shadow', 'a/../../b', 'a//b', './motd']) {
      assertError(`storage:\n  files:\n    - path: /etc/a\n      contents:\n        local: ${path}\n`, /^7:9: "local" path .* must be relative and stay inside the files directory/);
    }
  });

  test('a missing local file is named', () => {
    assertError('storage:\n  files:\n    - path: /etc/a\n      contents:\n        local: nope.txt\n', /^7:9: "local" file "nope.txt" not found/);
  });

  test('inline, local and source are exclusive', () => {
    assertError('storage:\n  files:\n    - path: /etc/a\n      contents:\n        inline: x\n        source: https://example.com/a\n', /"inline" cannot be combined with "source"/);
    assertError('storage:\n  files:\n    - path: /etc/a\n      contents:\n        inline: x\n        local: motd\n', /cannot be combined with "local"/);
  });

  test('compression with inline is refused (Butane emits a config Ignition cannot decompress)', () => {
    assertError('storage:\n  files:\n    - path: /etc/a\n      contents:\n        compression: gzip\n        inline: hello\n', /^8:9: "compression" cannot be used with "inline"/);
  });

  test('compression gzip on a local file that is not gzip', () => {
    assertError('storage:\n  files:\n    - path: /etc/a\n      contents:\n        compression: gzip\n        local: plain.txt\n', /"local" file "plain.txt" is not gzip data/);
  });
});

describe('Butane errors: semantic rules point at the Butane line', () => {
  test('relative and unclean paths', () => {
    assertError('storage:\n  files:\n    - path: etc/a\n', /^5:7: file path "etc\/a" is not absolute \| write "\/etc\/a"/);
    assertError('storage:\n  directories:\n    - path: /etc//a/\n', /directory path "\/etc\/\/a\/" is not clean \| write "\/etc\/a"/);
    assertError('storage:\n  filesystems:\n    - device: /dev/sdb\n      path: var/lib\n', /filesystem path "var\/lib" is not absolute/);
  });

  test('duplicate paths, and a link and a file at one path', () => {
    assertError('storage:\n  files:\n    - path: /etc/a\n    - path: /etc/a\n', /^6:7: duplicate file path "\/etc\/a"/);
    assertError('storage:\n  files:\n    - path: /etc/a\n  links:\n    - path: /etc/a\n      target: /etc/b\n', /^7:7: a link and a file at one path "\/etc\/a" \| .*storage.files\[0\]/);
  });

  test('a decimal mode that was meant as octal', () => {
    assertError('storage:\n  files:\n    - path: /etc/a\n      mode: 644\n', /^6:7: mode 644 is decimal \(octal 1204\): did you mean octal 0644\?/);
    assertError('storage:\n  files:\n    - path: /etc/a\n      mode: 0o17777\n', /mode 8191 is out of range/);
    assertError('storage:\n  directories:\n    - path: /etc/a\n      mode: 0644\n', /directory mode 0644 lets its owner read but not enter it/);
  });

  // Found by the Ignition e2e boot: `mode: 01777` (a sticky /tmp-like directory) is 1023, whose
  // decimal digits look octal, so it was called a decimal slip ("did you mean octal 01023?").
  // Written in octal it is what it says; what is wrong with it is the sticky bit, which Ignition
  // 2.14 (spec 3.3.0) does not apply (ignition-validate warns).
  test('a mode written in octal is never called decimal; special bits are refused as such', () => {
    const dir = (mode: string) => `storage:\n  directories:\n    - path: /srv/shared\n      mode: ${mode}\n`;
    for (const mode of ['01777', '0o1777']) {
      const errors = errorsOf(dir(mode));
      assert.deepEqual(errors.filter((e) => /decimal/.test(e)), [], errors.join('\n'));
      assert.ok(errors.some((e) => /^6:7: mode 01777 sets the sticky bit, which Ignition 3.3.0 does not apply \| .*\(0777 here\)/.test(e)), errors.join('\n'));
    }
    assertError(dir('06755').replace('directories', 'files'), /^6:7: mode 06755 sets the setuid and setgid bits, which Ignition 3.3.0 does not apply/);
    // The same number in Ignition JSON, where only decimal exists, is still asked about.
    assert.throws(() => compileIgnition({ file: 'ignition/node.ign', text: '{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/etc/a","mode":644}]}}', kind: 'ignition' }), /mode 644 is decimal/);
  });

  test('a link without target', () => {
    assertError('storage:\n  links:\n    - path: /etc/a\n', /^5:7: link "\/etc\/a" has no target/);
  });

  test('sources, compression and hashes', () => {
    assertError('storage:\n  files:\n    - path: /etc/a\n      contents:\n        source: ftp://example.com/a\n', /^7:9: source scheme "ftp:" is not one Ignition 3.3.0 fetches/);
    assertError('storage:\n  files:\n    - path: /etc/a\n      contents:\n        source: https://x/a\n        compression: xz\n', /compression "xz" is not supported/);
    assertError('storage:\n  files:\n    - path: /etc/a\n      contents:\n        source: https://x/a\n        verification:\n          hash: md5-abc\n', /^9:11: hash "md5-abc…" is not sha512 or sha256/);
    assertError('storage:\n  files:\n    - path: /etc/a\n      contents:\n        source: https://x/a\n        verification:\n          hash: sha256-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n', /is not sha512-<lowercase hex digest> \| .*sha256 needs Ignition 3.2.0/, 'variant: fcos\nversion: 1.1.0\n');
  });

  test('units: enabled without [Install], enabled without contents the image lacks, duplicates, dropin names', () => {
    assertError('systemd:\n  units:\n    - name: a.service\n      enabled: true\n      contents: "[Service]\\nExecStart=/bin/true\\n"\n', /^6:7: unit "a.service" is enabled but has no \[Install\] section/);
    assertError('systemd:\n  units:\n    - name: my-agent.service\n      enabled: true\n', /^6:7: unit "my-agent.service" is enabled but has no contents, and the fcos image does not ship it/);
    assertError('systemd:\n  units:\n    - name: etcd-member.service\n      enabled: true\n', /the fcos image does not ship it/);
    assertError('systemd:\n  units:\n    - name: a.service\n    - name: a.service\n', /^6:7: unit "a.service" is defined twice/);
    assertError('systemd:\n  units:\n    - name: a\n', /"a" is not a systemd unit name/);
    assertError('systemd:\n  units:\n    - name: a.service\n      dropins:\n        - name: 10-a\n', /dropin "10-a" must be a file name ending in .conf/);
  });

  test('passwd: a password where its hash goes, a key that is not a key, duplicate users', () => {
    assertError('passwd:\n  users:\n    - name: core\n      password_hash: hunter2\n', /^6:7: password hash of "core" is not a crypt\(3\) hash \(was the password itself pasted\?\) \| .*mkpasswd/);
    assertError('passwd:\n  users:\n    - name: core\n      ssh_authorized_keys:\n        - AAAAC3NzaC1lZDI1NTE5\n', /^7:11: SSH key 1 of "core" is not an OpenSSH public key/);
    assertError('passwd:\n  users:\n    - name: core\n    - name: core\n', /user "core" is defined twice/);
  });

  test('a kernel argument both wanted and not', () => {
    assertError('kernel_arguments:\n  should_exist: [quiet]\n  should_not_exist: [quiet]\n', /^5:22: kernel argument "quiet" should both exist and not exist/);
  });

  test('all problems of a config are reported at once, in line order', () => {
    const errors = errorsOf('storage:\n  files:\n    - path: etc/a\n    - path: /etc/b\n      mdoe: 1\npasswd:\n  users:\n    - name: core\n      password_hash: x\n');
    assert.ok(errors.length >= 2, errors.join('\n'));
    const lines = errors.map((e) => Number(e.split(':')[0]));
    assert.deepEqual(lines, [...lines].sort((a, b) => a - b));
  });
});

describe('hostile input', () => {
  test('odd documents fail as build errors, never as crashes', () => {
    const header = 'variant: fcos\nversion: 1.4.0\n';
    const texts = ['', '---', '[]', '- a', 'null', '\u0000\u0001', 'a: &a [*a]\n', 'variant: [fcos]\nversion: 1.4.0', `${header}<<: {storage: {}}`,
      `${header}storage:\n  files:\n    - ~`, `${header}storage:\n  files:\n    -`, `${header}? [a]\n: b`, `${header}storage:\n  files:\n    - path: *nope`,
      `${header}storage:\n  files:\n    - path: /a\n      mode: 99999999999999999999999`, `${header}storage:\n  files:\n    - path: /a\n      contents:\n        inline: [1]`,
      `${header}passwd: {users: [{name: [1]}]}`, `${header}boot_device:\n  mirror:\n    devices: [/dev/a, /dev/b]\nstorage:\n  disks: [~]\n  filesystems: [1]`,
      '{"ignition":{"version":"3.3.0"},"storage":{"files":[null]}}', '{"ignition":null}', '{"ignition":{"version":"3.3.0"},"systemd":{"units":[{"name":"a.service","dropins":[null]}]}}'];
    for (const text of texts) {
      for (const kind of ['butane', 'ignition'] as const) {
        assert.throws(() => compileIgnition({ file: 'ignition/x', text, kind }), (error: unknown) => error instanceof BootcfgError, `${kind}: ${JSON.stringify(text)}`);
      }
    }
  });
});
