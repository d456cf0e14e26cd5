// Turns a benchmark run's results.json into docs/BENCHMARKS.md's results section (between its
// markers, so the prose around it stays hand-written), two hand-rolled SVG charts
// (docs/bench-build.svg, docs/bench-serve.svg) and a copy of the raw numbers
// (docs/bench-results.json). Usage: node lib/bench/report.js [results.json]

import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { LoadResult } from './load.js';
import { ROOT } from './proc.js';
import type { Results, SizeResult } from './run.js';
import { median, ratio } from './stats.js';
import { serveChart, serveSection, serveTargets } from './serve-report.js';

const DOCS = join(ROOT, 'docs');
const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

const s = (ms: number) => (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
const mb = (kb: number | undefined) => (kb === undefined ? '–' : (kb / 1024).toFixed(0));
const x = (r: number) => `${r.toFixed(2)}×`;
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const list = (values: readonly number[], f: (v: number) => string) => values.map(f).join(', ');
const med = (runs: readonly LoadResult[], key: keyof LoadResult) => median(runs.map((r) => r[key]));

/** The slowest answer serve gave while building any of a phase's changes (ms); – for a run from before it was measured. */
const slowest = (values: readonly number[] | undefined) => (values === undefined || values.length === 0 ? '–' : ms(Math.max(...values)));

/** A timing cell: the median of the runs, and in brackets the median of the builds' own times (from serve's log). */
function cell(total: readonly number[], build: readonly number[] = []): string {
  const b = median(build.filter((v) => v > 0));
  return `${ms(median(total))}${Number.isNaN(b) ? '' : ` (${ms(b)})`}`;
}

/** serve --repo: push (commit + webhook) → new answer, as the watch table (bench/repo-phase.ts). */
function repoTable(sizes: readonly SizeResult[]): string[] {
  const rows = sizes.filter((r) => (r.repo?.editMs.length ?? 0) > 0);
  if (rows.length === 0) return [];
  return [
    '',
    '### `serve --repo`: from the push (commit + webhook) to the new answer (medians, ms)',
    '',
    'Each cell: push → new answer served, and in brackets the build\'s own time from serve\'s log (the rest is the fetch, the export of the commit\'s tree and the swap).',
    '',
    '| machines | first sync + listen | one machine edited | 1% of the fleet edited | default edited | slowest answer meanwhile | repo RSS (rest → peak) | runs: one; 1%; default |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows.map((r) => {
      const p = r.repo!;
      return `| ${r.machines.toLocaleString('en')} | ${s(p.firstBuildMs)} s | ${cell(p.editMs, p.editBuildMs)} | ${cell(p.onePercentMs, p.onePercentBuildMs)} | ${cell(p.defaultMs, p.defaultBuildMs)} | ${slowest(p.slowestMs)} | ${mb(p.restRssKb)} → ${mb(p.rssKb)} MB | ${list(p.editMs, ms)}; ${list(p.onePercentMs, ms)}; ${list(p.defaultMs, ms)} |`;
    }),
  ];
}

/** The same machines as profiles and groups (bench/groups-phase.ts): build and serve --watch. */
function groupsTable(sizes: readonly SizeResult[]): string[] {
  const rows = sizes.filter((r) => r.groups !== undefined);
  if (rows.length === 0) return [];
  return [
    '',
    '### The same machines as profiles and groups (medians)',
    '',
    'One group per machine (selector uuid or mac, hostname and rack as metadata), four role profiles, a cloud-config template over the metadata, a default group. Build: against `cp -a` of its output. `serve --watch`: write → new answer served (ms), the rebuild in brackets; the shared profile is booted by a quarter of the machines.',
    '',
    '| machines | output files | `bootcfg build` | `cp -a` | build / cp | build peak RSS | one group edited | 1% of the groups edited | shared profile edited | slowest answer meanwhile | watch RSS (rest → peak) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => {
      const g = r.groups!;
      const w = g.watch;
      return `| ${r.machines.toLocaleString('en')} | ${g.outputFiles.toLocaleString('en')} | ${s(median(g.buildMs))} s | ${s(median(g.cpMs))} s | ${x(ratio(median(g.buildMs), median(g.cpMs)))} | ${mb(median(g.buildRssKb))} MB | ${cell(w.editMs, w.editBuildMs)} | ${cell(w.onePercentMs, w.onePercentBuildMs)} | ${cell(w.profileMs, w.profileBuildMs)} | ${slowest(w.slowestMs)} | ${mb(w.restRssKb)} → ${mb(w.rssKb)} MB |`;
    }),
  ];
}

export function tables(results: Results): string {
  const { machine: m, versions: v, config: c } = results;
  const lines = [
    `Run of ${results.date.slice(0, 16).replace('T', ' ')} UTC: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Linux ${m.kernel};`,
    `load average ${m.loadBefore.map((l) => l.toFixed(1)).join(' / ')} before and ${m.loadAfter.map((l) => l.toFixed(1)).join(' / ')} after (the machine was shared).`,
    `Versions: bootcfg ${v.bootcfg}, Node ${v.node}, ${v.nginx}, ${v.wrk?.replace(/ Copyright.*/, '')}, ${v.cp}.`,
    `${c.runs} runs of everything; wrk ${c.wrkThreads} thread, ${c.connections} connections, ${c.seconds} s per run; bootcfg serve with ${c.nginxWorkers} process${c.nginxWorkers > 1 ? 'es' : ''}, nginx with as many workers. Trees under \`${c.benchDir.replace(ROOT, '')}\`.`,
    '',
    '### Full build against `cp -a` of its output (medians)',
    '',
    '| machines | data files | output files | `bootcfg build` | `cp -a` | build / cp | build peak RSS | runs: build; cp (s) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...results.sizes.map((r) => `| ${r.machines.toLocaleString('en')} | ${r.dataFiles.toLocaleString('en')} | ${r.outputFiles.toLocaleString('en')} | ${s(median(r.buildMs))} s | ${s(median(r.cpMs))} s | ${x(ratio(median(r.buildMs), median(r.cpMs)))} | ${mb(median(r.buildRssKb))} MB | ${list(r.buildMs, s)}; ${list(r.cpMs, s)} |`),
    '',
    '### `serve --watch`: from the write to the new answer (medians, ms)',
    '',
    'Each cell: write → new answer served, and in brackets the rebuild\'s own time from serve\'s log (the rest is change detection, debounce and the swap). "Slowest answer meanwhile": the longest serve took to answer the bench\'s polling (one request at a time, every 5 ms) while it built any of these changes; serve builds in the process that answers.',
    '',
    '| machines | first build + listen | one machine edited | 1% of the fleet edited | default edited | slowest answer meanwhile | watch RSS (rest → peak) | runs: one; 1%; default |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...results.sizes.filter((r) => r.watch.editMs.length > 0).map((r) => {
      const w = r.watch;
      return `| ${r.machines.toLocaleString('en')} | ${s(w.firstBuildMs)} s | ${cell(w.editMs, w.editBuildMs)} | ${cell(w.onePercentMs, w.onePercentBuildMs)} | ${cell(w.defaultMs, w.defaultBuildMs)} | ${slowest(w.slowestMs)} | ${mb(w.restRssKb)} → ${mb(w.rssKb)} MB | ${list(w.editMs, ms)}; ${list(w.onePercentMs, ms)}; ${list(w.defaultMs, ms)} |`;
    }),
    ...repoTable(results.sizes),
    ...groupsTable(results.sizes),
    '',
    ...serveSection(results),
    '',
    ...targets(results),
  ];
  return lines.join('\n');
}

function targets(results: Results): string[] {
  const r = results.sizes.reduce((a, b) => (b.machines > a.machines ? b : a));
  const rows: [string, string, string, boolean | undefined][] = [];
  const check = (name: string, target: string, value: number, ok: (v: number) => boolean, show: (v: number) => string) => {
    rows.push([name, target, Number.isNaN(value) ? 'not measured' : show(value), Number.isNaN(value) ? undefined : ok(value)]);
  };
  check('full build', '≤ 1.2 × `cp -a`', ratio(median(r.buildMs), median(r.cpMs)), (v) => v <= 1.2, x);
  const first = (v: number | undefined) => (v === undefined ? '' : ` (the first after start-up, not counted: ${ms(v)} ms)`);
  check('one edit served (watch)', '≤ 100 ms', median(r.watch.editMs), (v) => v <= 100, (v) => `${ms(v)} ms${first(r.watch.firstEditMs)}`);
  check('1% of the fleet served (watch)', '≤ 1 s', median(r.watch.onePercentMs), (v) => v <= 1000, (v) => `${ms(v)} ms`);
  check('one edit served after the push (repo)', '≤ 1 s', median(r.repo?.editMs ?? []), (v) => v <= 1000, (v) => `${ms(v)} ms`);
  check('serve --watch RSS at rest', '≤ 150 MB', (r.watch.restRssKb ?? Number.NaN) / 1024, (v) => v <= 150, (v) => `${v.toFixed(0)} MB`);
  check('serve --repo RSS at rest', '≤ 150 MB', (r.repo?.restRssKb ?? Number.NaN) / 1024, (v) => v <= 150, (v) => `${v.toFixed(0)} MB`);
  check('serve --watch peak RSS', '≤ 300 MB', (r.watch.rssKb ?? Number.NaN) / 1024, (v) => v <= 300, (v) => `${v.toFixed(0)} MB`);
  for (const [name, target, value, ok, show] of serveTargets(r, results.config.connections)) check(name, target, value, ok, show);
  check('build peak RSS', '≤ 300 MB', median(r.buildRssKb) / 1024, (v) => v <= 300, (v) => `${v.toFixed(0)} MB`);
  const g = r.groups;
  check('groups: full build', '≤ 1.2 × `cp -a`', g ? ratio(median(g.buildMs), median(g.cpMs)) : Number.NaN, (v) => v <= 1.2, x);
  check('groups: one group edit served (watch)', '≤ 100 ms', median(g?.watch.editMs ?? []), (v) => v <= 100, (v) => `${ms(v)} ms${first(g?.watch.firstEditMs)}`);
  check('groups: 1% of the groups served (watch)', '≤ 1 s', median(g?.watch.onePercentMs ?? []), (v) => v <= 1000, (v) => `${ms(v)} ms`);
  check('groups: serve --watch RSS at rest', '≤ 150 MB', (g?.watch.restRssKb ?? Number.NaN) / 1024, (v) => v <= 150, (v) => `${v.toFixed(0)} MB`);
  return [
    `### Targets at ${r.machines.toLocaleString('en')} machines`,
    '',
    '| target | wanted | measured | met |',
    '| --- | --- | ---: | :---: |',
    ...rows.map(([name, target, value, ok]) => `| ${name} | ${target} | ${value} | ${ok === undefined ? '–' : ok ? 'yes' : '**no**'} |`),
  ];
}

// ---- charts: plain SVG from the numbers -----------------------------------------------------

const W = 640;
const H = 360;
const PAD = { left: 70, right: 60, top: 40, bottom: 50 };
const COLORS = { bootcfg: '#2b6cb0', ref: '#c05621', ceiling: '#a0aec0' };

function svg(title: string, body: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${title}</text>
${body.join('\n')}
</svg>
`;
}

function legend(items: [string, string][]): string[] {
  return items.map(([label, color], i) => `<rect x="${PAD.left + 10}" y="${PAD.top + 6 + i * 18}" width="12" height="12" fill="${color}"/><text x="${PAD.left + 28}" y="${PAD.top + 16 + i * 18}">${label}</text>`);
}

/** Build time against N, log-log, with cp -a of the same output as the floor. */
export function buildChart(results: Results): string {
  const sizes = results.sizes;
  const series: [string, string, number[]][] = [
    ['bootcfg build', COLORS.bootcfg, sizes.map((r) => median(r.buildMs) / 1000)],
    ['cp -a of its output', COLORS.ref, sizes.map((r) => median(r.cpMs) / 1000)],
  ];
  const all = series.flatMap(([, , v]) => v).filter((v) => v > 0);
  const [yMin, yMax] = [10 ** Math.floor(Math.log10(Math.min(...all))), 10 ** Math.ceil(Math.log10(Math.max(...all)))];
  const [nMin, nMax] = [Math.min(...sizes.map((r) => r.machines)), Math.max(...sizes.map((r) => r.machines))];
  const px = (n: number) => PAD.left + (nMax === nMin ? 0.5 : (Math.log10(n) - Math.log10(nMin)) / (Math.log10(nMax) - Math.log10(nMin))) * (W - PAD.left - PAD.right);
  const py = (v: number) => H - PAD.bottom - ((Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (H - PAD.top - PAD.bottom);
  const body: string[] = [];
  for (let t = yMin; t <= yMax * 1.0001; t *= 10) {
    body.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${py(t)}" y2="${py(t)}" stroke="#ddd"/><text x="${PAD.left - 6}" y="${py(t) + 4}" text-anchor="end">${t >= 1 ? t : t.toFixed(Math.round(-Math.log10(t)))} s</text>`);
  }
  for (const r of sizes) body.push(`<text x="${px(r.machines)}" y="${H - PAD.bottom + 18}" text-anchor="middle">${r.machines.toLocaleString('en')}</text>`);
  body.push(`<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 10}" text-anchor="middle">machines (log scale); time in seconds (log scale), median of ${results.config.runs} runs</text>`);
  for (const [, color, values] of series) {
    const points = values.map((v, i) => `${px(sizes[i]!.machines).toFixed(1)},${py(v).toFixed(1)}`);
    body.push(`<polyline fill="none" stroke="${color}" stroke-width="2.5" points="${points.join(' ')}"/>`);
    values.forEach((v, i) => body.push(`<circle cx="${px(sizes[i]!.machines)}" cy="${py(v)}" r="4" fill="${color}"/><text x="${px(sizes[i]!.machines) + 6}" y="${py(v) - 6}" fill="${color}">${v.toFixed(v < 10 ? 2 : 1)}</text>`));
  }
  body.push(...legend(series.map(([label, color]) => [label, color])));
  return svg('Full build time against fleet size', body);
}

async function main(): Promise<void> {
  const file = resolve(process.argv[2] ?? join(resolve(ROOT, process.env.BENCH_DIR ?? '.cache/bench'), 'results.json'));
  const results = JSON.parse(await readFile(file, 'utf8')) as Results;
  const doc = join(DOCS, 'BENCHMARKS.md');
  const current = await readFile(doc, 'utf8').catch(() => `# Benchmarks\n\n${START}\n${END}\n`);
  if (!current.includes(START) || !current.includes(END)) throw new Error(`${doc} lacks the ${START} … ${END} markers`);
  const updated = `${current.slice(0, current.indexOf(START) + START.length)}\n${tables(results)}\n${current.slice(current.indexOf(END))}`;
  await writeFile(doc, updated);
  await writeFile(join(DOCS, 'bench-build.svg'), buildChart(results));
  await writeFile(join(DOCS, 'bench-serve.svg'), serveChart(results));
  await writeFile(join(DOCS, 'bench-results.json'), `${JSON.stringify(results, null, 1)}\n`);
  process.stderr.write(`updated ${doc}, docs/bench-build.svg, docs/bench-serve.svg, docs/bench-results.json\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
