// The Go template translator, judged by the real thing: each template is rendered by the real
// matchbox v0.9.0 (Go's text/template, one group per template) and its translation by a real
// handlebars instance with bootcfg's data-template options and helpers; the answers must match
// byte for byte. Templates it cannot translate are reported with line and column.

import assert from 'node:assert/strict';
import test, { before } from 'node:test';
import Handlebars from 'handlebars';
import { registerTemplateHelpers } from '../src/compile/template-helpers.js';
import { translateGoTemplate } from '../src/import/gotemplate.js';
import { get, tempDir, writeFiles } from './helpers.js';
import { CLOUD_CONFIG_HEAD } from './matchbox-fleets.js';
import { skipWithoutMatchbox, startMatchbox, type Matchbox } from './matchbox.js';

const METADATA = {
  hostname: 'node1',
  role: 'etcd',
  count: 3,
  ratio: 1.5,
  big: 2048000,
  empty: '',
  enabled: true,
  off: false,
  nothing: null,
  ssh_authorized_keys: ['ssh-rsa AAA', 'ssh-ed25519 BBB'],
  none: [],
  net: { ip: '10.0.0.5', gw: '10.0.0.1', dns: ['1.1.1.1', '8.8.8.8'] },
  disks: [
    { dev: '/dev/sda', size: 100 },
    { dev: '/dev/sdb', size: 200 },
  ],
  index: 'idx',
  len: 'L',
  weird: 'a\\b{{c}}',
};

/** Go templates matchbox users write; each must translate and render exactly as matchbox does. */
const CASES: Record<string, string> = {
  fields: 'host={{.hostname}} role={{ .role }} ip={{.net.ip}}\n',
  trim: 'a  {{- .hostname -}}  b\n{{- /* comment */ -}}\n  z {{/* kept */}} y\n',
  'if else-if else': '{{if eq .role "master"}}M{{else if eq .role "etcd"}}E{{else}}W{{end}}|{{if .off}}on{{else}}off{{end}}\n',
  'range with index and element': '{{range $i, $k := .ssh_authorized_keys}}{{$i}}={{$k}};{{end}}\n',
  'range with dot and root': '{{range .disks}}{{.dev}}:{{.size}}:{{$.hostname}} {{end}}\n',
  'range else': '{{range .none}}x{{else}}empty {{.hostname}}{{end}}\n',
  with: '{{with .net}}{{.gw}} {{index .dns 1}} {{$.role}}{{end}}|{{with .empty}}no{{else}}yes{{end}}|{{with $n := .net}}{{$n.ip}}{{end}}\n',
  variables: '{{$h := .hostname}}{{range .net.dns}}{{$h}}->{{.}} {{end}}{{$d := .disks}}{{len $d}}\n',
  comparisons: '{{if and (gt .count 2.0) (lt .ratio 2.0)}}y{{end}}{{if ne .role "x"}}n{{end}}{{if not .off}}!off{{end}}{{if or .empty .hostname}}{{or .empty .hostname}}{{end}}{{if eq .role "a" "etcd"}}any{{end}}{{if le .hostname "node2"}}le{{end}}\n',
  'index and len': '{{index .net "ip"}} {{len .disks}} {{index .ssh_authorized_keys 0}} {{(index .disks 1).dev}} {{index .disks 1 "dev"}} {{len .hostname}}\n',
  'print and printf': '{{printf "%s-%v" .hostname .count}} {{.hostname | printf "<%s>"}} {{print .count .ratio "x" .big}} {{printf "%v %v 100%%" .big .net.dns}}\n',
  'request query fixed by the selector': '{{.request.query.t}} {{.t}}\n',
  'fields named like helpers': '{{.index}} {{.len}} {{with .net}}{{$.index}}{{end}}\n',
  'cloud-config with trimmed blocks': [
    ...CLOUD_CONFIG_HEAD,
    '{{ if .enabled }}',
    'enabled',
    '{{ end }}',
    '',
  ].join('\n'),
  'blocks alone on their lines keep their newlines': '{{if .enabled}}\nline\n{{end}}\n{{range .net.dns}}\n  - {{.}}\n{{end}}\n{{with .net}}\n{{.ip}}\n{{else}}\nnone\n{{end}}\n',
  'backslashes and braces in text and literals': 'a\\{{.hostname}} b\\\\{{.role}} {{"{{"}}x{{"}}"}} {{.weird}} end\\\n',
  'nested ranges reading the outer element': '{{range $d := .disks}}{{range $.net.dns}}{{$d.dev}}@{{.}} {{end}}{{end}}\n',
  literals: '{{"lit"}} {{3}} {{true}} {{`raw\\n`}} {{"tab\\there"}}\n',
  'parenthesized pipelines': '{{ (printf "%s" .hostname) | len }} {{ .net.dns | len }}\n',
  'numbers as matchbox prints them': '{{.count}} {{.ratio}}\n',
  'variables in nested scopes': '{{$x := .role}}{{if true}}{{$x := .hostname}}{{$x}}{{end}} {{$x}}\n',
};

let matchbox: Matchbox;
const skip = skipWithoutMatchbox();

/** One matchbox for all cases: group `t=<n>` uses profile p<n>, whose generic template is case n. */
before(async () => {
  if (skip) return;
  const data = await tempDir('matchbox-templates-');
  const files: Record<string, string> = {};
  Object.values(CASES).forEach((template, n) => {
    files[`profiles/p${n}.json`] = JSON.stringify({ id: `p${n}`, boot: { kernel: '/assets/k' }, generic_id: `t${n}.tmpl` });
    files[`groups/g${n}.json`] = JSON.stringify({ id: `g${n}`, profile: `p${n}`, selector: { t: String(n) }, metadata: METADATA });
    files[`generic/t${n}.tmpl`] = template;
  });
  files['profiles/missing.json'] = JSON.stringify({ id: 'missing', boot: { kernel: '/assets/k' }, generic_id: 'missing.tmpl' });
  files['groups/missing.json'] = JSON.stringify({ id: 'missing', profile: 'missing', selector: { t: 'missing' }, metadata: METADATA });
  files['generic/missing.tmpl'] = 'x={{.not_defined}}\n';
  files['profiles/null.json'] = JSON.stringify({ id: 'null', boot: { kernel: '/assets/k' }, generic_id: 'null.tmpl' });
  files['groups/null.json'] = JSON.stringify({ id: 'null', profile: 'null', selector: { t: 'null' }, metadata: METADATA });
  files['generic/null.tmpl'] = 'x={{.nothing}}\n';
  await writeFiles(data, files);
  matchbox = await startMatchbox(data);
});

/**
 * What bootcfg renders: data-template helpers, the contract's context, { noEscape, strict };
 * the same with and without handlebars' standalone-line removal (the translation guards it).
 */
function renderHandlebars(text: string, selector: Record<string, string>): string {
  const context = { ...METADATA, ...selector, request: { query: selector } };
  const [kept, standalone] = [true, false].map((ignoreStandalone) => {
    const instance = Handlebars.create();
    registerTemplateHelpers(instance);
    return instance.compile(text, { noEscape: true, strict: true, ignoreStandalone })(context);
  });
  assert.equal(standalone, kept, 'standalone block lines change the output');
  return kept!;
}

Object.entries(CASES).forEach(([name, template], n) => {
  test(`translates like Go renders: ${name}`, { skip }, async () => {
    const translation = translateGoTemplate(template);
    assert.deepEqual(translation.problems, [], translation.text);
    const expected = await get(matchbox.url, `/generic?t=${n}`);
    assert.equal(expected.status, 200, `matchbox refused case ${name}:\n${matchbox.stderr().split('\n').filter((line) => line.includes('error')).join('\n')}`);
    assert.equal(renderHandlebars(translation.text, { t: String(n) }), expected.body, `translation:\n${translation.text}`);
  });
});

test('a key no group defines: matchbox answers 404 at request time, the translation fails to render', { skip }, async () => {
  assert.equal((await get(matchbox.url, '/generic?t=missing')).status, 404);
  const translation = translateGoTemplate('x={{.not_defined}}\n');
  assert.throws(() => renderHandlebars(translation.text, { t: 'missing' }), /"not_defined" not defined/);
});

test('a null value: matchbox prints <no value>, handlebars prints nothing (documented)', { skip }, async () => {
  assert.equal((await get(matchbox.url, '/generic?t=null')).body, 'x=<no value>\n');
  assert.equal(renderHandlebars(translateGoTemplate('x={{.nothing}}\n').text, { t: 'null' }), 'x=\n');
});

test('the printed form of numbers: matchbox prints float64 (2.048e+06), handlebars prints digits unless through print/printf', () => {
  assert.equal(renderHandlebars(translateGoTemplate('{{.big}} {{print .big}}').text, {}), '2048000 2.048e+06');
});

test('every construct it cannot translate is reported with line and column', () => {
  const template = [
    'a {{template "x" .}}', // 1:3
    '{{define "y"}}z{{end}}', // 2:1
    'q={{.request.raw_query}}', // 3:5
    '{{html .hostname}}', // 4:1
    '{{$v := 1}}{{$v = 2}}', // 5:12
    '{{printf "%d" .count}}', // 6:1
    "{{'a'}} {{.request.query}}", // 7:3, 7:11
    '{{range .l}}{{break}}{{end}}', // 8:15
  ].join('\n');
  const { problems } = translateGoTemplate(template);
  const where = problems.map((problem) => `${problem.line}:${problem.column}`);
  assert.deepEqual(where, ['1:5', '2:3', '3:5', '4:3', '5:12', '6:3', '7:3', '7:11', '8:15']);
  for (const problem of problems) assert.ok(problem.hint.length > 0, `${problem.message} has a hint`);
  assert.match(problems[2]!.message, /raw_query/);
});

test('syntax errors are reported where Go would report them', () => {
  const { problems } = translateGoTemplate('ok\n{{if .x}}never closed\n');
  assert.equal(problems.length, 1);
  assert.match(problems[0]!.message, /Go template syntax: .*\{\{if\}\} has no \{\{end\}\}/);
  assert.deepEqual([problems[0]!.line, problems[0]!.column], [2, 3]);
  assert.deepEqual(translateGoTemplate('{{.a}\n').problems.map((p) => p.line), [1]);
});

test('.request.query.<key> reads are listed for the import to check against selectors', () => {
  const { requestKeys, problems } = translateGoTemplate('mac={{.request.query.mac}}\n{{ .request.query.os }}');
  assert.deepEqual(problems, []);
  assert.deepEqual(requestKeys, [
    { line: 1, column: 7, key: 'mac' },
    { line: 2, column: 4, key: 'os' },
  ]);
});

test('hostile templates: nesting is bounded (a problem, not a stack overflow); a large template is read in one pass', () => {
  const deep = translateGoTemplate(`${'{{if .a}}'.repeat(5000)}x${'{{end}}'.repeat(5000)}`);
  assert.equal(deep.problems.length, 1);
  assert.match(deep.problems[0]!.message, /nested more than 100 deep/);
  assert.match(translateGoTemplate(`{{${'('.repeat(5000)}.a${')'.repeat(5000)}}}`).problems[0]!.message, /nested more than 100 deep/);
  const large = translateGoTemplate('line {{.a}} {{3}} {{- "x" -}}\n'.repeat(50_000));
  assert.deepEqual(large.problems, []);
  assert.equal(large.text.length, 'line {{a}} 3x'.length * 50_000);
});
