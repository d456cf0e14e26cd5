// An incremental build (src/build/incremental.ts) must write exactly the snapshot a full build
// of the same data writes: same files, same bytes, same manifest, same snapshot name. A seeded
// random series of edits, adds, deletes, renames, default and shared-profile changes and invalid
// edits is applied to a data directory; after each, the incremental builder's live snapshot is
// compared with a fresh full build's, and a failing edit must fail both and keep the last good
// snapshot live.

import assert from 'node:assert/strict';
import { cp, readdir, readFile, readlink, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from '../src/build/build.js';
import { deltaBetween } from '../src/build/deltas.js';
import { IncrementalBuilder } from '../src/build/incremental.js';
import { writtenStore } from '../src/build/write.js';
import { bootConfig, filesUnder, ROOT, tempDir, writeFiles } from './helpers.js';

/** A small deterministic PRNG (mulberry32): a failure replays from its seed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const uuid = (i: number) => `0b00c0f6-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
const mac = (i: number, sep = ':') => ['52', '54', '00', '00', (i >> 8).toString(16).padStart(2, '0'), (i & 255).toString(16).padStart(2, '0')].join(sep);

/** Every file of a snapshot, path → contents, following its links into dist/dirs/. */
async function tree(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const path of await filesUnder(dir)) files.set(path, await readFile(join(dir, path), 'utf8'));
  return files;
}

async function live(dist: string): Promise<string> {
  return readlink(join(dist, 'current'));
}

/** A snapshot's own entries, not following its links into dist/dirs/: `d`, `l` or `f` and the path. */
async function layout(dir: string, prefix = ''): Promise<string[]> {
  const entries: string[] = [];
  for (const entry of (await readdir(join(dir, prefix), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) entries.push(`d ${rel}`, ...(await layout(dir, rel)));
    else entries.push(`${entry.isSymbolicLink() ? 'l' : 'f'} ${rel}`);
  }
  return entries;
}

/** The staging snapshots in `dist` by inode (prelink.ts: made ahead; a write that takes one up renames it). */
async function staging(dist: string): Promise<bigint[]> {
  const names = (await readdir(join(dist, 'revs'))).filter((name) => name.startsWith('.staging-'));
  return Promise.all(names.map(async (name) => (await stat(join(dist, 'revs', name), { bigint: true })).ino));
}

interface Step {
  what: string;
  /** Data-relative paths the step touched (what a watcher would report). */
  paths: string[];
}

/**
 * Runs `steps` edits chosen by `pick`, comparing after each; returns how many builds were
 * incremental (so a test can insist the fast path was taken, not just the fallback).
 */
async function compareSeries(data: string, steps: number, pick: () => Promise<Step>): Promise<{ incremental: number; failed: number; prelinked: number }> {
  const root = await tempDir();
  const dist = join(root, 'dist');
  const builder = new IncrementalBuilder({ dataPath: data, distPath: dist });
  await builder.build();
  let incremental = 0;
  let failed = 0;
  let taken = 0;
  for (let i = 0; i < steps; i++) {
    // Two steps in three, the next snapshot's links are made ahead, as serve does on a file event.
    if (i % 3 !== 2) builder.prepare();
    const step = await pick();
    const ahead = await staging(dist);
    builder.changed(step.paths.map((path) => join(data, path)));
    const before = await live(dist);
    const fresh = join(root, `full-${i}`);
    const warned: string[][] = [];
    const said = (result: { warnings: { file?: string; message: string }[] }) => void warned.push(result.warnings.map((w) => `${w.file}: ${w.message}`).sort());
    const full = await build({ dataPath: data, distPath: fresh }).then(said, (error: Error) => error);
    const ours = await builder.build().then(said, (error: Error) => error);
    if (full) {
      assert.ok(ours, `step ${i} (${step.what}): the full build failed (${full.message}) but the incremental one did not`);
      assert.equal(await live(dist), before, `step ${i} (${step.what}): a failed build changed what is live`);
      failed++;
      continue;
    }
    assert.equal(ours, undefined, `step ${i} (${step.what}): the incremental build failed: ${ours?.message}`);
    assert.deepEqual(warned[1], warned[0], `step ${i} (${step.what}, ${builder.lastKind}): warnings differ`);
    if (builder.lastKind === 'incremental') incremental++;
    assert.equal(await live(dist), await live(fresh), `step ${i} (${step.what}): snapshot names differ`);
    const [got, want] = [await tree(join(dist, 'current/')), await tree(join(fresh, 'current/'))];
    assert.ok(want.size > 10, `step ${i}: the full build's tree has only ${[...want.keys()].join(', ')}`);
    assert.deepEqual(got, want, `step ${i} (${step.what}, ${builder.lastKind})`);
    const [current, freshCurrent] = [join(dist, await live(dist)), join(fresh, await live(fresh))];
    assert.deepEqual(await layout(current), await layout(freshCurrent), `step ${i} (${step.what}, ${builder.lastKind}): the snapshots' own entries differ`);
    if (ahead.includes((await stat(current, { bigint: true })).ino)) taken++;
    await rm(fresh, { recursive: true, force: true });
  }
  await builder.close();
  assert.deepEqual(await staging(dist), [], 'a staging snapshot made ahead is left after close');
  return { incremental, failed, prelinked: taken };
}

test('incremental builds of a seed layout equal full builds, byte for byte, through random edits', async () => {
  const data = await tempDir();
  const files: Record<string, string> = { 'boot/default': bootConfig('/images/default/vmlinuz'), 'cloud/default': '#cloud-config\nhostname: default\n' };
  for (let i = 0; i < 40; i++) {
    files[i % 2 ? `boot/mac/${mac(i)}` : `boot/uuid/${uuid(i)}`] = bootConfig(`/images/m${i}/vmlinuz`);
    files[i % 2 ? `cloud/mac/${mac(i)}` : `cloud/uuid/${uuid(i)}`] = `#cloud-config\nhostname: m${i}\n`;
  }
  await writeFiles(data, files);
  const rand = random(11);
  const any = () => Math.floor(rand() * 60); // beyond 40: machines that do not exist yet
  const seedPath = (kind: 'boot' | 'cloud', i: number) => (i % 2 ? `${kind}/mac/${mac(i)}` : `${kind}/uuid/${uuid(i)}`);
  let bad: string | undefined; // an invalid file to put right in a later step
  let tag = 0;
  const pick = async (): Promise<Step> => {
    if (bad) {
      const path = bad;
      bad = undefined;
      await writeFile(join(data, path), path.startsWith('boot') ? bootConfig('/images/fixed/vmlinuz') : '#cloud-config\nhostname: fixed\n');
      return { what: `fix ${path}`, paths: [path] };
    }
    const roll = rand();
    const i = any();
    if (roll < 0.35) {
      const paths = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => seedPath(rand() < 0.6 ? 'boot' : 'cloud', any()));
      for (const path of paths) await writeFile(join(data, path), path.startsWith('boot') ? bootConfig(`/images/t${++tag}/vmlinuz`) : `#cloud-config\nhostname: t${++tag}\n`);
      return { what: `edit or add ${paths.join(', ')}`, paths };
    }
    if (roll < 0.45) {
      const path = seedPath(rand() < 0.5 ? 'boot' : 'cloud', i);
      await rm(join(data, path), { force: true });
      return { what: `delete ${path}`, paths: [path] };
    }
    if (roll < 0.55 && i % 2) {
      // The same machine under another spelling of its MAC: one answer path, a new file name.
      const [from, to] = [`boot/mac/${mac(i)}`, `boot/mac/${mac(i, '-')}`];
      const there = await readFile(join(data, from)).then(() => true, () => false);
      if (there) await rename(join(data, from), join(data, to));
      else await rename(join(data, to), join(data, from)).catch(() => writeFile(join(data, from), bootConfig('/images/renamed/vmlinuz')));
      return { what: `rename ${from} <-> ${to}`, paths: [from, to] };
    }
    if (roll < 0.62) {
      const path = rand() < 0.5 ? 'boot/default' : 'cloud/default';
      if (rand() < 0.3) await rm(join(data, path), { force: true });
      else await writeFile(join(data, path), path.startsWith('boot') ? bootConfig(`/images/d${++tag}/vmlinuz`) : `#cloud-config\nhostname: d${++tag}\n`);
      return { what: `change ${path}`, paths: [path] };
    }
    if (roll < 0.7) {
      // A second file for one machine (a collision), put right by the next step.
      const path = `boot/mac/${mac(1, '-').toUpperCase()}`;
      await writeFile(join(data, path), bootConfig('/images/twice/vmlinuz'));
      bad = path;
      return { what: `second spelling ${path}`, paths: [path] };
    }
    if (roll < 0.8) {
      const path = seedPath('boot', i);
      await writeFile(join(data, path), '{"kernel": "/images/half');
      bad = path;
      return { what: `half-written ${path}`, paths: [path] };
    }
    if (roll < 0.85) {
      await writeFiles(data, { 'templates/ipxe.hbs': `#!ipxe\n# template ${++tag}\nkernel {{kernel}} {{cmdline}}\n{{#each initrd}}initrd {{this}}\n{{/each}}boot\n` });
      return { what: 'template override', paths: ['templates/ipxe.hbs'] };
    }
    if (roll < 0.9) {
      const path = `boot/uuid/not-a-uuid-${tag}`;
      await writeFile(join(data, path), bootConfig('/images/x/vmlinuz'));
      bad = path;
      return { what: `misnamed ${path}`, paths: [path] };
    }
    const paths = Array.from({ length: 8 }, (_, k) => seedPath('boot', (i + k * 7) % 60));
    for (const path of paths) await writeFile(join(data, path), bootConfig(`/images/rack${++tag}/vmlinuz`));
    return { what: `a rack: ${paths.length} files`, paths };
  };
  // A misnamed file is put right by removing it, not rewriting it.
  const fixing = pick;
  const series = await compareSeries(data, 60, async () => {
    if (bad?.includes('not-a-uuid')) {
      const path = bad;
      bad = undefined;
      await rm(join(data, path));
      return { what: `remove ${path}`, paths: [path] };
    }
    if (bad?.includes(mac(1, '-').toUpperCase())) {
      const path = bad;
      bad = undefined;
      await rename(join(data, path), join(data, `boot/mac/${mac(1)}`));
      return { what: `back to one spelling`, paths: [path, `boot/mac/${mac(1)}`] };
    }
    return fixing();
  });
  assert.ok(series.incremental >= 20, `only ${series.incremental} of 60 builds were incremental`);
  assert.ok(series.prelinked >= 10, `only ${series.prelinked} builds took up the links made ahead`);
  assert.ok(series.failed >= 3, `only ${series.failed} invalid edits were tried`);
});

test('incremental builds of a groups layout equal full builds, byte for byte, through random edits', async () => {
  const data = await tempDir();
  await cp(join(ROOT, 'data'), data, { recursive: true });
  const rand = random(7);
  let tag = 0;
  let bad: string | undefined;
  const series = await compareSeries(data, 24, async () => {
    if (bad) {
      const path = bad;
      bad = undefined;
      await rm(join(data, path), { force: true });
      return { what: `remove ${path}`, paths: [path] };
    }
    const roll = rand();
    if (roll < 0.25) {
      const profile = JSON.parse(await readFile(join(data, 'profiles/worker.json'), 'utf8')) as { boot: { cmdline: Record<string, string> } };
      profile.boot.cmdline.tag = `t${++tag}`;
      await writeFile(join(data, 'profiles/worker.json'), JSON.stringify(profile, null, 2));
      return { what: 'shared profile', paths: ['profiles/worker.json'] };
    }
    if (roll < 0.45) {
      const group = JSON.parse(await readFile(join(data, 'groups/workers.json'), 'utf8')) as { metadata: Record<string, string> };
      group.metadata.tag = `t${++tag}`;
      await writeFile(join(data, 'groups/workers.json'), JSON.stringify(group, null, 2));
      return { what: 'group metadata', paths: ['groups/workers.json'] };
    }
    if (roll < 0.6) {
      await writeFile(join(data, 'cloud/worker.yaml'), `#cloud-config\nhostname: {{role}}-${++tag}\n`);
      return { what: 'data template', paths: ['cloud/worker.yaml'] };
    }
    if (roll < 0.8) {
      const path = `groups/machine-${++tag}.json`;
      await writeFile(join(data, path), JSON.stringify({ id: `machine-${tag}`, profile: 'worker', selector: { mac: mac(tag), os: 'installed' }, metadata: { role: 'worker', n: tag } }));
      return { what: `add ${path}`, paths: [path] };
    }
    if (roll < 0.9) {
      bad = 'groups/broken.json';
      await writeFile(join(data, bad), '{"id": "broken", "profile": "nope"}');
      return { what: 'a group naming no profile', paths: [bad] };
    }
    await writeFile(join(data, 'generic/etcd.env'), `ETCD_NAME={{bootcfg.group.id}}\nTAG=${++tag}\n`);
    return { what: 'generic template', paths: ['generic/etcd.env'] };
  });
  assert.ok(series.failed >= 1, 'no invalid edit was tried');
});

test('incremental builds of a fleet of groups (one a machine, as matchbox keeps them) equal full builds, byte for byte', async () => {
  const data = await tempDir();
  // An odd tag puts the kernel where GRUB cannot fetch it: a warning about the profile itself.
  const kernel = (id: string, tag: number) => (tag % 2 ? `https://mirror.example/${id}/vmlinuz` : `/images/${id}/vmlinuz`);
  const profile = (id: string, tag = 0) => JSON.stringify({ id, boot: { kernel: kernel(id, tag), initrd: [`/images/${id}/initrd`], args: ['console=ttyS0'], cmdline: { tag: String(tag) } }, cloud_id: id === 'gpu' ? 'gpu.yaml' : 'node.yaml', generic_id: 'node.env' });
  const group = (i: number, role: string, metadata: object = {}) => JSON.stringify({ id: `node-${i}`, profile: role, selector: i % 2 ? { mac: mac(i) } : { uuid: uuid(i) }, metadata: { hostname: `node-${i}`, rack: `r${i >> 3}`, ...metadata } });
  const roles = ['compute', 'storage', 'gpu'];
  const files: Record<string, string> = {
    'cloud/node.yaml': '#cloud-config\nhostname: {{hostname}}\nfqdn: {{hostname}}.{{rack}}.example\n',
    'cloud/gpu.yaml': '#cloud-config\nhostname: {{hostname}}\n',
    'generic/node.env': 'HOST={{hostname}}\nROLE={{bootcfg.profile.id}}\n',
    'groups/default.json': JSON.stringify({ id: 'default', profile: 'default', metadata: { hostname: 'unknown', rack: 'none' } }),
    'profiles/default.json': profile('default'),
    'profiles/spare.json': profile('spare'), // no group names it: a warning, until one does
  };
  for (const role of roles) files[`profiles/${role}.json`] = profile(role);
  for (let i = 0; i < 40; i++) files[`groups/node-${i}.json`] = group(i, roles[i % 3]!);
  await writeFiles(data, files);
  const rand = random(5);
  const any = () => Math.floor(rand() * 50); // beyond 40: machines that do not exist yet
  let bad: string | undefined;
  let tag = 0;
  let motd = false;
  let extra = false;
  const series = await compareSeries(data, 40, async () => {
    if (bad === 'profiles/gpu.json') {
      bad = undefined;
      await writeFile(join(data, 'profiles/gpu.json'), profile('gpu', ++tag));
      return { what: 'profiles/gpu.json put right', paths: ['profiles/gpu.json'] };
    }
    if (bad) {
      const path = bad;
      bad = undefined;
      await rm(join(data, path), { force: true });
      return { what: `remove ${path}`, paths: [path] };
    }
    const roll = rand();
    if (roll < 0.04) {
      bad = 'profiles/gpu.json';
      await writeFile(join(data, bad), '{"id": "gpu", "boot": {"kern');
      return { what: 'a half-written shared profile', paths: [bad] };
    }
    if (roll < 0.1) {
      motd = !motd; // one group's warning comes and goes
      await writeFile(join(data, 'groups/node-1.json'), group(1, 'compute', motd ? { motd: 'two\nlines' } : {}));
      return { what: `groups/node-1.json ${motd ? 'with' : 'without'} a warning`, paths: ['groups/node-1.json'] };
    }
    if (roll < 0.4) {
      const paths = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => any()).map((i) => `groups/node-${i}.json`);
      for (const path of paths) {
        const i = Number(/node-(\d+)/.exec(path)![1]);
        const metadata = rand() < 0.15 ? { motd: 'two\nlines' } : { tag: `t${++tag}` }; // a line break: a warning
        await writeFile(join(data, path), group(i, roles[Math.floor(rand() * 3)]!, metadata));
      }
      return { what: `edit or add ${paths.join(', ')}`, paths };
    }
    if (roll < 0.5) {
      const path = `groups/node-${any()}.json`;
      await rm(join(data, path), { force: true });
      return { what: `delete ${path}`, paths: [path] };
    }
    if (roll < 0.6) {
      // The same machine by uuid instead of mac (or back): another existing shape.
      const i = 1 + 2 * Math.floor(rand() * 20);
      const path = `groups/node-${i}.json`;
      await writeFile(join(data, path), JSON.stringify({ id: `node-${i}`, profile: 'compute', selector: { uuid: uuid(i) }, metadata: { hostname: `n${i}`, rack: 'moved' } }));
      return { what: `${path} by uuid`, paths: [path] };
    }
    if (roll < 0.66) {
      const path = `groups/node-${any()}.json`;
      await writeFile(join(data, path), group(Number(/node-(\d+)/.exec(path)![1]), 'spare'));
      return { what: `${path} on the unused profile`, paths: [path] };
    }
    if (roll < 0.7) {
      await writeFile(join(data, 'profiles/gpu.json'), profile('gpu', ++tag));
      return { what: `a shared profile${tag % 2 ? ', GRUB cannot fetch its kernel' : ''}`, paths: ['profiles/gpu.json'] };
    }
    if (roll < 0.74) {
      await writeFile(join(data, 'cloud/gpu.yaml'), `#cloud-config\nhostname: {{hostname}}\n# ${++tag}\n`);
      return { what: 'the template of one profile', paths: ['cloud/gpu.yaml'] };
    }
    if (roll < 0.77) {
      extra = !extra; // a template no profile names: a warning, while it is there
      if (extra) await writeFile(join(data, 'generic/extra.env'), 'X={{hostname}}\n');
      else await rm(join(data, 'generic/extra.env'));
      return { what: `generic/extra.env ${extra ? 'added' : 'removed'}`, paths: ['generic/extra.env'] };
    }
    if (roll < 0.8) {
      bad = 'groups/twice.json'; // a second group for node 3's MAC
      await writeFile(join(data, bad), JSON.stringify({ id: 'twice', profile: 'compute', selector: { mac: mac(3) }, metadata: { hostname: 'x', rack: 'y' } }));
      return { what: 'a MAC in two groups', paths: [bad] };
    }
    if (roll < 0.86) {
      bad = 'groups/typo.json';
      await writeFile(join(data, bad), JSON.stringify({ id: 'typo', profile: 'compte', selector: { mac: mac(200) }, metadata: { hostname: 'x', rack: 'y' } }));
      return { what: 'a group naming no profile', paths: [bad] };
    }
    if (roll < 0.92) {
      bad = 'groups/half.json';
      await writeFile(join(data, bad), '{"id": "half", "prof');
      return { what: 'a half-written group', paths: [bad] };
    }
    bad = 'groups/nohost.json'; // the template reads a name this group does not define
    await writeFile(join(data, bad), JSON.stringify({ id: 'nohost', profile: 'storage', selector: { mac: mac(201) }, metadata: { rack: 'y' } }));
    return { what: 'a group the template cannot render', paths: [bad] };
  });
  assert.ok(series.incremental >= 15, `only ${series.incremental} of 40 builds were incremental`);
  assert.ok(series.prelinked >= 10, `only ${series.prelinked} builds took up the links made ahead`);
  assert.ok(series.failed >= 3, `only ${series.failed} invalid edits were tried`);
});

test('an edit that empties a shard takes up the links made ahead without that shard\'s', async () => {
  const root = await tempDir();
  const [data, dist] = [join(root, 'data'), join(root, 'dist')];
  const files: Record<string, string> = { 'boot/default': bootConfig('/images/default/vmlinuz') };
  for (let i = 0; i < 6; i++) files[`boot/uuid/${uuid(i)}`] = bootConfig(`/images/m${i}/vmlinuz`); // shards 00 to 05
  await writeFiles(data, files);
  const builder = new IncrementalBuilder({ dataPath: data, distPath: dist });
  await builder.build();
  builder.prepare();
  const ahead = await staging(dist);
  await rm(join(data, `boot/uuid/${uuid(3)}`));
  builder.changed([join(data, `boot/uuid/${uuid(3)}`)]);
  await builder.build();
  assert.equal(builder.lastKind, 'incremental');
  const current = join(dist, await live(dist));
  assert.ok(ahead.includes((await stat(current, { bigint: true })).ino), 'the links made ahead were not taken up');
  const fresh = join(root, 'fresh');
  await build({ dataPath: data, distPath: fresh });
  assert.deepEqual(await layout(current), await layout(join(fresh, await live(fresh))));
  assert.ok(!(await layout(current)).includes('l ipxe/uuid/03'));
  assert.deepEqual(await tree(current), await tree(join(fresh, 'current/')));
});

test('an incremental build reads unchanged answers back from its last snapshot when another build went live since, and builds in full when they are gone', async () => {
  const root = await tempDir();
  const [data, other, dist] = [join(root, 'data'), join(root, 'other'), join(root, 'dist')];
  const fleet = (name: string) => {
    const files: Record<string, string> = { 'boot/default': bootConfig(`/images/${name}/vmlinuz`) };
    for (let i = 0; i < 12; i++) {
      files[i % 2 ? `boot/mac/${mac(i)}` : `boot/uuid/${uuid(i)}`] = bootConfig(`/images/${name}-${i}/vmlinuz`);
      files[`cloud/uuid/${uuid(i)}`] = `#cloud-config\nhostname: ${name}-${i}\n`;
    }
    return files;
  };
  await writeFiles(data, fleet('ours'));
  await writeFiles(other, fleet('theirs'));
  const builder = new IncrementalBuilder({ dataPath: data, distPath: dist });
  await builder.build();
  const matchesFull = async (step: string) => {
    const fresh = join(root, `full-${step}`);
    await build({ dataPath: data, distPath: fresh });
    assert.equal(await live(dist), await live(fresh), `${step}: snapshot names differ`);
    assert.deepEqual(await tree(join(dist, 'current/')), await tree(join(fresh, 'current/')), step);
  };

  // Another build of other data goes live: none of our answers can be linked from it, nor
  // are the links made ahead from our snapshot taken up.
  builder.prepare();
  const ahead = await staging(dist);
  assert.equal(ahead.length, 1);
  await build({ dataPath: other, distPath: dist });
  await writeFile(join(data, `boot/uuid/${uuid(4)}`), bootConfig('/images/edited/vmlinuz'));
  builder.changed([join(data, `boot/uuid/${uuid(4)}`)]);
  await builder.build();
  assert.equal(builder.lastKind, 'incremental');
  assert.notEqual((await stat(join(dist, 'current/'), { bigint: true })).ino, ahead[0]);
  await matchesFull('read back');
  await builder.close();
  assert.deepEqual(await staging(dist), []);

  // And again, with our last snapshot removed: its answers cannot be read back, so a full build.
  const ours = await live(dist);
  await build({ dataPath: other, distPath: dist });
  await rm(join(dist, ours), { recursive: true });
  await writeFile(join(data, `boot/uuid/${uuid(6)}`), bootConfig('/images/edited-again/vmlinuz'));
  builder.changed([join(data, `boot/uuid/${uuid(6)}`)]);
  await builder.build();
  assert.equal(builder.lastKind, 'full');
  await matchesFull('gone');
});

test('a store dir the live snapshot links that went missing (a prune racing the build) is made whole again by the next edit', async () => {
  const root = await tempDir();
  const [data, dist] = [join(root, 'data'), join(root, 'dist')];
  const files: Record<string, string> = { 'boot/default': bootConfig('/images/default/vmlinuz') };
  for (let i = 0; i < 12; i++) files[`boot/uuid/${uuid(i)}`] = bootConfig(`/images/m${i}/vmlinuz`);
  await writeFiles(data, files);
  const builder = new IncrementalBuilder({ dataPath: data, distPath: dist });
  await builder.build();
  // The store dir holding machine 2's iPXE answer, removed behind the builder's back.
  const link = join(dist, 'current', 'ipxe', 'uuid', uuid(2).slice(-2));
  const gone = join(dist, 'dirs', basename(await readlink(link)));
  await rm(gone, { recursive: true });
  await writeFile(join(data, `boot/uuid/${uuid(4)}`), bootConfig('/images/edited/vmlinuz'));
  builder.changed([join(data, `boot/uuid/${uuid(4)}`)]);
  await builder.build();
  const fresh = join(root, 'full');
  await build({ dataPath: data, distPath: fresh });
  assert.equal(await live(dist), await live(fresh));
  assert.deepEqual(await tree(join(dist, 'current/')), await tree(join(fresh, 'current/')));
  assert.match(await readFile(join(dist, 'current', 'ipxe', 'uuid', uuid(2).slice(-2), uuid(2)), 'utf8'), /images\/m2\/vmlinuz/);
});

test('an edit undone reuses the earlier snapshot, and the builder still plans the next edit from memory, not from disk', async () => {
  const root = await tempDir();
  const [data, dist] = [join(root, 'data'), join(root, 'dist')];
  const files: Record<string, string> = { 'boot/default': bootConfig('/images/default/vmlinuz') };
  for (let i = 0; i < 40; i++) files[`boot/uuid/${uuid(i)}`] = bootConfig(`/images/m-${i}/vmlinuz`);
  await writeFiles(data, files);
  const builder = new IncrementalBuilder({ dataPath: data, distPath: dist });
  await builder.build();
  const edit = async (i: number, kernel: string) => {
    await writeFile(join(data, `boot/uuid/${uuid(i)}`), bootConfig(kernel));
    builder.changed([join(data, `boot/uuid/${uuid(i)}`)]);
    return builder.build();
  };
  const first = await live(dist);
  await edit(3, '/images/edited/vmlinuz');
  const undone = await edit(3, '/images/m-3/vmlinuz');
  assert.equal(await live(dist), first, 'the undo is the first tree again');
  assert.equal(undone.written, 0);

  // What the writer remembers is the reused snapshot's own links, every one of them.
  const remembered = writtenStore(undone.dir);
  assert.ok(remembered, 'a reused snapshot is remembered');
  assert.ok(remembered.names.length > 1);
  for (const [group, name] of remembered.names) assert.ok((await readlink(join(undone.dir, group))).endsWith(`/${name}`), `${group} links ${name}`);

  // And the next edit, planned from that memory, is the full build's tree.
  await edit(17, '/images/next/vmlinuz');
  assert.equal(builder.lastKind, 'incremental');
  const fresh = join(root, 'full');
  await build({ dataPath: data, distPath: fresh });
  assert.equal(await live(dist), await live(fresh));
  assert.deepEqual(await tree(join(dist, 'current/')), await tree(join(fresh, 'current/')));
});

test('a shared profile\'s edit links the answers it renders again unchanged, and the pack\'s delta names only those that changed', async () => {
  const profile = (id: string, tag: string) => JSON.stringify({ id, boot: { kernel: `/images/${id}/vmlinuz`, initrd: [], cmdline: { tag } }, cloud_id: 'node.yaml' });
  const files: Record<string, string> = { 'profiles/compute.json': profile('compute', 'a'), 'profiles/storage.json': profile('storage', 'a'), 'cloud/node.yaml': '#cloud-config\nhostname: {{hostname}}\n' };
  // Half the groups on each profile: a change reaching more than half is a full build.
  for (let i = 0; i < 40; i++) files[`groups/node-${i}.json`] = JSON.stringify({ id: `node-${i}`, profile: i < 20 ? 'compute' : 'storage', selector: { mac: mac(i) }, metadata: { hostname: `node-${i}` } });
  const data = await writeFiles(await tempDir(), files);
  const dist = join(await tempDir(), 'dist');
  const builder = new IncrementalBuilder({ dataPath: data, distPath: dist });
  await builder.build();
  const old = await realpath(join(dist, 'current'));
  await writeFile(join(data, 'profiles/compute.json'), profile('compute', 'b')); // its boot answers change, its cloud configs do not
  builder.changed([join(data, 'profiles/compute.json')]);
  await builder.build();
  assert.equal(builder.lastKind, 'incremental');
  const next = await realpath(join(dist, 'current'));
  const inode = async (dir: string, path: string) => (await stat(join(dir, path))).ino;
  const answers = await filesUnder(next);
  const reached = (path: string) => [...Array(20).keys()].some((i) => path.endsWith(mac(i, '-')));
  const clouds = answers.filter((path) => path.startsWith('cloud/mac/') && reached(path));
  const boots = answers.filter((path) => path.startsWith('ipxe/mac/') && reached(path));
  assert.equal(clouds.length, 20);
  assert.equal(boots.length, 20);
  for (const path of clouds) assert.equal(await inode(next, path), await inode(old, path), `${path} is linked, not written again`);
  for (const path of boots) assert.notEqual(await inode(next, path), await inode(old, path), `${path} changed`);
  const delta = deltaBetween(basename(old), basename(next));
  assert.deepEqual([...delta!].filter((path) => !path.startsWith('ipxe/') && !path.startsWith('grub/') && !path.startsWith('pixiecore/')), [], 'the delta names the changed answers only');
  assert.ok(boots.every((path) => delta!.has(path)));
});

/** Until the builder's warm-up has run (at most 10 s): its timer does not hold the process, this wait does. */
async function warmedUp(builder: IncrementalBuilder): Promise<void> {
  const stop = new AbortController();
  await Promise.race([builder.warming, sleep(10_000, undefined, { signal: stop.signal }).catch(() => {})]);
  stop.abort();
}

test('the compile warmed after a full build renders one data file in memory and writes nothing; a broken file there is let be', async () => {
  const root = await tempDir();
  const [data, dist] = [join(root, 'data'), join(root, 'dist')];
  await writeFiles(data, { 'boot/default': bootConfig('/images/default/vmlinuz'), [`boot/uuid/${uuid(1)}`]: bootConfig('/images/one/vmlinuz') });
  const builder = new IncrementalBuilder({ dataPath: data, distPath: dist });
  await builder.build();
  const snapshot = await live(dist);
  const before = await tree(join(dist, 'current'));
  await warmedUp(builder);
  assert.match(builder.warmed ?? '', /^boot\//, 'a seed file was planned and rendered');
  assert.equal(await live(dist), snapshot, 'nothing built');
  assert.deepEqual(await tree(join(dist, 'current')), before);

  // The next full build's warm-up meets a half-written file: nothing thrown, nothing warmed.
  const again = new IncrementalBuilder({ dataPath: data, distPath: join(root, 'dist2') });
  await again.build();
  await writeFiles(data, { 'boot/default': '{"kernel": ' });
  await warmedUp(again);
  assert.equal(again.warmed, undefined);
  await writeFiles(data, { 'boot/default': bootConfig('/images/fixed/vmlinuz') });
  again.changed([join(data, 'boot/default')]);
  await again.build();
  assert.equal(again.lastKind, 'incremental');
  assert.match(await readFile(join(root, 'dist2/current/ipxe/default'), 'utf8'), /images\/fixed/);
});

test('selectors that could tie make every edit a full build (the kept state tells from its shapes alone)', async () => {
  const profile = JSON.stringify({ id: 'worker', boot: { kernel: '/images/worker/vmlinuz', initrd: [], cmdline: {} } });
  const group = (id: string, selector: object, note = 'a') => JSON.stringify({ id, profile: 'worker', selector, metadata: { note } });
  const files = (tie: boolean): Record<string, string> => ({
    'profiles/worker.json': profile,
    'groups/m1.json': group('m1', { mac: mac(1) }),
    'groups/m2.json': group('m2', { mac: mac(2) }),
    // {mac} and {os} could both match one request; the {mac, os} groups decide it for m1 and m2 (a fleet that builds).
    ...(tie ? { 'groups/installed.json': group('installed', { os: 'installed' }), 'groups/m1-installed.json': group('m1-installed', { mac: mac(1), os: 'installed' }), 'groups/m2-installed.json': group('m2-installed', { mac: mac(2), os: 'installed' }) } : {}),
  });
  for (const tie of [false, true]) {
    const data = await writeFiles(await tempDir(), files(tie));
    const builder = new IncrementalBuilder({ dataPath: data, distPath: join(await tempDir(), 'dist') });
    await builder.build();
    await writeFile(join(data, 'groups/m2.json'), group('m2', { mac: mac(2) }, 'b'));
    builder.changed([join(data, 'groups/m2.json')]);
    await builder.build();
    assert.equal(builder.lastKind, tie ? 'full' : 'incremental', tie ? 'shapes that could tie' : 'none that could');
  }
});
