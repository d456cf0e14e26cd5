// The static chain boots every machine as bootcfg serve does (issue 12: "check the order
// matches the dynamic server's for every machine"). For each machine of a groups-and-labels
// fleet — the tests' own and the bundled example data/ — (every combination of a known or
// unknown uuid, MAC, architecture and os label), iPXE's
// walk is simulated twice: from bootcfg serve's /boot.ipxe (labels in its query), and from the
// published tree's boot.ipxe on a plain static host (labels as iPXE settings, 404s falling
// through). Both must boot the same kernel, initrds and arguments, and every URL argument must
// fetch the same bytes from either side: the static one resolved at compile time, the dynamic
// one routed by its query.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { ROOT, get, runCli, startServe, tempDir, writeFiles, type ServeProcess } from './helpers.js';
import { bootMachine, type BootResult, type Fetch } from './ipxe-sim.js';
import { CP_MACS, ORIGIN, fleetData, fleetMachines, routeFetch, staticHost, type FleetMachine } from './static-fleet.js';

const BASE = 'http://static.test/boot';

const FLEETS = [
  { name: 'the tests\' groups-and-labels fleet', data: async (root: string) => writeFiles(join(root, 'data'), fleetData(1)), macs: CP_MACS, shapes: ['uuid.arch.os', 'mac.arch', 'arch.os', 'arch', 'os', 'default'] },
  { name: 'the bundled example data/', data: async () => join(ROOT, 'data'), macs: ['52:54:00:89:d8:10', '52:54:00:89:d8:12'], shapes: ['mac.arch', 'arch.os', 'arch', 'os', 'default'] },
];

for (const fleet of FLEETS) describe(`the static chain against bootcfg serve, machine by machine: ${fleet.name}`, () => {
  let serve: ServeProcess;
  let dynamic: Fetch;
  let published: Fetch;

  before(async () => {
    const root = await tempDir();
    const data = await fleet.data(root);
    const to = join(root, 'www');
    const run = await runCli(['publish', '--data-path', data, '--to', to, '--base-url', BASE]);
    assert.equal(run.code, 0, run.stderr);
    serve = await startServe(['--data-path', data, '--dist-path', join(root, 'dist'), '--images-path', join(root, 'images')]);
    const server = async (url: string) => {
      const at = url.startsWith(ORIGIN) ? ORIGIN : url.startsWith(serve.url) ? serve.url : undefined;
      if (!at) return undefined;
      const answer = await get(serve.url, url.slice(at.length));
      return { status: answer.status, body: answer.body };
    };
    dynamic = routeFetch(server);
    published = routeFetch(staticHost(BASE, to), server);
  });

  test('every machine boots the same kernel, initrds and arguments, and fetches the same configs', async () => {
    const machines: FleetMachine[] = fleetMachines(fleet.macs);
    const reached = new Map<string, number>();
    for (const machine of machines) {
      const query = new URLSearchParams(machine.labels).toString();
      const fromServe = await bootMachine(`${serve.url}/boot.ipxe${query ? `?${query}` : ''}`, machine.settings, dynamic);
      const fromStatic = await bootMachine(`${BASE}/boot.ipxe`, machine.settings, published);
      const shape = await compare(machine.name, fromServe, fromStatic);
      reached.set(shape, (reached.get(shape) ?? 0) + 1);
    }
    // The machines reach every shape of the build, so the comparison covered each.
    assert.deepEqual([...reached.keys()].sort(), [...fleet.shapes].sort());
    assert.equal([...reached.values()].reduce((a, b) => a + b), machines.length);
  });

  /** Asserts both walks booted alike; returns the shape of the iPXE answer that booted. */
  async function compare(name: string, fromServe: BootResult, fromStatic: BootResult): Promise<string> {
    assert.ok('booted' in fromServe, `${name}: bootcfg serve: ${JSON.stringify(fromServe)}`);
    assert.ok('booted' in fromStatic, `${name}: static: ${JSON.stringify(fromStatic)}`);
    const a = fromServe.booted;
    const b = fromStatic.booted;
    assert.equal(localPath(b.kernel), localPath(a.kernel), `${name}: kernel`);
    assert.deepEqual(b.initrds.map(localPath), a.initrds.map(localPath), `${name}: initrds`);
    assert.equal(b.args.length, a.args.length, `${name}: ${b.args.join(' ')} vs ${a.args.join(' ')}`);
    for (const [i, arg] of a.args.entries()) {
      const other = b.args[i]!;
      if (arg === other) continue;
      const [key, url] = splitArg(arg);
      const [otherKey, otherUrl] = splitArg(other);
      assert.equal(otherKey, key, `${name}: argument ${i}`);
      const [want, got] = await Promise.all([dynamic(url), published(otherUrl)]);
      assert.equal(want.status, 200, `${name}: ${url} from serve`);
      assert.equal(got.status, 200, `${name}: ${otherUrl} from the static tree`);
      assert.equal(got.body, want.body, `${name}: ${key}: ${otherUrl} vs ${url}`);
      assert.ok(otherUrl.startsWith(`${BASE}/revs/`), `${name}: ${otherUrl} points into the published revision`);
    }
    return /\/ipxe\/([^/]+)/.exec(b.scriptUrl)![1]!;
  }
});

/** A kernel or initrd URL without its host and the base URL's path: /images/… on both sides. */
function localPath(url: string): string {
  const path = new URL(url).pathname;
  return path.startsWith('/boot/') ? path.slice('/boot'.length) : path;
}

function splitArg(arg: string): [string, string] {
  const eq = arg.indexOf('=');
  return [arg.slice(0, eq), arg.slice(eq + 1)];
}
