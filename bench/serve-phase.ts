// `make bench`'s serve phase: bootcfg serve against nginx with the generated block, the 2015
// bootcfg and matchbox v0.9.0 (bench/peers.ts), and a bare Node HTTP server (the ceiling), on
// the same fleet, under the same boot storm (bench/storm.ts: every machine in turn, every kind
// of URL), side by side in one run. bootcfg serve runs with BENCH_WORKERS processes and nginx
// with as many workers; the 2015 bootcfg and matchbox are Go programs and use every core.
//
// Before any load, every server must answer every kind of URL: bootcfg and nginx the same
// status and body; the peers 200 (their bodies are their own formats). Each run measures
// every server back to back, the order reversed every other run, after a warm-up of each.
// RSS: bootcfg's processes summed (VmRSS "at rest" once its answer packs are filled, VmHWM
// after the load) and their PSS (shared pages split, not counted once per process).

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startNginx } from '../test/conformance/nginx.js';
import { URL_KINDS, runWrk, urlFor, type LoadResult } from './load.js';
import { BOOTCFG_2015, MATCHBOX, missing, start2015, startMatchbox, writeMatchboxFleet, type Peer } from './peers.js';
import { peakRssKb, startListening, startServe, withChildren } from './proc.js';
import { QUIET_MS } from '../src/serve/collect.js';
import { writeStormScript } from './storm.js';

/** Matchbox reads every group file on every request (~50 ms at 1k machines, ~5 s at 100k). */
export const MATCHBOX_MAX_MACHINES = 10_000;

export const SERVERS = ['bootcfg', 'nginx', 'bootcfg2015', 'matchbox', 'nodeCeiling'] as const;
export type ServerName = (typeof SERVERS)[number];

export interface ServeResult {
  bootcfg: LoadResult[];
  nginx: LoadResult[];
  bootcfg2015?: LoadResult[];
  matchbox?: LoadResult[];
  nodeCeiling?: LoadResult[];
  /** bootcfg serve's processes: the primary and its workers (1: the one process). */
  workers?: number;
  /** Sum over bootcfg's processes: VmRSS at rest (packs filled, no load), VmHWM after the load, PSS at rest. */
  bootcfgIdleRssKb?: number;
  bootcfgRssKb?: number;
  bootcfgIdlePssKb?: number;
  nginxRssKb?: number;
  bootcfg2015RssKb?: number;
  matchboxRssKb?: number;
  /** Why a peer was left out, by name. */
  skipped?: Partial<Record<ServerName, string>>;
}

export interface ServeSetup {
  n: number;
  dist: string;
  data: string;
  images: string;
  base: string;
  runs: number;
  seconds: number;
  connections: number;
  workers: number;
  say: (line: string) => void;
}

interface Running {
  url: string;
  pids: () => number[];
  stop(): Promise<void>;
}

export async function benchServePhase(s: ServeSetup): Promise<ServeResult> {
  const result: ServeResult = { bootcfg: [], nginx: [], workers: s.workers, skipped: {} };
  const script = join(s.base, 'storm.lua');
  await writeStormScript(script, s.n);
  const servers = new Map<ServerName, Running>();
  try {
    const serve = await startServe(['--dist-path', s.dist, '--images-path', s.images, '--address', '127.0.0.1:0', '--workers', String(s.workers)]);
    servers.set('bootcfg', { url: serve.url, pids: () => withChildren(serve.pid), stop: serve.stop });
    const nginx = await startNginx({ distPath: s.dist, imagesPath: s.images, workers: s.workers });
    const nginxPid = Number((await readFile(join(nginx.prefix, 'nginx.pid'), 'utf8')).trim());
    servers.set('nginx', { url: nginx.url, pids: () => withChildren(nginxPid), stop: nginx.stop });
    await addPeer(servers, result, 'bootcfg2015', missing(BOOTCFG_2015), () => start2015(s.data, s.images));
    const tooBig = s.n > MATCHBOX_MAX_MACHINES ? `reads all ${s.n.toLocaleString('en')} group files on every request (seconds each, past wrk's 5 s timeout); measured up to ${MATCHBOX_MAX_MACHINES.toLocaleString('en')} machines` : undefined;
    await addPeer(servers, result, 'matchbox', missing(MATCHBOX) ?? tooBig, async () => {
      const dir = join(s.base, 'matchbox-data');
      await writeMatchboxFleet(dir, s.n);
      return startMatchbox(dir);
    });
    const ceiling = await startListening([fileURLToPath(new URL('./node-ceiling.js', import.meta.url))]);
    servers.set('nodeCeiling', { url: ceiling.url, pids: () => [ceiling.pid], stop: ceiling.stop });

    await checkAnswers(s.n, servers);
    await packed(serve.log, s.workers);
    const atRest = await restingRss(servers.get('bootcfg')!.pids);
    result.bootcfgIdleRssKb = atRest.rssKb;
    result.bootcfgIdlePssKb = atRest.pssKb;
    s.say(`n=${s.n}: bootcfg serve at rest (--workers ${s.workers}): RSS ${(atRest.rssKb / 1024).toFixed(0)} MB, PSS ${(atRest.pssKb / 1024).toFixed(0)} MB`);

    const load = { threads: 1, connections: s.connections, seconds: s.seconds };
    for (const server of servers.values()) await runWrk(server.url, script, { ...load, seconds: Math.min(2, s.seconds) }); // warm-up
    const names = [...servers.keys()];
    for (let run = 1; run <= s.runs; run++) {
      for (const name of run % 2 === 1 ? names : [...names].reverse()) {
        const measured = await runWrk(servers.get(name)!.url, script, load);
        (result[name] ??= []).push(measured);
        s.say(`n=${s.n} run ${run}: ${name} ${measured.rps.toFixed(0)} req/s, p50 ${measured.p50Ms.toFixed(2)} ms, p99 ${measured.p99Ms.toFixed(2)} ms${measured.non2xx || measured.socketErrors ? ` (${measured.non2xx} non-2xx, ${measured.socketErrors} socket errors)` : ''}`);
      }
    }
    const peak = (name: ServerName) => { const server = servers.get(name); return server && server.pids().reduce((sum, pid) => sum + (peakRssKb(pid) ?? 0), 0); };
    result.bootcfgRssKb = peak('bootcfg');
    result.nginxRssKb = peak('nginx');
    result.bootcfg2015RssKb = peak('bootcfg2015');
    result.matchboxRssKb = peak('matchbox');
  } finally {
    for (const server of servers.values()) await server.stop();
  }
  return result;
}

async function addPeer(servers: Map<ServerName, Running>, result: ServeResult, name: ServerName, skip: string | undefined, start: () => Promise<Peer>): Promise<void> {
  if (skip) {
    result.skipped![name] = skip;
    return;
  }
  const peer = await start();
  servers.set(name, { url: peer.url, pids: () => peer.pids, stop: peer.stop });
}

/**
 * bootcfg and nginx must give the same status and body for every kind of URL in the mix, or
 * comparing them means nothing; the peers must answer 200 (matchbox: no Pixiecore API).
 */
async function checkAnswers(n: number, servers: Map<ServerName, Running>): Promise<void> {
  for (const kind of URL_KINDS) {
    const path = urlFor(kind, n, () => 0.5);
    const answers = new Map<ServerName, { status: number; body: string }>();
    for (const [name, server] of servers) if (name !== 'nodeCeiling') answers.set(name, await get(server.url + path));
    const ours = answers.get('bootcfg')!;
    const nginx = answers.get('nginx')!;
    if (ours.status !== 200 || ours.status !== nginx.status || ours.body !== nginx.body) {
      throw new Error(`${kind} ${path}: bootcfg ${ours.status}, nginx ${nginx.status}; the servers disagree, so comparing them means nothing`);
    }
    for (const [name, answer] of answers) {
      const expected = name === 'matchbox' && kind === 'pixiecore' ? 404 : 200;
      if (answer.status !== expected) throw new Error(`${kind} ${path}: ${name} answered ${answer.status}, not ${expected}`);
    }
  }
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

/**
 * Waits (at most 5 minutes) until every serving process says its answer pack is filled
 * ("packed revision …"), so that no run measures serve while it still reads its snapshot.
 */
async function packed(log: () => string, processes: number): Promise<void> {
  for (let i = 0; i < 3000 && (log().match(/packed revision /g) ?? []).length < processes; i++) await sleep(100);
}

/**
 * RSS and PSS summed over the processes at rest: the answer packs filled (the caller waits for
 * that), past the quiet time after which each process gives back that burst's garbage
 * (src/serve/collect.ts), and RSS steady: sampled every 500 ms until two samples are within
 * 1 MB, at most 60 s.
 */
async function restingRss(pids: () => number[]): Promise<{ rssKb: number; pssKb: number }> {
  await sleep(QUIET_MS + 1000);
  const sample = () => pids().reduce((sum, pid) => sum + (field(pid, 'status', 'VmRSS') ?? 0), 0);
  let last = sample();
  for (let i = 0; i < 120; i++) {
    await sleep(500);
    const now = sample();
    if (Math.abs(now - last) < 1024) break;
    last = now;
  }
  return { rssKb: sample(), pssKb: pids().reduce((sum, pid) => sum + (field(pid, 'smaps_rollup', 'Pss') ?? 0), 0) };
}

/** A "Name:  N kB" field of /proc/<pid>/<file>, in KB. */
function field(pid: number, file: string, name: string): number | undefined {
  try {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
