// serve --watch keeps watching when the data directory itself is replaced — removed and made
// again, swapped by two renames, or a `data -> r1` symlink switched to r2 — where a watch stays
// on the directory it was given. Each case then edits the new directory, so a rebuild that only
// happened to read the new path once is not enough.

import assert from 'node:assert/strict';
import { rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { bootConfig, eventually, get, sampleData, startServe, tempDir, writeFiles, type ServeProcess } from './helpers.js';

const kernel = async (url: string) => /^kernel (\S+)/m.exec((await get(url, '/ipxe')).body)?.[1];

async function serving(server: ServeProcess, kernelPath: string): Promise<void> {
  await eventually(async () => (await kernel(server.url)) === kernelPath, `${kernelPath} served; log:\n${server.stderr()}`);
}

/** A data set whose default boots `name`. */
const dataSet = (name: string) => ({ ...sampleData(), 'boot/default': bootConfig(`/images/${name}/vmlinuz`) });

async function watch(root: string, data: string): Promise<ServeProcess> {
  const server = await startServe(['--watch', '--data-path', data, '--dist-path', join(root, 'dist'), '--images-path', join(root, 'images')]);
  await serving(server, '/images/first/vmlinuz');
  return server;
}

/** An edit inside the (new) data directory is served: its watches are live. */
async function editIsServed(server: ServeProcess, data: string, name: string): Promise<void> {
  await writeFile(join(data, 'boot/default'), bootConfig(`/images/${name}/vmlinuz`));
  await serving(server, `/images/${name}/vmlinuz`);
}

test('serve --watch follows a data directory removed and made again, and says so', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), dataSet('first'));
  const server = await watch(root, data);
  await rm(data, { recursive: true });
  await writeFiles(data, dataSet('recreated'));
  await serving(server, '/images/recreated/vmlinuz');
  await editIsServed(server, data, 'edited-after');
  // The identity check says so within a second; a build retried on the new files may come first.
  await eventually(async () => new RegExp(`${data} was replaced`).test(server.stderr()), 'the notice');
});

test('serve --watch follows a data directory swapped by two renames', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), dataSet('first'));
  const server = await watch(root, data);
  await writeFiles(join(root, 'data.new'), dataSet('swapped-in'));
  await rename(data, join(root, 'data.old'));
  await rename(join(root, 'data.new'), data);
  await serving(server, '/images/swapped-in/vmlinuz');
  await editIsServed(server, data, 'edited-after');
  assert.match(server.stderr(), new RegExp(`${data} was replaced`));
});

test('serve --watch follows a data symlink switched to another directory', async () => {
  const root = await tempDir();
  await writeFiles(join(root, 'r1'), dataSet('first'));
  await writeFiles(join(root, 'r2'), dataSet('release-2'));
  const data = join(root, 'data');
  await symlink('r1', data);
  const server = await watch(root, data);
  await symlink('r2', join(root, 'data.next'));
  await rename(join(root, 'data.next'), data); // as `ln -sfn` would, atomically
  await serving(server, '/images/release-2/vmlinuz');
  await editIsServed(server, join(root, 'r2'), 'edited-after');
  assert.match(server.stderr(), new RegExp(`${data} was replaced`));
});
