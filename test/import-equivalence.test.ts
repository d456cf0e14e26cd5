// The proof of `bootcfg import matchbox`: the real matchbox v0.9.0 serving a data directory and
// `bootcfg serve` serving its import (built by the real CLI) answer a matrix of requests
// alike — iPXE, cloud, generic and metadata, status and body — for matchbox's own examples and
// for fleets of our own (labels, two stages, arch, uuid and mac groups, metadata, templates).
// Where they differ on purpose (docs/matchbox-migration.md), the test says so explicitly.

import assert from 'node:assert/strict';
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { get, runCli, startServe, tempDir, writeFiles, type RawResponse } from './helpers.js';
import { M1, M2, U1, U2, machinesFleet, stagesFleet } from './matchbox-fleets.js';
import { MATCHBOX_EXAMPLES, skipWithoutMatchbox, startMatchbox } from './matchbox.js';

const skip = skipWithoutMatchbox();
const ROUTES = ['ipxe', 'cloud', 'generic', 'metadata'] as const;

interface Pair {
  matchbox: string;
  bootcfg: string;
}

/** Imports `src` with the real CLI, then serves the original with matchbox and the import with bootcfg. */
async function servePair(src: string, importArgs: string[] = [], expectedImportCode = 0, matchboxDir = src): Promise<Pair> {
  const dest = join(await tempDir('import-eq-'), 'data');
  const imported = await runCli(['import', 'matchbox', src, dest, ...importArgs]);
  assert.equal(imported.code, expectedImportCode, imported.stderr);
  await withoutIgnition(dest);
  const dist = await tempDir('import-eq-dist-');
  const images = await tempDir('import-eq-images-');
  await mkdir(images, { recursive: true });
  const bootcfg = await startServe(['--data-path', dest, '--dist-path', dist, '--images-path', images]);
  const matchbox = await startMatchbox(matchboxDir);
  return { matchbox: matchbox.url, bootcfg: bootcfg.url };
}

/**
 * /ignition is not in this comparison (ROUTES), and matchbox's example Ignition templates do not
 * build in bootcfg: a Container Linux Config, a placeholder SSH key (docs/ignition.md, refused at
 * build time). The imported profiles lose their ignition_id so the routes compared can be served.
 */
async function withoutIgnition(dest: string): Promise<void> {
  const profiles = join(dest, 'profiles');
  for (const name of await readdir(profiles).catch(() => [] as string[])) {
    const profile = JSON.parse(await readFile(join(profiles, name), 'utf8')) as Record<string, unknown>;
    if (!('ignition_id' in profile)) continue;
    delete profile.ignition_id;
    await writeFile(join(profiles, name), `${JSON.stringify(profile, null, 2)}\n`);
  }
  await rm(join(dest, 'ignition'), { recursive: true, force: true });
}

/** matchbox reads an example's groups when they are mounted as groups/ (as its README does): copy them so. */
async function exampleDir(groups: string): Promise<string> {
  const dir = await tempDir('matchbox-example-');
  for (const sub of ['profiles', 'ignition', 'cloud']) await cp(join(MATCHBOX_EXAMPLES, sub), join(dir, sub), { recursive: true });
  await cp(groups, join(dir, 'groups'), { recursive: true });
  return dir;
}

/** Every combination of the given parameter values (undefined: parameter absent). */
function queries(params: Record<string, Array<string | undefined>>): string[] {
  let out: string[][] = [[]];
  for (const [key, values] of Object.entries(params)) {
    out = out.flatMap((parts) => values.map((value) => (value === undefined ? parts : [...parts, `${key}=${value}`])));
  }
  return out.map((parts) => parts.join('&'));
}

/** The answer with the differences docs/matchbox-migration.md lists taken out. */
function comparable(route: string, answer: RawResponse, from: 'matchbox' | 'bootcfg'): { status: number; body: string; type?: string } {
  if (answer.status !== 200) return { status: answer.status, body: '' }; // 404 texts differ on purpose
  let body = answer.body;
  if (from === 'matchbox') body = body.replace(/\/assets\//g, '/images/');
  if (route === 'metadata') {
    // matchbox: random order, request echo lines, `plain/text`; compare the rest as a set.
    body = body.split('\n').filter((line) => line && !line.startsWith('REQUEST_')).sort().join('\n');
    return { status: answer.status, body };
  }
  return { status: answer.status, body, type: String(answer.headers['content-type']) };
}

async function compareMatrix(pair: Pair, matrix: string[], normalize: (route: string, body: string) => string = (_, body) => body): Promise<number> {
  let compared = 0;
  for (const route of ROUTES) {
    for (const query of matrix) {
      const path = `/${route}${query ? `?${query}` : ''}`;
      const [mb, bc] = await Promise.all([get(pair.matchbox, path), get(pair.bootcfg, path)]);
      const expected = comparable(route, mb, 'matchbox');
      const actual = comparable(route, bc, 'bootcfg');
      actual.body = normalize(route, actual.body);
      assert.deepEqual(actual, expected, `${path}\nmatchbox ${mb.status}:\n${mb.body}\nbootcfg ${bc.status}:\n${bc.body}`);
      compared++;
    }
  }
  return compared;
}

test('fleet with two stages and arch: matchbox and the import answer alike', { skip }, async () => {
  const src = await writeFiles(await tempDir('fleet-a-'), stagesFleet());
  const pair = await servePair(src);
  const matrix = queries({ arch: [undefined, 'x86_64', 'arm64', 'riscv64'], os: [undefined, 'installed', 'other'], mac: [undefined, M1], hostname: [undefined, 'h1'] });
  assert.equal(await compareMatrix(pair, matrix), ROUTES.length * matrix.length);
});

test('fleet of machines by uuid and mac with metadata: matchbox and the import answer alike', { skip }, async () => {
  const src = await writeFiles(await tempDir('fleet-b-'), machinesFleet());
  const pair = await servePair(src);
  const macForms = [undefined, M1, M1.replace(/:/g, '-'), M1.toUpperCase(), M2, '52:54:00:00:00:99'];
  const matrix = queries({ uuid: [undefined, U1, U2, '8e6b5f4a-0000-4000-8000-000000000000'], mac: macForms, os: [undefined, 'installed'] });
  assert.equal(await compareMatrix(pair, matrix), ROUTES.length * matrix.length);
});

test('a malformed mac: matchbox ignores it and falls back, bootcfg answers 400 (documented)', { skip }, async () => {
  const src = await writeFiles(await tempDir('fleet-b-'), machinesFleet());
  const pair = await servePair(src);
  const [mb, bc] = await Promise.all([get(pair.matchbox, '/ipxe?mac=zz'), get(pair.bootcfg, '/ipxe?mac=zz')]);
  assert.equal(mb.status, 200);
  assert.match(mb.body, /role=any/);
  assert.equal(bc.status, 400);
  assert.match(bc.body, /^invalid mac/);
});

for (const example of ['fedora-coreos', 'fedora-coreos-install', 'flatcar', 'flatcar-install']) {
  test(`matchbox's ${example} example: matchbox and the import answer alike`, { skip }, async () => {
    // flatcar-install's Ignition template forwards .request.raw_query: refused, written with --force (not served yet).
    const force = example === 'flatcar-install';
    const groups = join(MATCHBOX_EXAMPLES, 'groups', example);
    const pair = await servePair(MATCHBOX_EXAMPLES, ['--groups', groups, ...(force ? ['--force'] : [])], force ? 1 : 0, await exampleDir(groups));
    const matrix = queries({ uuid: [undefined, U1], mac: [undefined, M1], os: [undefined, 'installed'] });
    // bootcfg adds initrd=<name> per initrd for UEFI where a profile names none (fedora-coreos).
    const withoutAddedInitrdArgs = (route: string, body: string) => (route === 'ipxe' && example.startsWith('fedora') ? body.replace(/ initrd=[^ \n]+/g, '') : body);
    assert.equal(await compareMatrix(pair, matrix, withoutAddedInitrdArgs), ROUTES.length * matrix.length);
  });
}

test('a group without a generic template: matchbox answers 404, bootcfg the next matching group\'s (documented)', { skip }, async () => {
  const src = await writeFiles(await tempDir('fleet-c-'), {
    'profiles/plain.json': JSON.stringify({ id: 'plain', boot: { kernel: '/assets/k', initrd: ['/assets/i'], args: ['initrd=i'] } }),
    'profiles/rich.json': JSON.stringify({ id: 'rich', boot: { kernel: '/assets/k', initrd: ['/assets/i'], args: ['initrd=i'] }, generic_id: 'rich.env' }),
    'groups/default.json': JSON.stringify({ id: 'default', profile: 'rich', metadata: { who: 'default' } }),
    'groups/one.json': JSON.stringify({ id: 'one', profile: 'plain', selector: { mac: M1 } }),
    'generic/rich.env': 'WHO={{.who}}\n',
  });
  const pair = await servePair(src);
  const [mb, bc] = await Promise.all([get(pair.matchbox, `/generic?mac=${M1}`), get(pair.bootcfg, `/generic?mac=${M1}`)]);
  assert.equal(mb.status, 404);
  assert.deepEqual([bc.status, bc.body], [200, 'WHO=default\n']);
});
