// Compiled templates kept between renders (Compilers, src/compile/render.ts): the incremental
// builder renders each edit's few answers with the templates compiled for the edit before. A
// template is compiled again only when its text changes, a changed one is never served from
// the old compile, one that does not compile is reported by every render, and the iPXE and
// data templates stay in their separate handlebars instances.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TemplateError, type BootcfgError } from '../src/compile/errors.js';
import type { BootConfig } from '../src/compile/load.js';
import { Compilers, render } from '../src/compile/render.js';
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
