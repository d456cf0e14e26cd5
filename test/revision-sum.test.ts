// A plain directory's revision is a hash of the sum (mod 2^256) of sha256(path, NUL, hash) over
// its files (src/build/build.ts: RevisionSum). Snapshots, nginx headers and `bootcfg diff` name
// builds by it, so the same output must keep the same name from one bootcfg version to the next:
// the sum is checked here against that definition written with BigInt, through adds, removes
// and wrap-arounds, and against revisions a build gave before.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { contentRevision, RevisionSum } from '../src/build/build.js';

const MOD = 1n << 256n;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The definition, one BigInt at a time. */
class Reference {
  sum = 0n;

  add(path: string, hash: string): void {
    this.sum = (this.sum + BigInt(`0x${sha256(`${path}\0${hash}`)}`)) % MOD;
  }

  remove(path: string, hash: string): void {
    this.sum = (((this.sum - BigInt(`0x${sha256(`${path}\0${hash}`)}`)) % MOD) + MOD) % MOD;
  }

  revision(): string {
    return sha256(this.sum.toString(16)).slice(0, 12);
  }
}

test('the revision sum follows its definition through adds, removes and wrap-arounds', () => {
  const sum = new RevisionSum();
  const reference = new Reference();
  const present: [string, string][] = [];
  for (let i = 0; i < 3000; i++) {
    if (present.length > 0 && i % 3 === 0) {
      const [path, hash] = present.splice((i * 7919) % present.length, 1)[0]!;
      sum.remove(path, hash);
      reference.remove(path, hash);
    } else {
      const entry: [string, string] = [`ipxe/uuid/${randomBytes(4).toString('hex')}`, randomBytes(32).toString('hex')];
      present.push(entry);
      sum.add(...entry);
      reference.add(...entry);
    }
    assert.equal(sum.toHex(), reference.sum.toString(16));
    assert.equal(sum.revision(), reference.revision());
    if (i % 500 === 0) assert.equal(RevisionSum.fromHex(sum.toHex()).toHex(), sum.toHex());
  }
  // Everything removed again: zero, written "0"; below zero wraps to the top.
  for (const [path, hash] of present) sum.remove(path, hash);
  assert.equal(sum.toHex(), '0');
  sum.remove('a', 'b');
  reference.sum = 0n;
  reference.remove('a', 'b');
  assert.equal(sum.toHex(), reference.sum.toString(16));
  sum.add('a', 'b');
  assert.equal(sum.toHex(), '0');
  // Past the top wraps to the bottom.
  const top = RevisionSum.fromHex('f'.repeat(64));
  top.add('x', 'y');
  assert.equal(top.toHex(), ((MOD - 1n + BigInt(`0x${sha256('x\0y')}`)) % MOD).toString(16));
});

test('the same output keeps the revision it had', () => {
  // What bootcfg named this output before the sum was kept in words (its BigInt sum, 2026-12-07).
  const files = new Map([
    ['boot.ipxe', Buffer.from('#!ipxe\nchain ipxe?uuid=${uuid}&mac=${net0/mac:hexhyp}\n')],
    ['ipxe/default', Buffer.from('#!ipxe\nkernel /images/vmlinuz\nboot\n')],
  ]);
  assert.equal(contentRevision(files), '0aea2adf9426');
});
