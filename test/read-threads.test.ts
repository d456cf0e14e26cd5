// A large data directory is read on two threads (src/build/source.ts: readFiles): this one
// reads the first half of the walk's files while a worker reads the second. What comes back
// must be what one thread reading in walk order gives: every file with its bytes, in that
// order, and each file's problem (a hard link, a file too large) at its place among the rest.

import assert from 'node:assert/strict';
import { linkSync, opendirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAX_FILE_BYTES, READ_THREAD_MIN, readSource, SOURCE_ROOTS } from '../src/build/source.js';
import { ErrorList } from '../src/compile/errors.js';
import { seedFleet, tempDir } from './helpers.js';

const MACHINES = Math.ceil(READ_THREAD_MIN / 2) + 50; // a boot and a cloud config each: past the bound

/** One fleet for both tests (~16k files to write); the second breaks some of its files. */
const shared = seedFleet(MACHINES);

/** The data files in the order one walk meets them: the roots in order, each directory as the system lists it (readdir sorts; opendir does not). */
function walkOrder(data: string): string[] {
  const order: string[] = [];
  const walk = (rel: string): void => {
    const path = join(data, rel);
    if (statSync(path).isFile()) return void order.push(rel);
    const dir = opendirSync(path);
    for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) if (!entry.name.startsWith('.')) walk(`${rel}/${entry.name}`);
    dir.closeSync();
  };
  for (const root of SOURCE_ROOTS) if (readdirSync(data).includes(root)) walk(root);
  return order;
}

test('a data directory past READ_THREAD_MIN files reads as one thread in walk order would', async () => {
  const data = await shared;
  const order = walkOrder(data);
  assert.ok(order.length >= READ_THREAD_MIN, `${order.length} files: too few to go to the worker`);
  const files = await readSource(data);
  assert.deepEqual([...files.keys()], order);
  // Every file, byte for byte: the worker's half comes back as views into one buffer.
  let differ = 0;
  for (const rel of order) if (!files.get(rel)!.equals(readFileSync(join(data, rel)))) differ++;
  assert.equal(differ, 0);
});

test('problems in both halves are each reported at their file, in walk order', async () => {
  const data = await shared;
  const outside = await tempDir();
  const before = walkOrder(data);
  const half = Math.ceil(before.length / 2);
  // Hard links to a file outside early in the first half and in the second; a file too large at the end.
  const links = [before[3]!, before[half + 10]!];
  const large = before.at(-3)!;
  writeFileSync(join(outside, 'secret'), 'root:x:0:0\n');
  for (const rel of links) {
    rmSync(join(data, rel));
    linkSync(join(outside, 'secret'), join(data, rel));
  }
  writeFileSync(join(data, large), 'x'.repeat(MAX_FILE_BYTES + 1));
  // Where the walk meets them now (a name made again may move in its directory's listing).
  const order = walkOrder(data);
  const bad = [...links, large].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  assert.ok(bad.some((rel) => order.indexOf(rel) < half) && bad.some((rel) => order.indexOf(rel) >= half), 'problems in both halves');
  const failed = await readSource(data).then(() => undefined, (error: unknown) => error);
  assert.ok(failed instanceof ErrorList, String(failed));
  assert.deepEqual(failed.errors.map((error) => error.file), bad);
  for (const error of failed.errors) assert.match(error.message, error.file === large ? /file too large/ : /hard link/);
  assert.ok(failed.errors.every((error) => error.hint), 'each problem has a hint');
});
