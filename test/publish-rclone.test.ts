// `bootcfg publish` through rclone, to a local remote (a temp RCLONE_CONFIG naming a `local`
// backend): a re-run copies only what is missing or different (by checksum), and — the proof
// issue 12 asks for — publishing again and again while simulated clients walk the static chain
// over HTTP from a plain static server never lets a client assemble an answer from two
// revisions, nor boot a less specific answer than its own while old revisions are pruned.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { lstat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, get, runCli, tempDir, writeFiles } from './helpers.js';
import { bootMachine, type Fetch } from './ipxe-sim.js';
import { fleetData, fleetMachines } from './static-fleet.js';

function rcloneMissing(): string | undefined {
  try {
    execFileSync('rclone', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    if (process.env.CI === 'true') throw new Error('rclone is not installed, and CI=true: run `make ci-deps` (mk/publish.mk)');
    return 'rclone is not installed (make ci-deps)';
  }
}

const skip = rcloneMissing();

/** A plain static file server over `root`: 200 with a regular file, 404 for anything else. */
async function staticServer(root: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
      const file = join(root, path);
      const ok = !path.split('/').includes('..') && (await lstat(file).catch(() => undefined))?.isFile();
      if (!ok) return res.writeHead(404).end('not found\n');
      const body = await readFile(file).catch(() => undefined); // pruned between the stat and the read
      if (!body) return res.writeHead(404).end('not found\n');
      res.writeHead(200, { 'Content-Length': body.length }).end(body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('bootcfg publish through rclone', { skip }, () => {
  let root: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    root = await tempDir();
    await writeFile(join(root, 'rclone.conf'), '[store]\ntype = local\n');
    env = { RCLONE_CONFIG: join(root, 'rclone.conf') };
  });

  test('a re-run copies only files missing or different by checksum, then switches', async () => {
    const data = await writeFiles(join(root, 'data-resume'), fleetData(1));
    const www = join(root, 'resume');
    const publish = () => runCli(['publish', '--data-path', data, '--to', `store:${www}`, '--base-url', 'http://boot.test'], { env });
    const first = await publish();
    assert.equal(first.code, 0, first.stderr);
    const dir = /revs\/([^/]+)\/boot\.ipxe/.exec(await readFile(join(www, 'boot.ipxe'), 'utf8'))![1]!;
    // Interrupted before its chain and entry point; one file lost, one changed at the same size.
    await rm(join(www, 'boot.ipxe'));
    await rm(join(www, 'revs', dir, 'boot.ipxe'));
    await rm(join(www, 'revs', dir, 'ipxe/default'));
    const cloud = join(www, 'revs', dir, 'cloud/default');
    const original = await readFile(cloud, 'utf8');
    await writeFile(cloud, original.replace('installer', 'INSTALLER'));
    const dry = await runCli(['publish', '--data-path', data, '--to', `store:${www}`, '--base-url', 'http://boot.test', '--dry-run'], { env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, /: 2 files would be copied, \d+ already there/);
    assert.equal(existsSync(join(www, 'boot.ipxe')), false);
    const again = await publish();
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /: 2 files copied, \d+ already there/);
    assert.equal(await readFile(cloud, 'utf8'), original);
    assert.match(await readFile(join(www, 'boot.ipxe'), 'utf8'), new RegExp(`revs/${dir}/boot\\.ipxe`));
    assert.match(await readFile(join(www, 'revs', dir, 'boot.ipxe'), 'utf8'), /^#!ipxe\n/);
  });

  // Regression: `rclone moveto` skips a move whose source has the size and modification time of
  // the file it replaces, and deletes the source. Every entry point has the same size, and SFTP
  // keeps whole seconds, so a rollback right after a publish was silently dropped. rclone's
  // --modify-window stands in for a coarse remote here.
  test('the entry point is switched even when the remote sees the same size and time', async () => {
    const www = join(root, 'coarse');
    const coarse = { ...env, RCLONE_MODIFY_WINDOW: '24h' };
    const live = async () => /revs\/([^/]+)\/boot\.ipxe/.exec(await readFile(join(www, 'boot.ipxe'), 'utf8'))![1]!;
    const dirs: string[] = [];
    for (const gen of [1, 2]) {
      const data = await writeFiles(join(root, `data-coarse-${gen}`), fleetData(gen));
      const run = await runCli(['publish', '--data-path', data, '--to', `store:${www}`, '--base-url', 'http://boot.test'], { env: coarse });
      assert.equal(run.code, 0, run.stderr);
      dirs.push(await live());
    }
    assert.notEqual(dirs[0], dirs[1]);
    const back = await runCli(['publish', '--to', `store:${www}`, '--rollback', dirs[0]!.split('.')[0]!], { env: coarse });
    assert.equal(back.code, 0, back.stderr);
    assert.equal(await live(), dirs[0]);
  });

  test('without rclone, a remote destination fails with a hint and the process exits (a failed spawn kept a timer alive)', async () => {
    const data = await writeFiles(join(root, 'data-none'), fleetData(1));
    const run = await runCli(['publish', '--data-path', data, '--to', `store:${join(root, 'none')}`, '--base-url', 'http://boot.test'], { env: { ...env, PATH: '/nonexistent' } });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /rclone is not installed, so bootcfg cannot publish to a remote\n  hint: install it/);
  });

  describe('publishing while clients boot', () => {
    let host: { url: string; server: Server };
    const www = () => join(root, 'live');

    before(async () => {
      host = await staticServer(www());
    });
    after(() => new Promise<void>((resolve) => host.server.close(() => resolve())));

    test('no client ever assembles an answer from two revisions', async () => {
      const data = join(root, 'data-live');
      const publishGen = async (gen: number) => {
        await writeFiles(data, fleetData(gen));
        const run = await runCli(['publish', '--data-path', data, '--to', `store:${www()}`, '--base-url', host.url, '--keep', '1'], { env });
        assert.equal(run.code, 0, run.stderr);
        return /revs\/([^/]+)\/boot\.ipxe/.exec(await readFile(join(www(), 'boot.ipxe'), 'utf8'))![1]!;
      };
      const fetch: Fetch = async (url) => {
        const answer = await get(host.url, url.slice(host.url.length));
        return { status: answer.status, body: answer.body };
      };
      const genOfDir = new Map<string, number>([[await publishGen(1), 1]]);

      // What each machine boots when nothing moves: under load it must boot that or nothing.
      const machines = fleetMachines();
      const expected = new Map<string, string>();
      for (const machine of machines) {
        const result = await bootMachine(`${host.url}/boot.ipxe`, machine.settings, fetch);
        assert.ok('booted' in result, machine.name);
        expected.set(machine.name, result.booted.args.find((arg) => arg.startsWith('bootcfg.profile='))!);
      }

      let publishing = true;
      const stats = { walks: 0, failed: 0, entry: 0, entryMissing: 0, revisions: new Set<string>() };
      /** Revision directory → the generation its walks booted. */
      const seen = new Map<string, number>();
      const failures: unknown[] = [];
      const client = async (first: number) => {
        // Bounded by count as well as by the publisher: at most 20000 walks per client.
        for (let i = first; publishing && i < first + 20_000; i++) {
          const machine = machines[i % machines.length]!;
          const result = await bootMachine(`${host.url}/boot.ipxe`, machine.settings, fetch);
          stats.walks++;
          if (!('booted' in result)) {
            // Two things may leave a client without an answer, never with a wrong one: a revision
            // pruned under a slow walk (its chain is deleted first), and the instant rclone 1.60
            // takes to move the new entry point over the old one (it deletes the old one, then
            // renames: a 404). The entry point is never read half-written.
            const dir = result.fetched.map((url) => /\/revs\/([^/]+)\//.exec(url)?.[1]).find(Boolean);
            if (dir === undefined && result.fetched.length === 1 && result.failed.endsWith(': not found')) stats.entryMissing++;
            else if (dir === undefined) stats.entry++;
            else assert.ok(!existsSync(join(www(), 'revs', dir, 'boot.ipxe')), `${machine.name}: no answer from ${dir}, which is not being pruned: ${result.failed}`);
            stats.failed++;
            continue;
          }
          const { booted } = result;
          const urls = [...booted.fetched.slice(1), booted.scriptUrl, ...booted.args.flatMap((arg) => (/=(http:\/\/\S+)$/.exec(arg)?.[1] ?? []))];
          const bodies = await Promise.all(booted.args.flatMap((arg) => {
            const url = /=(http:\/\/\S+)$/.exec(arg)?.[1];
            return url ? [fetch(url)] : [];
          }));
          const dirs = new Set(urls.filter((url) => !url.includes('/images/')).map((url) => /\/revs\/([^/]+)\//.exec(url)?.[1] ?? `outside: ${url}`));
          assert.equal(dirs.size, 1, `${machine.name}: one revision per walk, got ${[...dirs].join(', ')}`);
          const dir = [...dirs][0]!;
          const gen = Number(/^bootcfg\.gen=(\d+)$/.exec(booted.args.find((arg) => arg.startsWith('bootcfg.gen='))!)![1]);
          assert.equal(seen.get(dir) ?? gen, gen, `${machine.name}: every walk of ${dir} is of one generation`);
          seen.set(dir, gen);
          stats.revisions.add(dir);
          for (const body of bodies) {
            if (body.status !== 200) continue; // pruned meanwhile: the file is gone, never replaced
            const gens = [...body.body.matchAll(/gen=?(\d+)|GEN=(\d+)/g)].map((m) => Number(m[1] ?? m[2]));
            assert.ok(gens.every((g) => g === gen), `${machine.name}: ${body.body} in a walk of generation ${gen}`);
          }
          assert.equal(booted.args.find((arg) => arg.startsWith('bootcfg.profile=')), expected.get(machine.name), `${machine.name}: its own answer`);
        }
      };
      const clients = Array.from({ length: 6 }, (_, i) => client(i * 13).catch((error: unknown) => {
        failures.push(error);
        publishing = false;
      }));
      try {
        for (const gen of [2, 3, 4, 5, 6]) {
          if (failures.length > 0) break;
          const dir = await publishGen(gen);
          genOfDir.set(dir, gen);
          // Each revision is walked by some client before the next publish prunes the one before.
          await eventually(async () => stats.revisions.has(dir) || failures.length > 0, `a client to walk ${dir}`, 400, 25);
        }
      } finally {
        publishing = false;
      }
      await Promise.all(clients);
      if (failures.length > 0) throw failures[0];
      for (const [dir, gen] of seen) assert.equal(genOfDir.get(dir), gen, `${dir} was published as generation ${gen}`);
      assert.equal(stats.revisions.size, 6, `clients saw ${stats.revisions.size} revisions over ${stats.walks} walks`);
      assert.equal(stats.entry, 0, 'no client found the entry point half-written (rclone writes local files in place; publish moves a whole one over it)');
      assert.ok(stats.entryMissing <= 6 * 5, `${stats.entryMissing} walks found no entry point: more than each client once per switch`);
      process.stderr.write(`# ${stats.walks} walks over ${stats.revisions.size} revisions, ${stats.failed} without an answer (${stats.entryMissing} found no entry point while it was moved)\n`);
    });
  });
});
