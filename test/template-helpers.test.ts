// The Go text/template built-ins that data templates may call, through a real handlebars instance.
import assert from 'node:assert/strict';
import test from 'node:test';
import Handlebars from 'handlebars';
import { registerTemplateHelpers } from '../src/compile/template-helpers.js';

function render(text: string, context: object): string {
  const instance = Handlebars.create();
  registerTemplateHelpers(instance);
  return instance.compile(text, { noEscape: true, strict: true })(context);
}

test('eq matches any of its later arguments, as Go does', () => {
  assert.equal(render('{{#if (eq role "master" "etcd")}}yes{{else}}no{{/if}}', { role: 'etcd' }), 'yes');
  assert.equal(render('{{#if (eq role "master")}}yes{{else}}no{{/if}}', { role: 'worker' }), 'no');
  assert.equal(render('{{#if (ne role "master")}}yes{{/if}}', { role: 'worker' }), 'yes');
});

test('and/or return an operand, with Go truth (empty list and map are false)', () => {
  assert.equal(render('{{or name "fallback"}}', { name: '' }), 'fallback');
  assert.equal(render('{{and a b}}', { a: 'x', b: 'y' }), 'y');
  assert.equal(render('{{#if (not list)}}empty{{/if}}', { list: [] }), 'empty');
  assert.equal(render('{{#if (not map)}}empty{{/if}}', { map: {} }), 'empty');
});

test('ordered comparisons refuse mixed types instead of guessing', () => {
  assert.equal(render('{{#if (lt n 3)}}small{{/if}}', { n: 2 }), 'small');
  assert.equal(render('{{#if (ge s "b")}}late{{/if}}', { s: 'c' }), 'late');
  assert.throws(() => render('{{lt n "3"}}', { n: 2 }), /cannot compare number with string/);
});

test('index looks up nested keys and positions; len counts', () => {
  assert.equal(render('{{index m "a" 1}}', { m: { a: ['x', 'y'] } }), 'y');
  assert.equal(render('{{len list}}/{{len m}}/{{len s}}', { list: [1, 2], m: { a: 1 }, s: 'abc' }), '2/1/3');
  assert.throws(() => render('{{index m "a" "b"}}', { m: {} }), /missing value/);
});
