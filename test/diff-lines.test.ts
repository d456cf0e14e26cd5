// The line diff: minimal (checked against an LCS table on random inputs), faithful (both sides
// rebuild from the script), and rendered exactly as git renders a unified diff.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { diffLines, splitLines, unifiedDiff } from '../src/git/linediff.js';

function lcs(a: string[], b: string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    let diag = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = x === b[j - 1] ? diag + 1 : Math.max(row[j]!, row[j - 1]!);
      diag = up;
    }
  }
  return row[b.length]!;
}

/** A small deterministic PRNG, so a failure reproduces. */
function prng(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
}

test('the edit script is minimal and rebuilds both sides (300 random cases)', () => {
  const random = prng(42);
  for (let i = 0; i < 300; i++) {
    const pick = () => Array.from({ length: Math.floor(random() * 12) }, () => 'abcd'[Math.floor(random() * 4)]! + '\n');
    const a = pick();
    const b = pick();
    const edits = diffLines(a, b);
    assert.deepEqual(edits.filter((e) => e.op !== '+').map((e) => e.line), a);
    assert.deepEqual(edits.filter((e) => e.op !== '-').map((e) => e.line), b);
    assert.equal(edits.filter((e) => e.op === ' ').length, lcs(a, b), JSON.stringify({ a, b }));
  }
});

test('unified output matches git diff --no-index hunk for hunk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bootcfg-linediff-'));
  try {
    const cases: Array<[string, string]> = [
      ['a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n', 'a\nb\nC\nd\ne\nf\ng\nh\ni\nj\nk\nL\nm\nn\n'],
      ['kernel /images/vmlinuz-1\ninitrd /images/initrd-1\nboot\n', 'kernel /images/vmlinuz-2\ninitrd /images/initrd-2\nboot\n'],
      ['one\ntwo', 'one\ntwo\n'],
      ['x\n', ''],
      ['', 'y\nz\n'],
      ['1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n', '1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n'],
    ];
    for (const [old, neu] of cases) {
      writeFileSync(join(dir, 'old'), old);
      writeFileSync(join(dir, 'new'), neu);
      let expected = '';
      try {
        execFileSync('git', ['diff', '--no-index', '--no-color', '--diff-algorithm=myers', 'old', 'new'], { cwd: dir, encoding: 'utf8' });
      } catch (error) {
        expected = (error as { stdout: string }).stdout;
      }
      // git appends a "function" line to hunk headers; we do not.
      const fromGit = expected.slice(expected.indexOf('@@')).replace(/^(@@ [^@]+ @@).*$/gm, '$1');
      const ours = unifiedDiff(old, neu, 'a/old', 'b/new');
      assert.equal(ours.slice(ours.indexOf('@@')), fromGit, JSON.stringify([old, neu]));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('equal texts give no diff; added and removed files diff against /dev/null', () => {
  assert.equal(unifiedDiff('same\n', 'same\n', 'a/x', 'b/x'), '');
  assert.equal(unifiedDiff('', 'new\n', undefined, 'b/x'), '--- /dev/null\n+++ b/x\n@@ -0,0 +1 @@\n+new\n');
  assert.equal(unifiedDiff('old\n', '', 'a/x', undefined), '--- a/x\n+++ /dev/null\n@@ -1 +0,0 @@\n-old\n');
  assert.equal(unifiedDiff('a\0b', 'c', 'a/x', 'b/x'), 'Binary files a/x and b/x differ\n');
});

test('splitLines keeps newlines so a missing final newline is a change', () => {
  assert.deepEqual(splitLines('a\nb'), ['a\n', 'b']);
  assert.deepEqual(splitLines(''), []);
});
