// A cloud config that says it is one (`#cloud-config` first) must be YAML, or cloud-init skips
// it and the machine boots unconfigured: build and validate name its file, line and column. A
// half-written file caught by `serve --watch` fails the same way. Other formats pass unchecked.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { checkCloudConfig } from '../src/compile/cloud-config.js';
import { runCli, sampleData, tempDir, writeFiles, UUID } from './helpers.js';

async function validate(files: Record<string, string>) {
  const data = await writeFiles(await tempDir(), { ...sampleData(), ...files });
  return { ...(await runCli(['validate', '--data-path', data])), data };
}

test('a #cloud-config that is not YAML fails validate and build with its line and column', async () => {
  const half = '#cloud-config\nusers:\n  - name: core\n    groups: [sudo\n'; // cut mid-write
  const { code, stderr, data } = await validate({ 'cloud/default': half, [`cloud/uuid/${UUID.toUpperCase()}`]: '#cloud-config\nhostname: "web-1\n' });
  assert.equal(code, 1, stderr);
  assert.match(stderr, new RegExp(`^${join(data, 'cloud/default')}:5:1: invalid cloud-config YAML: .*\\]`, 'm'));
  assert.match(stderr, new RegExp(`^${join(data, `cloud/uuid/${UUID.toUpperCase()}`)}:3:1: invalid cloud-config YAML: Missing closing "quote`, 'm'));
  assert.match(stderr, /hint: a file starting with #cloud-config must be YAML/);
  const built = await runCli(['build', '--data-path', data, '--dist-path', join(data, '..', 'dist')]);
  assert.equal(built.code, 1, built.stderr);
});

test('a #cloud-config must be a mapping; scripts and other formats are not checked', async () => {
  const list = await validate({ 'cloud/default': '#cloud-config\n- users\n' });
  assert.equal(list.code, 1, list.stderr);
  assert.match(list.stderr, /cloud\/default:2:1: a cloud-config must be a mapping of keys/);
  const others = await validate({
    'cloud/default': '#!/bin/sh\necho "not: [yaml\n',
    'cloud/mac/525400123456': '#cloud-config\n# nothing but a comment\n',
    [`cloud/uuid/${UUID.toUpperCase()}`]: '#cloud-config\nhostname: a\nhostname: b\n', // PyYAML takes the last
  });
  assert.equal(others.code, 0, others.stderr);
});

test('what cloud-init\'s PyYAML reads and the yaml package alone refused is accepted: a flow list continued at column 0, a lone ---', () => {
  // Both are read by PyYAML's safe_load (cloud-init's loader; checked by hand with python3-yaml 6.0).
  for (const text of ['#cloud-config\npackages: [git,\nvim]\n', '#cloud-config\n---\n']) {
    assert.deepEqual(checkCloudConfig('cloud/default', Buffer.from(text)).map(String), [], text);
  }
  // And what it refuses stays refused, at the yaml package's position: a list, a flow left open.
  const where = (text: string) => checkCloudConfig('cloud/default', Buffer.from(text)).map(({ line, column, message }) => `${line}:${column}: ${message}`);
  assert.match(where('#cloud-config\n- a\n').join('\n'), /^2:1: a cloud-config must be a mapping/);
  assert.match(where('#cloud-config\nx: [a, b\n').join('\n'), /^3:1: invalid cloud-config YAML/);
});
