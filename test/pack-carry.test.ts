// Issue 11: a new snapshot's answer pack carries over the old pack's answers under every store
// link the two snapshots share (same link, same store dir), and reads only the rest. These
// tests build a real fleet with the CLI, edit it, build again, and hold the carried pack to the
// new snapshot's files: the answers read are exactly the changed groups' files and the loose
// files, and every answer is the new snapshot's bytes, size and mtime.

import assert from 'node:assert/strict';
import { cp, lstat, readFile, readlink, realpath, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { test } from 'node:test';
import { IncrementalBuilder } from '../src/build/incremental.js';
import { linksWritten } from '../src/build/deltas.js';
import { AnswerPack, type Found } from '../src/serve/pack.js';
import { StoreLinks, readStoreLinks, writtenStoreLinks } from '../src/serve/pack-links.js';
import { bootConfig, filesUnder, get, runCli, startServe, tempDir, writeFiles, eventually } from './helpers.js';

/** A uuid whose last two hex digits (its shard) are `i`'s: 24 machines over 24 shards. */
const uuid = (i: number) => `0b00c0f6-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
const MACHINES = 24;

function fleet(): Record<string, string> {
  const files: Record<string, string> = { 'boot/default': bootConfig('/images/default/vmlinuz'), 'cloud/default': '#cloud-config\nhostname: default\n' };
  for (let i = 0; i < MACHINES; i++) {
    files[`boot/uuid/${uuid(i)}`] = bootConfig(`/images/m${i}/vmlinuz`);
    files[`cloud/uuid/${uuid(i)}`] = `#cloud-config\nhostname: m${i}\n`;
  }
  return files;
}

async function build(data: string, dist: string): Promise<string> {
  const result = await runCli(['build', '--data-path', data, '--dist-path', dist]);
  assert.equal(result.code, 0, result.stderr);
  return realpath(join(dist, 'current'));
}

/** A fleet built once, its pack filled: the old snapshot and pack. */
async function firstBuild(): Promise<{ data: string; dist: string; old: string; pack: AnswerPack }> {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), fleet());
  const dist = join(root, 'dist');
  const old = await build(data, dist);
  const pack = new AnswerPack(old);
  await pack.fill();
  assert.equal(pack.stats().complete, true);
  assert.equal(pack.stats().carried, 0);
  return { data, dist, old, pack };
}

/** The store link a snapshot file lies under (its target), or undefined for a loose file. */
async function linkOf(snapshot: string, path: string): Promise<{ link: string; target: string } | undefined> {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const link = parts.slice(0, i).join('/');
    if ((await lstat(join(snapshot, link))).isSymbolicLink()) return { link, target: await readlink(join(snapshot, link)) };
  }
  return undefined;
}

/** Files of `next` under a link `old` has with the same target, and the rest, from the two snapshots themselves. */
async function split(old: string, next: string): Promise<{ shared: string[]; rest: string[] }> {
  const shared: string[] = [];
  const rest: string[] = [];
  for (const path of await filesUnder(next)) {
    const mine = await linkOf(next, path);
    const theirs = mine && (await readlink(join(old, mine.link)).catch(() => undefined));
    (mine && theirs === mine.target ? shared : rest).push(path);
  }
  return { shared, rest };
}

/** Every file of the snapshot is answered from the pack with its bytes, size and mtime. */
async function answersMatch(pack: AnswerPack, snapshot: string): Promise<void> {
  for (const path of await filesUnder(snapshot)) {
    const found = pack.find(path);
    assert.ok(typeof found === 'object', `${path} is packed`);
    const { file, read } = found as Found;
    const bytes = await readFile(join(snapshot, path));
    const stats = await stat(join(snapshot, path));
    assert.deepEqual(read(0, file.size), bytes, path);
    assert.deepEqual(file, { size: stats.size, mtime: Math.floor(stats.mtimeMs / 1000) }, path);
  }
}

test('a new pack carries over the answers of unchanged store dirs and reads only the changed groups and loose files', async () => {
  const { data, dist, old, pack } = await firstBuild();
  await writeFile(join(data, `boot/uuid/${uuid(3)}`), bootConfig('/images/edited/vmlinuz'));
  await rm(join(data, `boot/uuid/${uuid(5)}`));
  await rm(join(data, `cloud/uuid/${uuid(5)}`));
  const next = await build(data, dist);
  const { shared, rest } = await split(old, next);
  assert.ok(rest.some((path) => path.includes(uuid(3))), 'the edited machine is in a changed group');

  const carried = new AnswerPack(next, pack);
  pack.close(); // the old snapshot is no longer served: the shared pack file stays open for the new pack
  await carried.fill();
  const stats = carried.stats();
  assert.ok(stats.carried > 0, 'answers carried over');
  assert.equal(stats.carried, shared.length, 'carried: the files under store links both snapshots share');
  assert.equal(stats.read, rest.length, 'read: the changed groups\' files and the loose files');
  assert.equal(stats.answers, shared.length + rest.length);
  assert.equal(stats.complete, true);
  await answersMatch(carried, next);
  const removed = (await filesUnder(old)).filter((path) => path.includes(uuid(5)));
  assert.ok(removed.length > 0);
  for (const path of removed) assert.equal(carried.find(path), 'missing', `${path} is only in the old snapshot`);
  carried.close();
});

for (const here of [false, true]) {
  test(`a store dir written again under the same name is read afresh, not carried (${here ? 'an incremental build in this process: links from the write' : 'built by another process'})`, async () => {
    const { dist, old, pack, next } = here ? await editedHere() : await editedApart();
    // A shared group's store dir replaced under its name (as write.ts repairStore does), its file changed.
    const path = `ipxe/uuid/07/${uuid(7)}`;
    const shared = await linkOf(next, path);
    assert.equal(shared?.target, await readlink(join(old, shared!.link)), 'shard 07 is shared');
    const store = join(dist, 'dirs', shared!.target.split('/').at(-1)!);
    await rename(store, `${store}.old`);
    await cp(`${store}.old`, store, { recursive: true });
    await writeFile(join(store, uuid(7)), '#!ipxe\necho repaired\n');
    const { shared: unchanged, rest } = await split(old, next);
    const groupFiles = unchanged.filter((file) => file.startsWith(`${shared!.link}/`)).length;
    assert.ok(groupFiles > 0);

    const carried = new AnswerPack(next, pack);
    await carried.fill();
    // Another process's build: the changed store dirs read whole. This process's: only the answers its delta names.
    const changed = await differing(old, next);
    const loose = rest.filter((file) => !changed.includes(file) && file.split('/').length < 3);
    const read = (here ? new Set([...loose, ...changed]).size : rest.length) + groupFiles;
    assert.equal(carried.stats().read, read);
    assert.equal(carried.stats().carried, carried.stats().answers - read);
    const found = carried.find(path) as Found;
    assert.equal(found.read(0, found.file.size).toString(), '#!ipxe\necho repaired\n');
    await answersMatch(carried, next);
  });
}

test('a carried store dir gone from disk (pruned, not yet written again) keeps its answers, and its return written again is read afresh', async () => {
  const { dist, old, pack, next } = await editedApart();
  const path = `ipxe/uuid/07/${uuid(7)}`;
  const shared = await linkOf(next, path);
  assert.equal(shared?.target, await readlink(join(old, shared!.link)), 'shard 07 is shared');
  const store = join(dist, 'dirs', shared!.target.split('/').at(-1)!);
  const bytes = await readFile(join(next, path));
  await rename(store, `${store}.away`);
  const carried = new AnswerPack(next, pack);
  pack.close();
  await carried.fill();
  const found = carried.find(path) as Found;
  assert.deepEqual(found.read(0, found.file.size), bytes, 'the carried bytes, the dir gone');
  // Written again under its name (as repairStore does), one file changed so a carry of it would show.
  await cp(`${store}.away`, store, { recursive: true });
  await writeFile(join(store, uuid(7)), '#!ipxe\necho repaired\n');
  const again = new AnswerPack(next, carried);
  carried.close();
  await again.fill();
  const reread = again.find(path) as Found;
  assert.equal(reread.read(0, reread.file.size).toString(), '#!ipxe\necho repaired\n', 'the dir that came back is another: read, not carried');
  await answersMatch(again, next);
});

/** The seed fleet built by the CLI, its pack filled, then one machine edited and built again by the CLI. */
async function editedApart(): Promise<{ dist: string; old: string; pack: AnswerPack; next: string }> {
  const { data, dist, old, pack } = await firstBuild();
  await writeFile(join(data, `boot/uuid/${uuid(3)}`), bootConfig('/images/edited/vmlinuz'));
  return { dist, old, pack, next: await build(data, dist) };
}

/** The paired fleet built in this process, its pack filled, then one machine edited and built incrementally. */
async function editedHere(): Promise<{ dist: string; old: string; pack: AnswerPack; next: string }> {
  const { data, dist, builder, old } = await builtHere();
  const pack = new AnswerPack(old);
  await pack.fill();
  await writeFile(join(data, `boot/uuid/${uuid(3)}`), bootConfig('/images/edited/vmlinuz'));
  builder.changed([join(data, `boot/uuid/${uuid(3)}`)]);
  await builder.build();
  assert.equal(builder.lastKind, 'incremental');
  const next = await realpath(join(dist, 'current'));
  assert.ok(linksWritten(basename(next), resolve(next)), 'the pack takes its links from the write');
  return { dist, old, pack, next };
}

test('an incomplete old pack lends what it has and the walk reads the rest', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), fleet());
  const dist = join(root, 'dist');
  const old = await build(data, dist);
  const pack = new AnswerPack(old);
  void pack.fill(); // one batch (64 files) in before it is replaced
  assert.equal(pack.stats().complete, false);
  await writeFile(join(data, `boot/uuid/${uuid(3)}`), bootConfig('/images/edited/vmlinuz'));
  const next = await build(data, dist);
  const carried = new AnswerPack(next, pack);
  pack.close();
  await carried.fill();
  assert.ok(carried.stats().carried > 0);
  assert.equal(carried.stats().complete, true);
  assert.equal(carried.stats().answers, (await filesUnder(next)).length);
  await answersMatch(carried, next);
});

test('serve --watch serves an edit and says how many answers it carried over', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), fleet());
  const server = await startServe(['--watch', '--data-path', data, '--dist-path', join(root, 'dist'), '--images-path', join(root, 'images')]);
  await eventually(async () => /^packed revision \S+: \d+ answers \(0 carried over, \d+ read\) in \d+ ms$/m.test(server.stderr()), `the first pack; log:\n${server.stderr()}`);
  await writeFile(join(data, `boot/uuid/${uuid(3)}`), bootConfig('/images/edited/vmlinuz'));
  await eventually(async () => /kernel \/images\/edited\/vmlinuz/.test((await get(server.url, `/ipxe?uuid=${uuid(3)}`)).body), 'the edit served');
  await eventually(async () => /^packed revision \S+: (\d+) answers \([1-9]\d* carried over, [1-9]\d* read\) in \d+ ms$/m.test(server.stderr()), `a carried pack; log:\n${server.stderr()}`);
  assert.match((await get(server.url, `/ipxe?uuid=${uuid(4)}`)).body, /kernel \/images\/m4\/vmlinuz/, 'a carried answer');
});

/** Two machines a shard (i and i + 256 share their uuid's last two hex digits), so a changed shard keeps answers that did not change. */
function pairedFleet(): Record<string, string> {
  const files: Record<string, string> = { 'boot/default': bootConfig('/images/default/vmlinuz'), 'cloud/default': '#cloud-config\nhostname: default\n' };
  for (const i of [...Array(MACHINES).keys()].flatMap((i) => [i, i + 256])) {
    files[`boot/uuid/${uuid(i)}`] = bootConfig(`/images/m${i}/vmlinuz`);
    files[`cloud/uuid/${uuid(i)}`] = `#cloud-config\nhostname: m${i}\n`;
  }
  return files;
}

/** Files of `next` that `old` lacks or holds with other bytes. */
async function differing(old: string, next: string): Promise<string[]> {
  const out: string[] = [];
  for (const path of await filesUnder(next)) {
    const before = await readFile(join(old, path)).catch(() => undefined);
    if (!before?.equals(await readFile(join(next, path)))) out.push(path);
  }
  return out;
}

/** The paired fleet built once by an incremental builder in this process: its data, dist, builder and live snapshot. */
async function builtHere(): Promise<{ data: string; dist: string; builder: IncrementalBuilder; old: string }> {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), pairedFleet());
  const dist = join(root, 'dist');
  const builder = new IncrementalBuilder({ dataPath: data, distPath: dist });
  await builder.build();
  return { data, dist, builder, old: await realpath(join(dist, 'current')) };
}

for (const complete of [true, false]) {
  test(`after an incremental build in this process, a changed store dir's other answers are carried from ${complete ? 'a complete' : 'an incomplete'} old pack`, async () => {
    const { data, dist, builder, old } = await builtHere();
    const pack = new AnswerPack(old);
    if (complete) await pack.fill();
    else void pack.fill(); // one batch in before it is replaced
    assert.equal(pack.stats().complete, complete);

    const edited = [`boot/uuid/${uuid(3)}`, `boot/uuid/${uuid(5)}`, `cloud/uuid/${uuid(5)}`, `boot/uuid/${uuid(300)}`];
    await writeFile(join(data, edited[0]!), bootConfig('/images/edited/vmlinuz'));
    await rm(join(data, edited[1]!));
    await rm(join(data, edited[2]!));
    await writeFile(join(data, edited[3]!), bootConfig('/images/added/vmlinuz'));
    builder.changed(edited.map((file) => join(data, file)));
    await builder.build();
    assert.equal(builder.lastKind, 'incremental');
    const next = await realpath(join(dist, 'current'));
    const { rest } = await split(old, next);
    const changed = await differing(old, next);
    assert.ok(changed.some((path) => path.includes(uuid(3))) && changed.some((path) => path.includes(uuid(300))));
    const loose = rest.filter((path) => !changed.includes(path) && path.split('/').length < 3);

    const carried = new AnswerPack(next, pack);
    pack.close();
    await carried.fill();
    const stats = carried.stats();
    if (complete) {
      // Read: the loose files and the changed answers only; a changed shard's unchanged neighbour is carried.
      assert.ok(rest.some((path) => path.includes(uuid(259))), 'uuid(259) shares the edited machine\'s changed store dir');
      assert.equal(stats.read, new Set([...loose, ...changed]).size, 'read: the loose files and the changed answers');
      assert.equal(stats.carried, stats.answers - stats.read);
    }
    assert.equal(stats.complete, true);
    assert.equal(stats.answers, (await filesUnder(next)).length);
    await answersMatch(carried, next);
    for (const path of (await filesUnder(old)).filter((file) => file.includes(uuid(5)))) assert.equal(carried.find(path), 'missing', `${path} was removed`);
    carried.close();
  });
}

test('the store links an incremental write in this process hands its pack are the ones on disk, targets, names and store dirs', async () => {
  const { old, next } = await editedHere();
  const names = linksWritten(basename(next), resolve(next));
  assert.ok(names, 'the write recorded its links');
  const bySignature = (links: StoreLinks) => new Map(links.paths.slice(1).map((path, i) => [path, `${links.targets[i + 1]} ${links.names[i + 1]} ${links.dirOf(i + 1)}`]));
  const onDisk = bySignature(readStoreLinks(next));
  assert.ok(onDisk.size >= 4, `store links: ${[...onDisk.keys()].join(' ')}`);
  assert.deepEqual(bySignature(writtenStoreLinks(next, names)), onDisk);
  assert.notDeepEqual(bySignature(readStoreLinks(old)), onDisk, 'the edit changed a link');
});

test('an answer rendered again unchanged whose link failed is read afresh, with its new mtime', async () => {
  const { data, dist, builder, old } = await builtHere();
  // uuid(259) shares shard 03 with uuid(3), which the edit changes, and is saved again as it was:
  // rendered again, the same bytes, so linked from the old store dir, which has lost it.
  const lost = `ipxe/uuid/03/${uuid(259)}`;
  const then = new Date('2020-01-01T00:00:00Z');
  await utimes(join(old, lost), then, then);
  const pack = new AnswerPack(old);
  await pack.fill();
  await rm(join(old, lost));
  await writeFile(join(data, `boot/uuid/${uuid(3)}`), bootConfig('/images/edited/vmlinuz'));
  await writeFile(join(data, `boot/uuid/${uuid(259)}`), await readFile(join(data, `boot/uuid/${uuid(259)}`)));
  builder.changed([join(data, `boot/uuid/${uuid(3)}`), join(data, `boot/uuid/${uuid(259)}`)]);
  await builder.build();
  assert.equal(builder.lastKind, 'incremental');
  const next = await realpath(join(dist, 'current'));
  assert.notEqual((await stat(join(next, lost))).mtimeMs, then.getTime(), 'written again from memory');
  const carried = new AnswerPack(next, pack);
  pack.close();
  await carried.fill();
  await answersMatch(carried, next);
  carried.close();
});

test('a delta is used only between the snapshots it was written for', async () => {
  const { data, dist, builder, old: first } = await builtHere();
  await writeFile(join(data, `boot/uuid/${uuid(3)}`), bootConfig('/images/one/vmlinuz'));
  builder.changed([join(data, `boot/uuid/${uuid(3)}`)]);
  await builder.build();
  // The next snapshot is built by another process: this one knows no delta to it.
  await writeFile(join(data, `boot/uuid/${uuid(259)}`), bootConfig('/images/two/vmlinuz'));
  const middle = await realpath(join(dist, 'current'));
  const pack = new AnswerPack(middle);
  await pack.fill();
  const next = await build(data, dist);
  const { shared, rest } = await split(middle, next);
  const carried = new AnswerPack(next, pack);
  await carried.fill();
  assert.equal(carried.stats().read, rest.length, 'the changed store dir read whole');
  assert.equal(carried.stats().carried, shared.length);
  await answersMatch(carried, next);
  assert.notEqual(first, middle);
});

test('serve --watch --workers 2: the primary tells its worker what a build changed, and each process\'s pack reads only that', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), pairedFleet());
  const dist = join(root, 'dist');
  const server = await startServe(['--watch', '--settle', '0', '--workers', '2', '--data-path', data, '--dist-path', dist, '--images-path', join(root, 'images')]);
  const packed = (revision: string) => [...server.stderr().matchAll(new RegExp(`^(?:worker \\d+: )?packed revision ${revision}: (\\d+) answers \\((\\d+) carried over, (\\d+) read\\)`, 'gm'))];
  const old = await realpath(join(dist, 'current'));
  await eventually(async () => packed(basename(old).split('.')[0]!).length === 2, `both processes packed; log:\n${server.stderr()}`);
  await writeFile(join(data, `boot/uuid/${uuid(3)}`), bootConfig('/images/edited/vmlinuz'));
  await eventually(async () => /kernel \/images\/edited\/vmlinuz/.test((await get(server.url, `/ipxe?uuid=${uuid(3)}`)).body), 'the edit served');
  const next = await realpath(join(dist, 'current'));
  const revision = basename(next).split('.')[0]!;
  await eventually(async () => packed(revision).length === 2, `both processes packed the edit; log:\n${server.stderr()}`);
  const { rest } = await split(old, next);
  const changed = await differing(old, next);
  const expected = new Set([...rest.filter((path) => path.split('/').length < 3), ...changed]).size;
  assert.ok(rest.length > expected, 'the changed store dirs hold answers that did not change');
  for (const [, answers, carried, read] of packed(revision)) {
    assert.equal(Number(read), expected, `read: the loose files and the changed answers; log:\n${server.stderr()}`);
    assert.equal(Number(carried) + Number(read), Number(answers));
  }
});
