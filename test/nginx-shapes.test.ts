// The generated nginx block is made for one set of selector shapes (the live build's). When a
// build brings other shapes, nginx must not silently answer from the wrong candidates: it
// answers 503 "nginx block out of date" until the block is regenerated. The Node server reads
// each snapshot's shapes.json itself, and refuses one it cannot trust.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startBootcfg } from './conformance/bootcfg.js';
import { BARE, FULL, IMAGES } from './conformance/cases.js';
import { makeSite, publish } from './conformance/fixture.js';
import { GROUPS } from './conformance/groups.js';
import { send } from './conformance/http.js';
import { nginxSkipReason, startNginx } from './conformance/nginx.js';
import { STALE } from '../src/serve/nginx.js';
import { LEGACY_SHAPES, shapesFiles, shapesMarker } from '../src/compile/shapes.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'bootcfg.js');
const TARGETS = ['/boot.ipxe', '/ipxe?mac=52-54-00-ab-cd-ef', '/cloud', '/pixiecore/v1/boot/52-54-00-ab-cd-ef', '/metadata', '/-/revision'];

async function statuses(url: string): Promise<string[]> {
  const out: string[] = [];
  for (const target of TARGETS) {
    const answer = await send(url, { target });
    out.push(`${answer.status} ${answer.body.toString()}`);
  }
  return out;
}

test('a block made for other shapes answers 503 "nginx block out of date", then serves once regenerated', { skip: nginxSkipReason() }, async () => {
  const site = await makeSite(IMAGES);
  try {
    await publish(site.distPath, 'seed', FULL);
    const nginx = await startNginx(site); // generated for the live (legacy) shapes
    try {
      assert.ok((await statuses(nginx.url)).every((s) => !s.startsWith('503 ')));
      await publish(site.distPath, 'groups', GROUPS); // a build with labels: other shapes
      assert.deepEqual(await statuses(nginx.url), TARGETS.map(() => `503 ${STALE}\n`));
    } finally {
      await nginx.stop();
    }
    const regenerated = await startNginx(site);
    try {
      assert.ok((await statuses(regenerated.url)).every((s) => !s.startsWith('503 ')));
      await publish(site.distPath, 'seed-again', FULL); // and back: the group block is stale now
      assert.deepEqual(await statuses(regenerated.url), TARGETS.map(() => `503 ${STALE}\n`));
    } finally {
      await regenerated.stop();
    }
  } finally {
    await site.remove();
  }
});

test('a seed build gaining or losing uuid, mac or default files keeps the block current', { skip: nginxSkipReason() }, async () => {
  const site = await makeSite(IMAGES);
  try {
    await publish(site.distPath, 'seed', FULL); // no shapes.json: built before groups
    const nginx = await startNginx(site);
    try {
      await publish(site.distPath, 'mac-only', new Map([...BARE, ...shapesFiles([['uuid'], ['mac']])]));
      const answer = await send(nginx.url, { target: '/ipxe?mac=52:54:00:ab:cd:ef' });
      assert.equal(answer.status, 200, answer.body.toString());
      await publish(site.distPath, 'default-only', new Map([['ipxe/default', 'd\n'], ...shapesFiles([[]])]));
      assert.equal((await send(nginx.url, { target: '/ipxe?mac=52:54:00:ab:cd:ef' })).body.toString(), 'd\n');
    } finally {
      await nginx.stop();
    }
  } finally {
    await site.remove();
  }
});

test('bootcfg nginx generates for the live build shapes, and says so when there is no build', async () => {
  const site = await makeSite(IMAGES);
  try {
    const none = spawnSync(process.execPath, [BIN, 'nginx', '--dist-path', site.distPath], { encoding: 'utf8' });
    assert.equal(none.status, 0, none.stderr);
    assert.match(none.stderr, /no build in .* yet; the block is for the uuid, mac and default shapes/);
    assert.match(none.stdout, new RegExp(shapesMarker(LEGACY_SHAPES)));
    await publish(site.distPath, 'groups', GROUPS);
    const live = spawnSync(process.execPath, [BIN, 'nginx', '--dist-path', site.distPath], { encoding: 'utf8' });
    assert.equal(live.status, 0, live.stderr);
    assert.equal(live.stderr, '');
    assert.ok(live.stdout.includes('\n#   [mac, os] [hostname, os] [arch, os] [uuid] [mac] []\n'), 'the header lists the shapes in try order');
    assert.match(live.stdout, /map \$arg_os \$bootcfg_q_os/);
    const marker = [...GROUPS.keys()].find((path) => path.startsWith('shapes/'))!;
    assert.match(live.stdout, new RegExp(`-f "\\$bootcfg_snapshot/${marker}"`));
  } finally {
    await site.remove();
  }
});

test('bootcfg serve refuses a snapshot whose shapes.json names a key that is not one', async () => {
  const site = await makeSite(IMAGES);
  try {
    await publish(site.distPath, 'bad', new Map([...FULL, ['shapes.json', '{"shapes":[["../etc"],[]]}\n']]));
    await assert.rejects(startBootcfg(site), /bad shapes\.json: "\.\.\/etc" is not a selector key/);
    await publish(site.distPath, 'odd', new Map([...FULL, ['shapes.json', '{"shapes":[["os","mac","os"]]}\n']]));
    await assert.rejects(startBootcfg(site), /repeats a key/);
    // A well-formed file in any order is read in try order.
    await publish(site.distPath, 'ok', new Map([...FULL, ['shapes.json', '{"shapes":[[],["mac"],["uuid"]]}\n']]));
    const server = await startBootcfg(site);
    try {
      const answer = await send(server.url, { target: '/ipxe?mac=52-54-00-ab-cd-ef&uuid=4c4c4544-0044-4b10-8058-b7c04f4b4e31' });
      assert.equal(answer.body.toString(), FULL.get('ipxe/uuid/4c4c4544-0044-4b10-8058-b7c04f4b4e31'));
    } finally {
      await server.stop();
    }
  } finally {
    await site.remove();
  }
});
