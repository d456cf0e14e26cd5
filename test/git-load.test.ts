// Steady concurrent load on serve --repo across a dozen pushes (some waited for, some in a
// burst that must queue): zero failed requests, and every answer's body belongs to the
// revision its X-Bootcfg-Revision header names. Bounded by the pushes; past a request cap the
// load slows to one request per 20 ms per worker.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigRepo, eventually, signGitHub, startServe, type Changes } from './git-fixture.js';

const SECRET = 'load-test-secret';
const PUSHES = 12;
const WORKERS = 4;
const MAX_REQUESTS = 40_000;
const MACS = Array.from({ length: 8 }, (_, i) => `52-54-00-00-01-0${i}`);

const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

/** Revision n's data: every machine and the default boot kernel-n, cloud configs carry n. */
function revisionData(n: number): Changes {
  const boot = (who: string) => `${JSON.stringify({ kernel: `/images/kernel-${n}`, initrd: [`/images/initrd-${n}`], cmdline: { console: 'ttyS0', who } })}\n`;
  const files: Changes = { 'boot/default': boot('default'), 'cloud/default': `#cloud-config\n# revision ${n} default\n` };
  for (const mac of MACS) {
    files[`boot/mac/${mac}`] = boot(mac);
    files[`cloud/mac/${mac}`] = `#cloud-config\n# revision ${n} ${mac}\n`;
  }
  return files;
}

/** The request paths, and what each answer's body must show for revision n. */
const probes: Array<{ path: string; expect: (n: number) => RegExp }> = [
  ...MACS.flatMap((mac) => [
    { path: `/ipxe?mac=${mac}`, expect: (n: number) => new RegExp(`kernel-${n}\\b[^\\n]*who=${mac}`) },
    { path: `/pixiecore/v1/boot/${mac}`, expect: (n: number) => new RegExp(`"kernel":\\s*"[^"]*kernel-${n}"[^]*who=${mac}`) },
    { path: `/cloud?mac=${mac}`, expect: (n: number) => new RegExp(`^#cloud-config\\n# revision ${n} ${mac}\\n$`) },
  ]),
  { path: '/ipxe?mac=52-54-00-ff-ff-ff', expect: (n) => new RegExp(`kernel-${n}\\b[^\\n]*who=default`) },
  { path: '/cloud', expect: (n) => new RegExp(`^#cloud-config\\n# revision ${n} default\\n$`) },
];

test(`${PUSHES} pushes under steady load: no failed request, every body matches its revision header`, async (t) => {
  const repo = new ConfigRepo();
  cleanup.push(() => repo.dispose());
  const revisions = new Map<string, number>([[repo.commitPush(revisionData(0), 'rev 0'), 0]]);
  const served = await startServe(['--repo', repo.remote, '--ref', 'main', '--pull-interval', '0', '--dist-path', join(repo.root, 'dist'),
    '--cache-path', join(repo.root, 'cache'), '--images-path', repo.root], { BOOTCFG_WEBHOOK_SECRET: SECRET });
  cleanup.push(() => served.stop());
  const live = async () => ((await (await fetch(`${served.url}/-/status`)).json()) as { live: { revision: string } | null }).live?.revision;

  const stats = { requests: 0, failures: [] as string[], seen: new Set<string>() };
  let pushing = true;
  const worker = async (w: number) => {
    for (let i = w; pushing; i += WORKERS) {
      // Past the cap the load slows to a trickle rather than stopping: on a loaded machine the
      // pushes can outlast the cap, and every waited-for revision must still be asked for.
      if (stats.requests >= MAX_REQUESTS) await new Promise((resolve) => setTimeout(resolve, 20));
      const probe = probes[i % probes.length]!;
      stats.requests++;
      try {
        const res = await fetch(served.url + probe.path);
        const body = await res.text();
        const revision = res.headers.get('x-bootcfg-revision') ?? '';
        const n = revisions.get(revision);
        if (res.status !== 200) stats.failures.push(`${probe.path}: ${res.status} ${body.trim()}`);
        else if (n === undefined) stats.failures.push(`${probe.path}: unknown revision ${revision}`);
        else if (!probe.expect(n).test(body)) stats.failures.push(`${probe.path}: body is not revision ${n}'s: ${JSON.stringify(body)}`);
        else stats.seen.add(revision);
      } catch (error) {
        stats.failures.push(`${probe.path}: ${(error as Error).message}`);
      }
    }
  };
  const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));

  let last = '';
  for (let n = 1; n <= PUSHES; n++) {
    last = repo.commitPush(revisionData(n), `rev ${n}`);
    revisions.set(last, n);
    const body = JSON.stringify({ ref: 'refs/heads/main', after: last });
    const res = await fetch(`${served.url}/-/hooks/git`, { method: 'POST', body, headers: { 'x-hub-signature-256': signGitHub(SECRET, body) } });
    assert.equal(res.status, 202);
    await res.text();
    // Odd pushes wait to go live; even ones land during a build and must queue.
    if (n % 2 === 1) await eventually(`revision ${n} live`, async () => ((await live()) === last ? true : undefined));
  }
  await eventually('the last push live', async () => ((await live()) === last ? true : undefined));
  pushing = false;
  await Promise.all(workers);

  t.diagnostic(`${stats.requests} requests, ${stats.seen.size} revisions answered, ${stats.failures.length} failures`);
  assert.deepEqual(stats.failures.slice(0, 10), []);
  assert.ok(stats.requests > probes.length, 'the load ran');
  assert.ok(stats.seen.size >= PUSHES / 2, `answers came from at least every waited-for revision (saw ${stats.seen.size})`);
  assert.ok(stats.seen.has(last));
});
