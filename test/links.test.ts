// Unchanged answers are hard-linked from the previous snapshot's store dirs into the new ones
// (src/build/links.ts), on a worker thread as well when there are many. A link that cannot be
// made (the previous snapshot lost the file) must come back to the writer, which writes the
// answer from memory: a new snapshot is never missing an answer because an old one was damaged.

import assert from 'node:assert/strict';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from '../src/build/build.js';
import { IncrementalBuilder } from '../src/build/incremental.js';
import { LINK_THREAD_MIN, linkAll, type LinkBatch, type LinkSource } from '../src/build/links.js';
import { bootConfig, filesUnder, tempDir, writeFiles } from './helpers.js';

test('links on two threads: every one made is a hard link, and every one that failed is reported', async () => {
  const root = await tempDir();
  const batches: LinkBatch[] = [];
  const perDir = 500;
  for (let d = 0; batches.length * perDir < LINK_THREAD_MIN + perDir; d++) {
    const [from, to] = [join(root, `old-${d}`), join(root, `new-${d}`)];
    await mkdir(from);
    await mkdir(to);
    const names = Array.from({ length: perDir }, (_, i) => `f-${i}`);
    for (const name of names) await writeFile(join(from, name), `${d}/${name}\n`);
    batches.push({ from, to, names });
  }
  // Sources lost in the first batch (linked in this thread) and the last (linked by the worker).
  const last = batches.length - 1;
  for (const [b, i] of [[0, 3], [0, 499], [last, 0], [last, 250]] as const) await rm(join(batches[b]!.from, batches[b]!.names[i]!));
  const sources = batches.map(({ from, to, names }): LinkSource => ({ from, to, count: names.length, name: (i) => names[i]! }));
  const failed = await linkAll(sources);
  assert.deepEqual(failed.sort((x, y) => x[0] - y[0] || x[1] - y[1]), [[0, 3], [0, 499], [last, 0], [last, 250]]);
  for (const b of [0, 1, last - 1, last]) {
    for (const [i, name] of batches[b]!.names.entries()) {
      const made = await stat(join(batches[b]!.to, name)).catch(() => undefined);
      if (failed.some(([fb, fi]) => fb === b && fi === i)) {
        assert.equal(made, undefined);
        continue;
      }
      assert.equal(made?.ino, (await stat(join(batches[b]!.from, name))).ino, `${b}/${name} is a hard link`);
    }
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
