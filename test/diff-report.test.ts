// compareBuilds over plain file maps: who is affected, the kernel summary, and both formats.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classify, compareBuilds, formatJson, formatText } from '../src/git/diff.js';

const ipxe = (kernel: string) => Buffer.from(`#!ipxe\nkernel /images/vmlinuz-${kernel} console=ttyS0\ninitrd /images/initrd-${kernel}.img\nboot\n`);
const pixie = (kernel: string) => Buffer.from(JSON.stringify({ kernel: `/images/vmlinuz-${kernel}`, initrd: [], cmdline: '' }));

function build(kernel: string, extra: Record<string, string> = {}): Map<string, Buffer> {
  const files = new Map<string, Buffer>([
    ['boot.ipxe', Buffer.from('#!ipxe\nchain ipxe?uuid=${uuid}&mac=${net0/mac:hexhyp}\n')],
    ['ipxe/default', ipxe('1')],
    ['pixiecore/default', pixie('1')],
    ['cloud/default', Buffer.from('#cloud-config\n')],
    ['REVISION', Buffer.from(`${kernel}\n`)],
    ['manifest.json', Buffer.from(`{"revision":"${kernel}"}`)],
  ]);
  for (let i = 0; i < 3; i++) {
    const mac = `52-54-00-00-00-0${i}`;
    files.set(`ipxe/mac/${mac}`, ipxe(kernel));
    files.set(`pixiecore/mac/${mac}`, pixie(kernel));
  }
  for (const [path, content] of Object.entries(extra)) files.set(path, Buffer.from(content));
  return files;
}

test('identical builds (bookkeeping aside) change nothing', () => {
  const report = compareBuilds('a', 'b', build('1'), build('1'));
  assert.equal(report.changed, false);
  assert.equal(formatText(report), "no machine's answers change between a and b\n");
});

test('a kernel bump names every machine and summarises the kernel', () => {
  const report = compareBuilds('v1', 'v2', build('1'), build('2', { 'cloud/uuid/0c1f0a3e-0000-4000-8000-000000000001': '#cloud-config\n' }));
  assert.equal(report.changed, true);
  assert.deepEqual(report.targets.map((t) => [t.target.shape, t.target.id ?? '', t.answers.map((a) => `${a.answer}:${a.status}`).join(',')]), [
    ['uuid', '0c1f0a3e-0000-4000-8000-000000000001', 'cloud:added'],
    ['mac', '52-54-00-00-00-00', 'ipxe:modified,pixiecore:modified'],
    ['mac', '52-54-00-00-00-01', 'ipxe:modified,pixiecore:modified'],
    ['mac', '52-54-00-00-00-02', 'ipxe:modified,pixiecore:modified'],
  ]);
  assert.deepEqual(report.kernels, [{ from: '/images/vmlinuz-1', to: '/images/vmlinuz-2', targets: [1, 2, 3].map((n) => ({ shape: 'mac', id: `52-54-00-00-00-0${n - 1}` })) }]);
  const text = formatText(report);
  assert.match(text, /^7 files change for 4 machines between v1 and v2:/);
  assert.match(text, /3 machines get a new kernel: \/images\/vmlinuz-1 -> \/images\/vmlinuz-2/);
  assert.match(text, /--- a\/ipxe\/mac\/52-54-00-00-00-00\n\+\+\+ b\/ipxe\/mac\/52-54-00-00-00-00\n@@ -1,4 \+1,4 @@\n #!ipxe\n-kernel \/images\/vmlinuz-1 console=ttyS0/);
  assert.match(text, /--- \/dev\/null\n\+\+\+ b\/cloud\/uuid\/0c1f0a3e/);
  const json = JSON.parse(formatJson(report)) as { changed: boolean; files: Array<{ path: string; status: string }> };
  assert.equal(json.changed, true);
  assert.deepEqual(json.files.map((f) => f.path), [
    'cloud/uuid/0c1f0a3e-0000-4000-8000-000000000001',
    'ipxe/mac/52-54-00-00-00-00', 'pixiecore/mac/52-54-00-00-00-00',
    'ipxe/mac/52-54-00-00-00-01', 'pixiecore/mac/52-54-00-00-00-01',
    'ipxe/mac/52-54-00-00-00-02', 'pixiecore/mac/52-54-00-00-00-02',
  ]);
});

test('the default and the chainload script are reported as such', () => {
  const to = build('1');
  to.set('ipxe/default', ipxe('9'));
  to.set('boot.ipxe', Buffer.from('#!ipxe\nchain ipxe?mac=${net0/mac:hexhyp}\n'));
  to.delete('cloud/default');
  const report = compareBuilds('a', 'b', build('1'), to);
  const text = formatText(report);
  assert.match(text, /^3 files change for every machine and the default between a and b:/);
  assert.match(text, /  every machine +chainload\n  default \(machines without their own config\) +ipxe, cloud removed\n/);
  assert.match(text, /the default gets a new kernel/);
});

test('classify follows docs/dist-layout.md', () => {
  assert.deepEqual(classify('ipxe/uuid/x'), { answer: 'ipxe', target: { shape: 'uuid', id: 'x' } });
  assert.deepEqual(classify('pixiecore/default'), { answer: 'pixiecore', target: { shape: 'default' } });
  assert.deepEqual(classify('boot.ipxe'), { answer: 'chainload', target: { shape: 'all' } });
  assert.deepEqual(classify('nginx.conf'), { answer: 'other', target: { shape: 'all' } });
});

test('one change made to many files is printed once, then the files that share it; --summary drops diffs', () => {
  const report = compareBuilds('v1', 'v2', build('1'), build('2'));
  const text = formatText(report);
  assert.equal(text.match(/^--- a\/ipxe\/mac\//gm)?.length, 1);
  assert.match(text, /\n\(the same change in 2 more files: ipxe\/mac\/52-54-00-00-00-01, ipxe\/mac\/52-54-00-00-00-02\)\n/);
  assert.match(text, /\n\(the same change in 2 more files: pixiecore\/mac\/52-54-00-00-00-01, pixiecore\/mac\/52-54-00-00-00-02\)\n/);
  const summary = formatText(report, { diffs: false });
  assert.doesNotMatch(summary, /^---/m);
  assert.match(summary, /3 machines get a new kernel/);
  assert.equal(JSON.parse(formatJson(report)).files.length, 6, 'JSON keeps every file');
});

test('answers of groups are classified by shape, and the summary names the groups they come from', () => {
  assert.deepEqual(classify('ipxe/mac.os/52-54-00-00-00-01/installed'), { answer: 'ipxe', target: { shape: 'mac.os', id: '52-54-00-00-00-01/installed' } });
  assert.deepEqual(classify('metadata-json/os/installed'), { answer: 'metadata-json', target: { shape: 'os', id: 'installed' } });
  assert.deepEqual(classify('generic/default'), { answer: 'generic', target: { shape: 'default' } });
  const from = new Map([['ipxe/os/installed', ipxe('1')], ['ipxe/mac/52-54-00-00-00-01', ipxe('1')], ['ipxe/mac/52-54-00-00-00-02', ipxe('1')], ['shapes.json', Buffer.from('{"shapes":[["mac"],["os"]]}\n')]]);
  const to = new Map([['ipxe/os/installed', ipxe('2')], ['ipxe/mac/52-54-00-00-00-01', ipxe('2')], ['ipxe/mac/52-54-00-00-00-02', ipxe('2')], ['ipxe/mac.os/52-54-00-00-00-01/installed', ipxe('2')], ['shapes.json', Buffer.from('{"shapes":[["mac","os"],["mac"],["os"]]}\n')]]);
  const origins = new Map([['ipxe/os/installed', 'groups/workers.json'], ['ipxe/mac/52-54-00-00-00-01', 'groups/cp.json'], ['ipxe/mac/52-54-00-00-00-02', 'groups/cp.json'], ['ipxe/mac.os/52-54-00-00-00-01/installed', 'groups/cp-installed.json']]);
  const report = compareBuilds('a', 'b', from, to, { from: origins, to: origins });
  assert.deepEqual(report.targets.map((t) => `${t.target.shape} ${t.target.id} ${t.sources.join()}`), [
    'mac.os 52-54-00-00-00-01/installed groups/cp-installed.json',
    'mac 52-54-00-00-00-01 groups/cp.json',
    'mac 52-54-00-00-00-02 groups/cp.json',
    'os installed groups/workers.json',
  ]);
  assert.deepEqual(report.groups, [
    { source: 'groups/cp.json', group: 'cp', machines: 2, targets: 2 },
    { source: 'groups/cp-installed.json', group: 'cp-installed', machines: 1, targets: 1 },
    { source: 'groups/workers.json', group: 'workers', machines: 0, targets: 1 },
  ]);
  const text = formatText(report, { diffs: false });
  assert.match(text, /^4 files change for 3 machines and 1 label selection \(groups cp, cp-installed, workers\) between a and b:/);
  assert.match(text, /by group:\n  groups\/cp.json +2 machines\n  groups\/cp-installed.json +1 machine\n  groups\/workers.json +1 other selection\n/);
  assert.match(text, /2 machines and 1 label selection get a new kernel/);
  assert.doesNotMatch(text, /shapes/, 'shapes.json is bookkeeping');
});
