// Issue 11 wants cheaper checks of cloud-config YAML and boot-config JSON. Whatever replaces
// yaml's parseDocument or jsonc-parser's parseTree must report the same errors at the same
// places and accept the same files: these pin today's answers on the pure core, a corpus of
// bad and good inputs each, so a fast path that changes one message or column fails here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCloudConfig } from '../src/compile/cloud-config.js';
import { objectProperties, parseJsonObject } from '../src/compile/json.js';
import type { LoadError } from '../src/compile/errors.js';

const where = (errors: LoadError[]) => errors.map((e) => `${e.line}:${e.column}: ${e.message}`);

test('cloud-config YAML: accepted files stay accepted, bad ones keep their messages and positions', () => {
  const good = ['#cloud-config\n', '#cloud-config\n# only a comment\n', '#cloud-config\nhostname: a\nhostname: b\n', '#cloud-config\nusers:\n  - name: core\n    groups: [sudo]\n', '#!/bin/sh\necho "not: [yaml\n', '#cloud-config\nyes: on\nx: 0777\n', '#cloud-config\na: &ok 1\nb: *ok\n', '#cloud-config\n# *not an alias\nx: "*"\n'];
  for (const text of good) assert.deepEqual(where(checkCloudConfig('f', Buffer.from(text))), [], text);
  const bad = ['#cloud-config\nusers:\n  - name: core\n    groups: [sudo\n', '#cloud-config\nhostname: "web-1\n', '#cloud-config\n- users\n', '#cloud-config\na: b: c\n', '#cloud-config\n\tkey: tab\n', '#cloud-config\nx: {a: 1\n', '#cloud-config\nb: *ok\na: &ok 1\n'];
  const now = bad.map((text) => where(checkCloudConfig('f', Buffer.from(text))));
  assert.deepEqual(now, [
    ['5:1: invalid cloud-config YAML: Flow sequence in block collection must be sufficiently indented and end with a ]'],
    ['3:1: invalid cloud-config YAML: Missing closing "quote'],
    ['2:1: a cloud-config must be a mapping of keys (users:, hostname: …)'],
    ['2:4: invalid cloud-config YAML: Nested mappings are not allowed in compact mappings'],
    ['2:1: invalid cloud-config YAML: Tabs are not allowed as indentation'],
    ['3:1: invalid cloud-config YAML: Flow map in block collection must be sufficiently indented and end with a }'],
    ['2:4: invalid cloud-config YAML: undefined alias *ok'], // PyYAML, as cloud-init reads it, refuses an alias before its anchor
  ]);
});

test('boot-config JSON: a duplicate key and a syntax error keep their exact line and column', () => {
  const errors: LoadError[] = [];
  const text = '{\n  "kernel": "/a",\n  "args": [],\n    "kernel": "/b"\n}\n';
  const parsed = parseJsonObject('f.json', text, errors, 'a boot config', '{"kernel": "…"}');
  assert.ok(parsed);
  const properties = objectProperties(parsed.root, parsed.report);
  assert.equal(properties.get('kernel')?.value, '/a');
  assert.deepEqual(where(errors), ['4:5: duplicate key "kernel"']);
  const syntax: LoadError[] = [];
  assert.equal(parseJsonObject('f.json', '{\n  "kernel": "/a",\n}\n', syntax, 'a boot config', '{}'), undefined);
  assert.deepEqual(where(syntax), ['3:1: invalid JSON: expected a property name in double quotes (a trailing comma?)']);
  const notObject: LoadError[] = [];
  assert.equal(parseJsonObject('f.json', '[1]', notObject, 'a boot config', '{}'), undefined);
  assert.equal(notObject.length, 1);
  assert.match(where(notObject)[0]!, /^1:1: a boot config must be a JSON object/);
});
