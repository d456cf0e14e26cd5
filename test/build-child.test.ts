// A full build in a child process (src/build/child.ts), as serve runs it: the snapshot it
// writes is the one `build` writes in-process, its state comes back whole (through a private
// temp file, or over IPC without one), its errors come back as the same kinds with their
// locations, and a stop ends the child without a new build going live.

import assert from 'node:assert/strict';
import { mkdir, readdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from '../src/build/build.js';
import { buildInChild, buildOnceInChild } from '../src/build/child.js';
import { ErrorList, LoadError } from '../src/compile/errors.js';
import { bootConfig, filesUnder, tempDir, withTmpdir, writeFiles } from './helpers.js';

const uuid = (i: number) => `0b00c0f6-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

function fleet(count: number): Record<string, string> {
  const files: Record<string, string> = { 'boot/default': bootConfig('/images/default/vmlinuz'), 'cloud/default': '#cloud-config\nhostname: default\n' };
  for (let i = 0; i < count; i++) {
    files[`boot/uuid/${uuid(i)}`] = bootConfig(`/images/m${i}/vmlinuz`);
    files[`cloud/uuid/${uuid(i)}`] = `#cloud-config\nhostname: m${i}\n`;
  }
  return files;
}

test('a build in a child writes the snapshot an in-process build writes, and hands back every answer with its hash', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), fleet(20));
  const { result, kept } = await buildInChild({ dataPath: data, distPath: join(root, 'child') });
  await build({ dataPath: data, distPath: join(root, 'here') });
  const [child, here] = [await readlink(join(root, 'child/current')), await readlink(join(root, 'here/current'))];
  assert.equal(child, here, 'the same snapshot name (it hashes the whole tree)');
  assert.deepEqual(await filesUnder(join(root, 'child/current/')), await filesUnder(join(root, 'here/current/')));
  assert.equal(result.written, kept.paths.length, 'every answer written');
  assert.equal(kept.hashes.length, kept.paths.length * 32);
  assert.ok(kept.paths.includes(`ipxe/uuid/${uuid(7)}`));
  assert.equal(kept.files.length, 42);
  assert.ok(kept.written, "the writer's memory of the snapshot comes back too");
});

test('the state comes back through a private temp file that leaves nothing behind, and the same over IPC without a temp dir', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), { ...fleet(20), 'files/notes/readme.txt': 'kept for templates\n' });
  const temp = join(root, 'tmp');
  await mkdir(temp);
  const { result, kept: viaFile } = await withTmpdir(temp, () => buildInChild({ dataPath: data, distPath: join(root, 'a') }));
  assert.deepEqual(await readdir(temp), [], 'the file was unlinked as it was made');
  const viaIpc = (await withTmpdir(join(root, 'missing'), () => buildInChild({ dataPath: data, distPath: join(root, 'b') }))).kept;
  assert.equal(viaFile.paths.length, result.written, 'every answer');
  for (const key of ['paths', 'files', 'sizes', 'otherSources', 'sum', 'templates', 'compiled'] as const) assert.deepEqual(viaFile[key], viaIpc[key], key);
  assert.ok(Buffer.from(viaFile.hashes).equals(Buffer.from(viaIpc.hashes)), 'hashes');
  assert.deepEqual([...viaFile.origins], [...viaIpc.origins], 'origins');
  for (const kept of [viaFile, viaIpc]) {
    assert.deepEqual(kept.localFiles.map(([name, bytes]) => [name, Buffer.from(bytes).toString()]), [['notes/readme.txt', 'kept for templates\n']]);
    // The hashes are still a view into the message read; the files kept past the take-in are not.
    for (const [name, bytes] of kept.localFiles) assert.notEqual(bytes.buffer, kept.hashes.buffer, `${name} holds its own bytes, not the whole state's`);
  }
});

test("a child's failed build comes back as the same errors, with their files and lines, and nothing new goes live", async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), fleet(3));
  const dist = join(root, 'dist');
  await buildOnceInChild({ dataPath: data, distPath: dist });
  const live = await readlink(join(dist, 'current'));
  await writeFile(join(data, `boot/uuid/${uuid(1)}`), '{\n  "kernel": "/images/x/vmlinuz",\n  "kernel": "/images/y/vmlinuz"\n}\n');
  const error = await buildOnceInChild({ dataPath: data, distPath: dist }).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof ErrorList || error instanceof LoadError, `got ${String(error)}`);
  const problem = error instanceof ErrorList ? error.errors[0]! : error;
  assert.ok(problem instanceof LoadError);
  assert.equal(problem.file, join(data, `boot/uuid/${uuid(1)}`));
  assert.equal(problem.line, 3);
  assert.equal(await readlink(join(dist, 'current')), live);
});

test('a stopped child build ends the child and leaves the last good build live', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), fleet(3000));
  const dist = join(root, 'dist');
  await writeFiles(join(root, 'small'), fleet(2));
  await build({ dataPath: join(root, 'small'), distPath: dist });
  const live = await readlink(join(dist, 'current'));
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 500); // the child is compiling by then (3,000 machines take it seconds)
  const error = await buildInChild({ dataPath: data, distPath: dist, signal: stop.signal }).then(() => undefined, (e: unknown) => e);
  assert.match(String((error as Error)?.message), /build stopped/);
  assert.equal(await readlink(join(dist, 'current')), live);
  assert.deepEqual((await readdir(join(dist, 'revs'))).filter((name) => !name.startsWith('.')), [live.split('/').pop()]);
});
