// A full build checks its seed cloud configs on a worker thread (src/build/cloud-checks.ts)
// while it renders and writes. The verdict must still come before the snapshot goes live: a
// bad cloud config fails the build with its location, leaves the last good build live and no
// snapshot behind, and the errors read as a compile that checked in line lists them.

import assert from 'node:assert/strict';
import { readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { build, compile } from '../src/build/build.js';
import { checkCloudConfigs, THREAD_MIN } from '../src/build/cloud-checks.js';
import { readSource } from '../src/build/source.js';
import { ErrorList, SourceError } from '../src/compile/errors.js';
import { load } from '../src/compile/load.js';
import { TEMPLATE_NAMES } from '../src/compile/templates.js';
import { bootConfig, tempDir, writeFiles } from './helpers.js';

const MACHINES = THREAD_MIN + 100; // enough that the checks go to the worker

function uuid(i: number): string {
  return `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

/** Where a machine's cloud config is served from in a snapshot: sharded by the uuid's last two digits (docs/dist-layout.md). */
function answer(i: number): string {
  return `cloud/uuid/${uuid(i).slice(-2)}/${uuid(i)}`;
}

async function fleet(): Promise<string> {
  const files: Record<string, string> = { 'boot/default': bootConfig('/images/default') };
  for (let i = 0; i < MACHINES; i++) files[`cloud/uuid/${uuid(i)}`] = `#cloud-config\nhostname: node-${i}\nusers:\n  - name: core\n    groups: [sudo, docker]\n`;
  return writeFiles(await tempDir(), files);
}

/** The errors a compile that checks every cloud config in line, in load order, would list. */
async function inlineErrors(data: string): Promise<string[]> {
  return load(await readSource(data), TEMPLATE_NAMES).errors.map((error) => `${[join(data, error.file!), error.line, error.line && error.column].filter(Boolean).join(':')}: ${error.message}`);
}

test('a bad cloud config found by the worker fails the build, and the last good build stays live', async () => {
  const data = await fleet();
  const dist = await tempDir();
  const first = await build({ dataPath: data, distPath: dist });
  const live = await readlink(join(dist, 'current'));
  assert.equal((await readFile(join(dist, 'current', answer(7)))).toString(), `#cloud-config\nhostname: node-7\nusers:\n  - name: core\n    groups: [sudo, docker]\n`);

  // Machines' cloud configs cut mid-write, another's boot config not JSON, cloud configs under
  // names that are no uuid: each reported, in load order (which mixes the two kinds: the walk's).
  const cut = '#cloud-config\nusers:\n  - name: core\n    groups: [sudo\n';
  for (let i = 1500; i < 1504; i++) await writeFile(join(data, 'cloud/uuid', uuid(i)), cut);
  await writeFile(join(data, 'boot/default'), '{"kernel": ');
  for (let i = 0; i < 4; i++) await writeFile(join(data, `cloud/uuid/zz-no-uuid-${i}`), '#cloud-config\n');
  const all = await build({ dataPath: data, distPath: dist }).then(() => undefined, (error: unknown) => error);
  assert.ok(all instanceof ErrorList, String(all));
  assert.deepEqual(all.errors.map((error) => error.located), await inlineErrors(data));
  assert.equal(all.errors.length, 9);
  assert.equal(all.errors.filter((error) => /:5:1: invalid cloud-config YAML/.test(error.located)).length, 4);
  for (let i = 0; i < 4; i++) await rm(join(data, `cloud/uuid/zz-no-uuid-${i}`));
  for (let i = 1501; i < 1504; i++) await writeFile(join(data, 'cloud/uuid', uuid(i)), `#cloud-config\nhostname: node-${i}\nusers:\n  - name: core\n    groups: [sudo, docker]\n`);
  const both = await build({ dataPath: data, distPath: dist }).then(() => undefined, (error: unknown) => error);
  assert.ok(both instanceof ErrorList, String(both));
  assert.deepEqual(both.errors.map((error) => error.located), await inlineErrors(data));
  assert.equal(both.errors.length, 2);

  // The cloud config alone: render and write run beside the check, and still nothing goes live.
  await writeFile(join(data, 'boot/default'), bootConfig('/images/other'));
  const cloud = await build({ dataPath: data, distPath: dist }).then(() => undefined, (error: unknown) => error);
  assert.ok(cloud instanceof ErrorList, String(cloud));
  assert.deepEqual(cloud.errors.map((error) => error.located), await inlineErrors(data));
  assert.match(cloud.errors[0]!.located, new RegExp(`cloud/uuid/${uuid(1500)}:5:1: invalid cloud-config YAML`));
  assert.equal(await readlink(join(dist, 'current')), live);
  assert.deepEqual((await readdir(join(dist, 'revs'))).filter((name) => !name.startsWith('.')), [first.dir.split('/').pop()]);
  assert.deepEqual((await readdir(join(dist, 'revs'))).filter((name) => name.startsWith('.staging-')), []);
  await assert.rejects(compile(data), (error: unknown) => error instanceof ErrorList && error.errors.length === 1);

  // Fixed: the build goes live.
  await writeFile(join(data, 'cloud/uuid', uuid(1500)), '#cloud-config\nhostname: fixed\n');
  await build({ dataPath: data, distPath: dist });
  assert.notEqual(await readlink(join(dist, 'current')), live);
  assert.equal((await readFile(join(dist, 'current', answer(1500)))).toString(), '#cloud-config\nhostname: fixed\n');
});

test('the worker finds what the checks in this thread find, and stops with the build', async () => {
  const entries: [string, Buffer][] = [];
  for (let i = 0; i < THREAD_MIN; i++) {
    const text = i % 500 === 3 ? `#cloud-config\nhostname: "node-${i}\n` : i % 700 === 5 ? '#cloud-config\n- a list\n' : `#cloud-config\nhostname: node-${i}\n`;
    entries.push([`cloud/uuid/${uuid(i)}`, Buffer.from(text)]);
  }
  const apart = await checkCloudConfigs(entries); // THREAD_MIN entries: on the worker
  const here = await checkCloudConfigs(entries.slice(0, THREAD_MIN - 1)); // one fewer: in this thread
  assert.ok(!apart.has(entries[THREAD_MIN - 1]![0]), 'the one left out is a good one');
  const located = (problems: Map<string, { located: string }[]>) => [...problems.values()].flat().map((problem) => problem.located);
  assert.equal(apart.size, 4 + 3);
  assert.deepEqual(located(apart), located(here));
  assert.match(located(apart).join('\n'), /cloud\/uuid\/0{8}-0000-4000-8000-0{11}3:3:1: invalid cloud-config YAML: Missing closing "quote/);

  const stop = new AbortController();
  const stopped = checkCloudConfigs(entries, stop.signal);
  stop.abort();
  await assert.rejects(stopped, (error: unknown) => error instanceof SourceError && /build stopped/.test(error.message));
});
