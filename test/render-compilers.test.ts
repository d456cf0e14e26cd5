// Compiled templates kept between renders (Compilers, src/compile/render.ts): the incremental
// builder renders each edit's few answers with the templates compiled for the edit before. A
// template is compiled again only when its text changes, a changed one is never served from
// the old compile, one that does not compile is reported by every render, and the iPXE and
// data templates stay in their separate handlebars instances.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TemplateError, type BootcfgError } from '../src/compile/errors.js';
import type { BootConfig } from '../src/compile/load.js';
import { Compilers, render, Rendering } from '../src/compile/render.js';
import type { Plan } from '../src/compile/resolve.js';
import type { TemplateName, TemplateSource } from '../src/compile/templates.js';

const boot: BootConfig = { kernel: '/images/k', initrd: ['/images/i'], args: ['console=ttyS0'] };
const plan: Plan = new Map([['ipxe/uuid/ab/m1', { kind: 'ipxe', source: 'boot/uuid/m1', boot }]]);

function templates(ipxe: string): Map<TemplateName, TemplateSource> {
  return new Map<TemplateName, TemplateSource>([
    ['ipxe', { file: 'templates/ipxe.hbs', text: ipxe }],
    ['boot.ipxe', { file: 'templates/boot.ipxe.hbs', text: '#!ipxe\nchain ipxe\n' }],
  ]);
}

const answer = (rendered: ReturnType<typeof render>) => rendered.files.get('ipxe/uuid/ab/m1')?.toString();

test('a template is compiled once per text, and a changed text renders the new template', () => {
  const compilers = new Compilers();
  const errors: BootcfgError[] = [];
  const first = compilers.boot.compile({ file: 'a.hbs', text: 'kernel {{kernel}}' }, errors, '');
  assert.equal(compilers.boot.compile({ file: 'b.hbs', text: 'kernel {{kernel}}' }, errors, ''), first, 'the same text: the same compile');
  assert.notEqual(compilers.boot.compile({ file: 'a.hbs', text: 'kernel {{kernel}} ' }, errors, ''), first);
  assert.deepEqual(errors, []);

  assert.equal(answer(render(plan, templates('#!ipxe\nkernel {{kernel}} {{cmdline}}\n'), undefined, undefined, compilers)), '#!ipxe\nkernel /images/k console=ttyS0\n');
  assert.equal(answer(render(plan, templates('#!ipxe\nkernel {{kernel}}\nboot\n'), undefined, undefined, compilers)), '#!ipxe\nkernel /images/k\nboot\n');
});

test('a template that does not compile is reported by every render that keeps compiled templates', () => {
  const compilers = new Compilers();
  for (let round = 0; round < 2; round++) {
    const rendered = render(plan, templates('#!ipxe\nkernel {{#if kernel}}{{kernel}}\n'), undefined, undefined, compilers);
    assert.equal(rendered.errors.length, 1, `round ${round}`);
    assert.ok(rendered.errors[0] instanceof TemplateError);
    assert.equal(rendered.errors[0].file, 'templates/ipxe.hbs');
    assert.equal(rendered.files.size, 0);
  }
});

test("data templates compile with Go's built-ins, iPXE templates without them", () => {
  const compilers = new Compilers();
  const text = '{{#if (eq role "etcd")}}yes{{else}}no{{/if}}';
  assert.equal(compilers.data.compile({ file: 'cloud/x', text }, [], '')!({ role: 'etcd' }), 'yes');
  assert.throws(() => compilers.boot.compile({ file: 'templates/ipxe.hbs', text }, [], '')!({ role: 'etcd' }), /eq/);
});

test('a render in steps (Rendering, as serve --watch renders a large edit between requests) gives what one render gives', () => {
  const shared: BootConfig = { kernel: '/images/shared', initrd: [], args: [] };
  const steps: Plan = new Map();
  for (let i = 0; i < 6; i++) {
    steps.set(`ipxe/mac/0${i}/m${i}`, { kind: 'ipxe', source: `groups/g${i}.json`, boot: shared, shared: true });
    // g1, g3 and g5 lack `role`: a strict lookup fails, reported once per template and group.
    const context = i % 2 === 0 ? { role: 'etcd' } : {};
    steps.set(`cloud/mac/0${i}/m${i}`, { kind: 'template', source: `groups/g${i}.json`, group: `g${i}`, template: 'cloud/node.yaml', context });
    steps.set(`generic/mac/0${i}/m${i}`, { kind: 'template', source: `groups/g${i}.json`, group: `g${i}`, template: 'cloud/node.yaml', context });
  }
  const data = new Map([['cloud/node.yaml', { file: 'cloud/node.yaml', text: '#cloud-config\nhostname: {{role}}\n' }]]);
  const whole = render(steps, templates('#!ipxe\nkernel {{kernel}}\n'), data);
  const rendering = new Rendering(templates('#!ipxe\nkernel {{kernel}}\n'), data, new Map(), new Compilers());
  for (const [path, planned] of steps) rendering.add(path, planned);
  assert.deepEqual([...rendering.files].map(([path, body]) => [path, body.toString()]), [...whole.files].map(([path, body]) => [path, body.toString()]));
  assert.deepEqual(rendering.errors.map((error) => error.message), whole.errors.map((error) => error.message));
  assert.equal(whole.errors.length, 3, 'once per group, not once per answer');
  assert.equal(rendering.shared.size, 1, "the profile's script rendered once, the same buffer for all six");
  assert.equal(new Set([...rendering.files].filter(([path]) => path.startsWith('ipxe/')).map(([, body]) => body)).size, 1);
});
