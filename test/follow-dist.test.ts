// `bootcfg serve --dist-path` follows dist/ through whatever a build, a cron job or an operator
// does to it, and agrees with the generated nginx block in every state: dist/ removed and
// recreated, dist/current removed or pointing at a snapshot that is gone. When nothing is live
// both answer 503 (to Pixiecore a 404 means "do not boot this machine"; a 503 means "try again").

import assert from 'node:assert/strict';
import { realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { send } from './conformance/http.js';
import { nginxSkipReason, startNginx } from './conformance/nginx.js';
import { bootConfig, eventually, runCli, sampleData, startServe, tempDir, writeFiles } from './helpers.js';

/** Requests of every kind, including ones nginx refuses before it looks for a build. */
const PROBES = [
  { target: '/boot.ipxe' },
  { target: '/ipxe?mac=52:54:00:12:34:56' },
  { target: '/ipxe' },
  { target: '/cloud' },
  { target: '/pixiecore/v1/boot/52:54:00:12:34:56' },
  { target: '/pixiecore/v1/boot/not-a-mac' },
  { target: '/ipxe?uuid=nope' },
  { target: '/-/revision' },
  { target: '/images/vmlinuz' },
  { target: '/elsewhere' },
  { target: '/boot.ipxe', method: 'HEAD' },
  { target: '/boot.ipxe', method: 'POST' },
  { target: '/ipxe/../../etc/passwd' },
  { target: '/boot.ipxe', method: 'TRACE' },
  { target: '/.bootcfg/404' },
];

interface Site {
  data: { A: string; B: string };
  dist: string;
  images: string;
  /** Each server's base URL (nginx only where it is installed). */
  servers: Array<{ name: string; url: string }>;
}

/** Data sets A and B (B with another default kernel), A built into dist/, both servers on it. */
async function site(t: TestContext): Promise<Site> {
  const root = await tempDir();
  const A = await writeFiles(join(root, 'data-a'), sampleData());
  const B = await writeFiles(join(root, 'data-b'), { ...sampleData(), 'boot/default': bootConfig('/images/b-default/vmlinuz') });
  const dist = join(root, 'dist');
  const images = await writeFiles(join(root, 'images'), { vmlinuz: 'kernel\n' });
  await buildInto(A, dist);
  const node = await startServe(['--dist-path', dist, '--images-path', images]);
  const servers = [];
  if (!nginxSkipReason()) { // first: it is the reference
    const nginx = await startNginx({ distPath: dist, imagesPath: images });
    t.after(nginx.stop);
    servers.push({ name: 'nginx', url: nginx.url });
  }
  servers.push({ name: 'bootcfg serve', url: node.url });
  return { data: { A, B }, dist, images, servers };
}

async function buildInto(data: string, dist: string): Promise<void> {
  const built = await runCli(['build', '--data-path', data, '--dist-path', dist]);
  assert.equal(built.code, 0, built.stderr);
}

/** status, revision header and body of each probe, per server. */
async function answers(url: string): Promise<string[]> {
  const out: string[] = [];
  for (const probe of PROBES) {
    const answer = await send(url, probe);
    out.push(`${probe.method ?? 'GET'} ${probe.target} -> ${answer.status} [${answer.headers['x-bootcfg-revision'] ?? 'no revision'}] ${JSON.stringify(answer.body.toString())}`);
  }
  return out;
}

/** Every probe answers 503 "no build" on every server, except the requests refused before that. */
async function assertNothingLive(s: Site): Promise<void> {
  const expected = PROBES.map((probe) => {
    const method = probe.method ?? 'GET';
    if (method === 'POST' || method === 'TRACE') return `${method} ${probe.target} -> 405 [no revision] "method not allowed\\n"`;
    if (probe.target.includes('..')) return `${method} ${probe.target} -> 400 [no revision] "bad request\\n"`;
    return `${method} ${probe.target} -> 503 [no revision] ${JSON.stringify(method === 'HEAD' ? '' : `no build in ${s.dist} yet\n`)}`;
  });
  for (const server of s.servers) assert.deepEqual(await answers(server.url), expected, server.name);
}

const kernel = async (url: string) => /^kernel (\S+)/m.exec((await send(url, { target: '/ipxe' })).body.toString())?.[1];

/** Both servers serve `kernelPath` from the same revision. */
async function assertServing(s: Site, kernelPath: string): Promise<void> {
  for (const server of s.servers) await eventually(async () => (await kernel(server.url)) === kernelPath, `${server.name} serving ${kernelPath}`);
  const revisions = await Promise.all(s.servers.map(async (server) => (await send(server.url, { target: '/ipxe' })).headers['x-bootcfg-revision']));
  assert.equal(new Set(revisions).size, 1, `revisions ${revisions.join(', ')}`);
}

test('serve follows builds after dist/ is removed and recreated, answering 503 as nginx does meanwhile', async (t) => {
  const s = await site(t);
  await assertServing(s, '/images/default/vmlinuz');
  await rm(s.dist, { recursive: true, force: true });
  await assertNothingLive(s);
  await buildInto(s.data.B, s.dist);
  await assertServing(s, '/images/b-default/vmlinuz');
  await buildInto(s.data.A, s.dist);
  await assertServing(s, '/images/default/vmlinuz');
});

test('serve answers 503 as nginx does while dist/current is missing or points at a snapshot that is gone', async (t) => {
  const s = await site(t);
  await rm(await realpath(join(s.dist, 'current')), { recursive: true, force: true });
  await assertNothingLive(s);
  await rm(join(s.dist, 'current'));
  await assertNothingLive(s);
  await buildInto(s.data.A, s.dist); // the same snapshot again, at the same path
  await assertServing(s, '/images/default/vmlinuz');
  await buildInto(s.data.B, s.dist);
  await assertServing(s, '/images/b-default/vmlinuz');
});
