// The serve phase's part of docs/BENCHMARKS.md (bench/report.ts writes the rest): the table of
// every server side by side per fleet size, the serve targets at the largest size, and the
// chart docs/bench-serve.svg. Servers a run left out show their reason instead of numbers.

import type { LoadResult } from './load.js';
import type { Results, SizeResult } from './run.js';
import type { ServerName } from './serve-phase.js';
import { median, ratio } from './stats.js';

const x = (r: number) => (Number.isNaN(r) ? '–' : `${r.toFixed(2)}×`);
const ms = (v: number) => (Number.isNaN(v) ? '–' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const mb = (kb: number | undefined) => (kb === undefined || kb === 0 ? '–' : (kb / 1024).toFixed(0));
const med = (runs: readonly LoadResult[] | undefined, key: keyof LoadResult) => median((runs ?? []).map((r) => r[key]));
const rps = (runs: readonly LoadResult[] | undefined) => med(runs, 'rps');

const LABELS: Record<ServerName, string> = {
  bootcfg: 'bootcfg serve',
  nginx: 'nginx',
  bootcfg2015: '2015 bootcfg',
  matchbox: 'matchbox v0.9.0',
  nodeCeiling: 'Node ceiling',
};

export function serveSection(results: Results): string[] {
  const sizes = results.sizes.filter((r) => r.serve.bootcfg.length > 0);
  const workers = sizes[0]?.serve.workers ?? results.config.nginxWorkers;
  const skipped = sizes.flatMap((r) => Object.entries(r.serve.skipped ?? {}).map(([name, why]) => `${LABELS[name as ServerName]} at ${r.machines.toLocaleString('en')}: ${why}`));
  const run = results.serveRun;
  const when = run && run.date !== results.date
    ? [`Serve phase run of ${run.date.slice(0, 16).replace('T', ' ')} UTC (bootcfg ${run.versions.bootcfg}, ${run.versions.nginx}): load average ${run.machine.loadBefore.map((l) => l.toFixed(1)).join(' / ')} before and ${run.machine.loadAfter.map((l) => l.toFixed(1)).join(' / ')} after.`, '']
    : [];
  return [
    '### Serving: bootcfg serve, nginx, the 2015 bootcfg and matchbox, one fleet, one boot storm (medians)',
    '',
    ...when,
    `bootcfg serve runs as ${workers} process${workers > 1 ? 'es' : ''} (\`--workers ${workers}\`) and nginx with \`worker_processes ${results.config.nginxWorkers}\`; the 2015 bootcfg and matchbox are Go and use every core. wrk (1 thread) shares the same ${results.machine.cpus} cores. The Node ceiling is one bare Node process answering a fixed 400-byte body (\`bench/node-ceiling.ts\`). Ratios are bootcfg's req/s over the other's. RSS sums bootcfg's processes (serve and its workers): at rest once the answer packs are filled, and the peak after the load; PSS splits the pages the processes share.`,
    '',
    '| machines | bootcfg req/s | nginx req/s (bootcfg ÷) | 2015 bootcfg req/s (bootcfg ÷) | matchbox req/s | Node ceiling req/s | bootcfg p50 / p99 | nginx p99 | 2015 p99 | bootcfg RSS at rest → peak (PSS at rest) | runs: bootcfg; nginx; 2015 req/s |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...sizes.map(serveRow),
    ...(skipped.length > 0 ? ['', `Left out: ${skipped.join('; ')}.`] : []),
    ...(sizes.some((r) => (r.serve.matchbox ?? []).some((l) => l.non2xx > 0)) ? ['', 'matchbox has no Pixiecore API: its fifth of the storm answers 404, counted in its req/s as wrk counts it.'] : []),
  ];
}

function serveRow(r: SizeResult): string {
  const s = r.serve;
  const b = rps(s.bootcfg);
  const runs = (l: readonly LoadResult[] | undefined) => (l ?? []).map((v) => v.rps.toFixed(0)).join(', ') || '–';
  const errors = [s.bootcfg, s.nginx, s.bootcfg2015].some((l) => (l ?? []).some((v) => v.non2xx > 0 || v.socketErrors > 0)) ? ' (some runs had errors: see bench-results.json)' : '';
  const cell = (l: readonly LoadResult[] | undefined) => (l?.length ? `${rps(l).toFixed(0)} (${x(ratio(b, rps(l)))})` : '–');
  return `| ${r.machines.toLocaleString('en')} | ${b.toFixed(0)} | ${cell(s.nginx)} | ${cell(s.bootcfg2015)} | ${s.matchbox?.length ? rps(s.matchbox).toFixed(0) : '–'} | ${s.nodeCeiling?.length ? rps(s.nodeCeiling).toFixed(0) : '–'} | ${ms(med(s.bootcfg, 'p50Ms'))} / ${ms(med(s.bootcfg, 'p99Ms'))} ms | ${ms(med(s.nginx, 'p99Ms'))} ms | ${ms(med(s.bootcfg2015, 'p99Ms'))} ms | ${mb(s.bootcfgIdleRssKb)} → ${mb(s.bootcfgRssKb)} MB (${mb(s.bootcfgIdlePssKb)} MB) | ${runs(s.bootcfg)}; ${runs(s.nginx)}; ${runs(s.bootcfg2015)}${errors} |`;
}

/** The serve targets of issue 11 at the largest fleet: [name, wanted, measured, met]. */
export function serveTargets(r: SizeResult, connections: number): [string, string, number, (v: number) => boolean, (v: number) => string][] {
  const b = rps(r.serve.bootcfg);
  return [
    ['serve req/s against the 2015 bootcfg', '≥ 1.2×', ratio(b, rps(r.serve.bootcfg2015)), (v) => v >= 1.2, x],
    [`serve req/s against nginx (${r.serve.workers ?? 1} processes each)`, '≥ 1.0×', ratio(b, rps(r.serve.nginx)), (v) => v >= 1, x],
    [`serve p99 at ${connections} connections`, '≤ 5 ms', med(r.serve.bootcfg, 'p99Ms'), (v) => v <= 5, (v) => `${ms(v)} ms`],
    ['serve RSS at rest (all processes)', '≤ 150 MB', (r.serve.bootcfgIdleRssKb ?? Number.NaN) / 1024, (v) => v <= 150, (v) => `${v.toFixed(0)} MB`],
  ];
}

// ---- chart -------------------------------------------------------------------------------

const W = 720;
const H = 380;
const PAD = { left: 70, right: 30, top: 40, bottom: 50 };
const SERIES: [ServerName, string][] = [['bootcfg', '#2b6cb0'], ['nginx', '#c05621'], ['bootcfg2015', '#2f855a'], ['matchbox', '#805ad5'], ['nodeCeiling', '#a0aec0']];

/** Requests per second of every server at each fleet size, grouped bars. */
export function serveChart(results: Results): string {
  const sizes = results.sizes.filter((r) => r.serve.bootcfg.length > 0);
  const shown = SERIES.filter(([name]) => sizes.some((r) => (r.serve[name] as LoadResult[] | undefined)?.length));
  const value = (r: SizeResult, name: ServerName) => rps(r.serve[name] as LoadResult[] | undefined);
  const top = Math.max(1, ...sizes.flatMap((r) => shown.map(([name]) => value(r, name))).filter((v) => !Number.isNaN(v))) * 1.5; // room for the legend
  const step = 10 ** Math.floor(Math.log10(top / 2));
  const py = (v: number) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  const group = (W - PAD.left - PAD.right) / Math.max(1, sizes.length);
  const bar = Math.min(40, group / (shown.length + 1));
  const body: string[] = [];
  for (let t = 0; t <= top; t += step * (top / step > 8 ? 2 : 1)) {
    body.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${py(t)}" y2="${py(t)}" stroke="#ddd"/><text x="${PAD.left - 6}" y="${py(t) + 4}" text-anchor="end">${t.toLocaleString('en')}</text>`);
  }
  sizes.forEach((r, i) => {
    const center = PAD.left + group * (i + 0.5);
    shown.forEach(([name, color], j) => {
      const v = value(r, name);
      if (Number.isNaN(v)) return;
      const left = center - (bar * shown.length) / 2 + j * bar;
      body.push(`<rect x="${left + 2}" y="${py(v)}" width="${bar - 4}" height="${py(0) - py(v)}" fill="${color}"/><text x="${left + bar / 2}" y="${py(v) - 4}" text-anchor="middle" font-size="10">${v.toFixed(0)}</text>`);
    });
    body.push(`<text x="${center}" y="${H - PAD.bottom + 18}" text-anchor="middle">${r.machines.toLocaleString('en')} machines</text>`);
  });
  body.push(`<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 10}" text-anchor="middle">requests per second, median of ${results.config.runs} runs, boot storm over the whole fleet</text>`);
  const workers = sizes[0]?.serve.workers ?? 1;
  const label = (name: ServerName) => (name === 'bootcfg' ? `bootcfg serve (--workers ${workers})` : name === 'nginx' ? `nginx (${results.config.nginxWorkers} workers)` : name === 'nodeCeiling' ? 'bare Node HTTP, 1 process (ceiling)' : LABELS[name]);
  body.push(...shown.map(([name, color], i) => `<rect x="${PAD.left + 10}" y="${PAD.top + 6 + i * 18}" width="12" height="12" fill="${color}"/><text x="${PAD.left + 28}" y="${PAD.top + 16 + i * 18}">${label(name)}</text>`));
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">Requests per second, wrk 1 thread, ${results.config.connections} connections</text>
${body.join('\n')}
</svg>
`;
}
