// The model a load keeps holds its own copies of the strings it read (json.ts Strings): one per
// distinct value, not slices of each file's text. A copy must equal what the file says, for
// every kind of string a data file can hold: escapes, long values, characters past U+FFFF,
// lone surrogates, and values shared between files.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from '../src/compile/load.js';
import { TEMPLATE_NAMES } from '../src/compile/templates.js';

const odd = ['tab\there', 'quote " and \\ backslash', 'long '.repeat(40), 'emoji 🚀 past U+FFFF', 'lone \ud800 surrogate', 'line\nbreak', 'x'];

test('a load keeps every string equal to what its file says, shared or not', () => {
  const files = new Map<string, Buffer>();
  const boot = (n: number) => ({ kernel: '/images/os/41/vmlinuz', initrd: ['/images/os/41/initrd.img'], cmdline: { console: 'ttyS0,115200n8', hostname: `node-${n}-${'h'.repeat(20)}`, quiet: '' }, args: ['bench.tag=v1', `ignition.config.url=http://example/${n}`] });
  for (let n = 0; n < 3; n++) files.set(`boot/uuid/0b00c0f6-0000-4000-8000-00000000000${n}`, Buffer.from(JSON.stringify(boot(n), null, 2)));
  files.set('profiles/worker.json', Buffer.from(JSON.stringify({ id: 'worker', name: 'Worker nodes of rack one', boot: boot(9) })));
  const metadata = Object.fromEntries(odd.map((value, i) => [`k${i}`, value]));
  files.set('groups/a.json', Buffer.from(JSON.stringify({ id: 'a', name: odd[2], profile: 'worker', selector: { mac: '52:54:00:AB:CD:EF', rack: 'rack-one.of_many' }, metadata: { ...metadata, list: odd, nested: { deeper: odd[1] } } })));
  files.set('groups/b.json', Buffer.from(JSON.stringify({ id: 'b', profile: 'worker', selector: { rack: 'rack-one.of_many' }, metadata })));
  const { model, errors } = load(files, TEMPLATE_NAMES, () => []);
  assert.deepEqual(errors, []);
  assert.equal(model.boot.length, 3);
  for (const [n, { value }] of model.boot.entries()) {
    assert.equal(value.kernel, '/images/os/41/vmlinuz');
    assert.deepEqual(value.initrd, ['/images/os/41/initrd.img']);
    assert.deepEqual(value.args, ['console=ttyS0,115200n8', `hostname=node-${n}-${'h'.repeat(20)}`, 'quiet', 'bench.tag=v1', `ignition.config.url=http://example/${n}`]);
    assert.deepEqual(value.images?.map((image) => image.file), ['os/41/vmlinuz', 'os/41/initrd.img']);
  }
  assert.equal(model.profiles.get('worker')?.name, 'Worker nodes of rack one');
  const [a, b] = model.groups;
  assert.equal(a?.name, odd[2]);
  assert.deepEqual(a?.selector, [['mac', ['52-54-00-ab-cd-ef']], ['rack', ['rack-one.of_many']]]);
  assert.deepEqual(a?.metadata, { ...metadata, list: odd, nested: { deeper: odd[1] } });
  assert.deepEqual(b?.metadata, metadata);
  assert.equal(b?.name, 'b');
});
