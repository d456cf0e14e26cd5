// The CLI's contract: --help on every command, BOOTCFG_* environment variables (flags win),
// exit codes 0 / 1 / 2, and expected errors without stack traces.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, sampleData, startServe, get, tempDir, writeFiles } from './helpers.js';

test('--help answers for the program and every command', async () => {
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  for (const command of ['build', 'serve', 'validate']) assert.match(top.stdout, new RegExp(`bootcfg ${command} `));
  assert.match(top.stdout, /BOOTCFG_<FLAG>/);
  const flags: Record<string, string[]> = {
    build: ['--data-path', '--dist-path'],
    serve: ['--data-path', '--dist-path', '--images-path', '--address', '--watch'],
    validate: ['--data-path', '--format'],
  };
  for (const [command, expected] of Object.entries(flags)) {
    const help = await runCli([command, '--help']);
    assert.equal(help.code, 0, command);
    for (const flag of expected) assert.match(help.stdout, new RegExp(`${flag}\\b`), `${command} ${flag}`);
  }
});

test('a command loads its own module, not the others\' (serve holds no code of images or publish)', async () => {
  // Node's ESM debug log names every module it loads ("Storing <url> in ModuleLoadMap").
  const loaded = async (args: string[]) => {
    const result = await runCli(args, { env: { NODE_DEBUG: 'esm' } });
    assert.equal(result.code, 0, result.stderr.slice(-2000));
    return [...result.stderr.matchAll(/Storing (file:\/\/\S+) /g)].map((match) => match[1]!);
  };
  const commands = (urls: string[]) => urls.filter((url) => url.includes('/lib/src/cli/commands/')).map((url) => url.replace(/.*\//, '')).sort();
  const nginx = await loaded(['nginx', '--help']);
  assert.deepEqual(commands(nginx), ['index.js', 'nginx.js']);
  assert.ok(!nginx.some((url) => url.includes('/openpgp/')), 'openpgp only with images');
  const images = await loaded(['images', 'fetch', '--help']);
  assert.deepEqual(commands(images), ['images.js', 'index.js']);
  assert.ok(images.some((url) => url.includes('/openpgp/')), 'images loads openpgp (this test can see it)');
  assert.deepEqual(commands(await loaded(['--version'])), ['index.js']);
});

test('serve of a tree built elsewhere loads no compiler, git or fleet code; with --data-path it does', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  const dist = join(root, 'dist');
  assert.equal((await runCli(['build', '--data-path', data, '--dist-path', dist])).code, 0);
  const loadedBy = async (args: string[]) => {
    const serve = await startServe(args, { NODE_DEBUG: 'esm' });
    await serve.stop();
    return [...serve.stderr().matchAll(/Storing (file:\/\/\S+) /g)].map((match) => match[1]!);
  };
  const heavy = (urls: string[]) => urls.filter((url) => /\/lib\/src\/(build\/(incremental|child|build)|git\/\w+|fleet\/live|compile\/render)\.js$|\/node_modules\/handlebars\//.test(url)).map((url) => url.replace(/.*\/(lib\/src|node_modules)\//, '')).sort();
  assert.deepEqual(heavy(await loadedBy(['--dist-path', dist])), [], 'serving a built tree');
  assert.deepEqual(heavy(await loadedBy(['--dist-path', dist, '--workers', '2'])), [], 'the workers\' primary');
  const building = heavy(await loadedBy(['--dist-path', join(root, 'dist-2'), '--data-path', data]));
  for (const module of ['build/build.js', 'build/child.js', 'build/incremental.js']) assert.ok(building.includes(module), `--data-path loads ${module} (this test can see it)`);
});

test('usage errors exit 2 with a hint', async () => {
  for (const args of [[], ['bogus'], ['build', '--no-such-flag'], ['validate', '--format', 'xml'], ['serve', '--address', 'nonsense', '--dist-path', '/nonexistent']]) {
    const result = await runCli(args);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /hint: /, args.join(' '));
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('flags come from BOOTCFG_* environment variables, and flags win', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  const fromEnv = await runCli(['build'], { env: { BOOTCFG_DATA_PATH: data, BOOTCFG_DIST_PATH: join(root, 'env-dist') } });
  assert.equal(fromEnv.code, 0, fromEnv.stderr);
  assert.match(await readlink(join(root, 'env-dist', 'current')), /^revs\//);
  const flagWins = await runCli(['build', '--dist-path', join(root, 'flag-dist')], { env: { BOOTCFG_DATA_PATH: data, BOOTCFG_DIST_PATH: join(root, 'env-dist-2') } });
  assert.equal(flagWins.code, 0, flagWins.stderr);
  assert.match(await readlink(join(root, 'flag-dist', 'current')), /^revs\//);
  const server = await startServe([], { BOOTCFG_DIST_PATH: join(root, 'env-dist'), BOOTCFG_ADDRESS: 'ignored:1' });
  assert.equal((await get(server.url, '/ipxe')).status, 200, 'serve read BOOTCFG_DIST_PATH; --address beat BOOTCFG_ADDRESS');
});

test('serve without a build in dist/ says how to make one', async () => {
  const root = await tempDir();
  const result = await runCli(['serve', '--dist-path', join(root, 'empty'), '--address', '127.0.0.1:0']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /no build in .*empty\n  hint: run `bootcfg build` first, or pass --data-path/);
});

test('serve --data-path with bad data fails before listening, naming the file', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), { 'boot/default': '{"kernel": 1}' });
  const result = await runCli(['serve', '--data-path', data, '--dist-path', join(root, 'dist'), '--address', '127.0.0.1:0']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /boot\/default:1:12: "kernel" must be a non-empty string, not a number \(1\)/);
});

test('a BOOTCFG_* variable meant for another command is ignored, a mistyped flag is not', async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  const shared = { BOOTCFG_DATA_PATH: data, BOOTCFG_ADDRESS: '0.0.0.0:8080', BOOTCFG_LISTEN: '0.0.0.0:80', BOOTCFG_WATCH: 'true' };
  const validate = await runCli(['validate'], { env: shared });
  assert.equal(validate.code, 0, validate.stderr);
  const typo = await runCli(['validate', '--adress', 'x'], { env: shared });
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /Unknown argument: adress/);
});

test('serve --watch that cannot listen exits instead of hanging on its watcher', { timeout: 60_000 }, async () => {
  const root = await tempDir();
  const data = await writeFiles(join(root, 'data'), sampleData());
  const busy = await startServe(['--data-path', data, '--dist-path', join(root, 'dist-a')]);
  const result = await runCli(['serve', '--watch', '--data-path', data, '--dist-path', join(root, 'dist-b'), '--address', new URL(busy.url).host]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /cannot listen on .*EADDRINUSE/);
});
