// New store dirs are filled (src/build/fill.ts): unchanged answers hard-linked from the previous
// snapshot's store dirs, the others written from memory, on a worker thread as well when there
// are many. A link that cannot be made (the previous snapshot lost the file) must come back to
// the writer, which writes the answer from memory: a new snapshot is never missing an answer
// because an old one was damaged. A write that fails fails the build, on either thread.

import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from '../src/build/build.js';
import { FILL_THREAD_MIN, fillAll, type DirFill } from '../src/build/fill.js';
import { IncrementalBuilder } from '../src/build/incremental.js';
import { bootConfig, filesUnder, tempDir, writeFiles } from './helpers.js';

/** Dirs of `perDir` links and `perDir` writes each, enough for the worker to take part. */
async function fleetOfDirs(root: string, perDir = 250): Promise<{ fills: DirFill[]; names: string[]; body: (d: number, name: string) => string }> {
  const names = Array.from({ length: perDir }, (_, i) => `f-${i}`);
  const body = (d: number, name: string) => `${d}/${name} written\n`;
  const fills: DirFill[] = [];
  for (let d = 0; fills.length * perDir * 3 < FILL_THREAD_MIN + perDir * 3; d++) {
    const [from, to] = [join(root, `old-${d}`), join(root, `new-${d}`)];
    await mkdir(from);
    await mkdir(to);
    for (const name of names) await writeFile(join(from, name), `${d}/${name}\n`);
    fills.push({
      from,
      to,
      links: perDir,
      linkName: (i) => names[i]!,
      writes: perDir,
      writeName: (i) => `w-${names[i]!}`,
      content: (i) => Buffer.from(body(d, `w-${names[i]!}`)),
    });
  }
  return { fills, names, body };
}

test('fills on two threads: every link made is a hard link, every one that failed is reported, every write is whole', async () => {
  const root = await tempDir();
  const { fills, names, body } = await fleetOfDirs(root);
  // Sources lost in the first dir (filled in this thread) and the last (filled by the worker).
  const last = fills.length - 1;
  const lost = [[0, 3], [0, 249], [last, 0], [last, 200]] as const;
  for (const [d, i] of lost) await rm(join(fills[d]!.from, names[i]!));
  const failed = await fillAll(fills);
  assert.deepEqual(failed.sort((x, y) => x[0] - y[0] || x[1] - y[1]), lost);
  for (const d of [0, 1, last - 1, last]) {
    for (const [i, name] of names.entries()) {
      const made = await stat(join(fills[d]!.to, name)).catch(() => undefined);
      if (lost.some(([ld, li]) => ld === d && li === i)) assert.equal(made, undefined);
      else assert.equal(made?.ino, (await stat(join(fills[d]!.from, name))).ino, `${d}/${name} is a hard link`);
      assert.equal(await readFile(join(fills[d]!.to, `w-${name}`), 'utf8'), body(d, `w-${name}`));
    }
  }
});

test('a write that fails fails the fill, on the worker as on this thread, and nothing is written after', async () => {
  for (const where of ['worker', 'here'] as const) {
    const root = await tempDir();
    const { fills } = await fleetOfDirs(root);
    // A dir whose directory is gone cannot be written: the last dir goes to the worker, the first stays here.
    const broken = where === 'worker' ? fills.length - 1 : 0;
    await rm(fills[broken]!.to, { recursive: true });
    await assert.rejects(fillAll(fills), (error: NodeJS.ErrnoException) => error.code === 'ENOENT' && String(error.path).startsWith(fills[broken]!.to));
    // Once it has failed, the caller removes the dirs: nothing may appear in them after.
    const before = await Promise.all(fills.map((fill) => readdir(fill.to).then((list) => list.length, () => -1)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await Promise.all(fills.map((fill) => readdir(fill.to).then((list) => list.length, () => -1))), before);
  }
});

test('an answer the previous snapshot lost is written again, not left out', async () => {
  const root = await tempDir();
  const [data, dist] = [join(root, 'data'), join(root, 'dist')];
  const uuid = (i: number) => `0b00c0f6-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
  const files: Record<string, string> = { 'boot/default': bootConfig('/images/default/vmlinuz') };
  for (let i = 0; i < 30; i++) files[`boot/uuid/${uuid(i)}`] = bootConfig(`/images/m-${i}/vmlinuz`);
  await writeFiles(data, files);
  const builder = new IncrementalBuilder({ dataPath: data, distPath: dist });
  await builder.build();
  const full = async (name: string) => {
    const fresh = join(root, name);
    await build({ dataPath: data, distPath: fresh });
    return join(fresh, 'current/');
  };
  // Machines 0 and 0x100 share a shard (the last two digits), so machine 0's answers are linked
  // into a new store dir when machine 0x100 is added. Machine 0's iPXE answer is lost first.
  const answer = (i: number) => join('ipxe', 'uuid', '00', uuid(i));
  const before = await readFile(join(dist, 'current', answer(0)));
  const lose = () => rm(join(dist, 'current', answer(0)));
  const add = async (i: number) => {
    await writeFile(join(data, `boot/uuid/${uuid(i)}`), bootConfig(`/images/new-${i}/vmlinuz`));
    builder.changed([join(data, `boot/uuid/${uuid(i)}`)]);
  };

  // A full build (bootcfg build) holds every answer: the one it cannot link, it writes.
  await lose();
  await add(0x100);
  await build({ dataPath: data, distPath: dist });
  assert.deepEqual(await readFile(join(dist, 'current', answer(0))), before);
  assert.deepEqual(await filesUnder(join(dist, 'current/')), await filesUnder(await full('full-1')));

  // The incremental builder keeps hashes, not answers: it cannot read that one back, so it builds in full.
  await lose();
  await add(0x200);
  await builder.build();
  assert.equal(builder.lastKind, 'full');
  assert.deepEqual(await readFile(join(dist, 'current', answer(0))), before);
  assert.deepEqual(await filesUnder(join(dist, 'current/')), await filesUnder(await full('full-2')));
});
