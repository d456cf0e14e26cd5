// The fleet view over HTTP for `bootcfg serve`: GET /-/machines (a server-rendered page:
// filter box, sortable columns, flags at the top, one machine's compiled answers and links to
// them) and GET /-/machines.json (the report `bootcfg machines --format json` prints). It
// reveals the whole fleet, so it is off unless asked for: on its own listener
// (--admin-address), and/or behind BOOTCFG_ADMIN_TOKEN (Bearer, or Basic with the token as
// password, which every browser can send). No script, no front-end build: forms and links.

import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../compile/errors.js';
import type { SeenMachine } from '../fleet/activity.js';
import { entryFields, machineFields, matches, type EntryRow, type FleetReport } from '../fleet/report.js';
import { parseAddress, type Handler } from './server.js';

export interface AdminOptions {
  /** The report for the live build and what was seen so far. */
  report(): Promise<FleetReport>;
  /** A compiled answer of the live build (undefined: no such answer). */
  answer(path: string): Promise<Buffer | undefined>;
  /** When set, every admin request must carry it. */
  token?: string;
  /** Where serve --repo's follow state is, to link to it. */
  statusUrl?: string;
}

export const MACHINES_PATH = '/-/machines';
const JSON_PATH = '/-/machines.json';
const ANSWER_PATH = '/-/machines/answer';
/** Rows per table: a page stays readable (and small) for a fleet of any size; the filter narrows. */
const MAX_ROWS = 1000;

export function adminRoutes(options: AdminOptions): Map<string, Handler> {
  const guard = (handler: (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void>): Handler => (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { Allow: 'GET, HEAD' });
    if (options.token !== undefined && !authorized(req, options.token)) return send(res, 401, 'text/plain; charset=utf-8', 'admin token required\n', { 'WWW-Authenticate': 'Basic realm="bootcfg admin", charset="UTF-8"' });
    const query = new URL(req.url ?? '/', 'http://admin').searchParams;
    handler(req, res, query).catch((error: unknown) => send(res, 500, 'text/plain; charset=utf-8', `${(error as Error).message}\n`));
  };
  return new Map<string, Handler>([
    [MACHINES_PATH, guard(async (_req, res, query) => send(res, 200, 'text/html; charset=utf-8', page(await options.report(), query, options.statusUrl)))],
    [JSON_PATH, guard(async (_req, res) => send(res, 200, 'application/json', `${JSON.stringify(await options.report())}\n`))],
    [ANSWER_PATH, guard(async (_req, res, query) => {
      const content = await options.answer(query.get('path') ?? '');
      if (!content) return send(res, 404, 'text/plain; charset=utf-8', 'no such answer in the live build\n');
      send(res, 200, 'text/plain; charset=utf-8', content);
    })],
  ]);
}

/** The admin listener of --admin-address: the admin routes and nothing else. */
export async function startAdmin(address: string, routes: ReadonlyMap<string, Handler>): Promise<{ url: string; close(): Promise<void> }> {
  const { host, port } = parseAddress(address);
  const server = createServer((req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    const handler = routes.get((req.url ?? '/').split('?')[0]!);
    if (handler) return handler(req, res);
    if ((req.url ?? '/') === '/') return send(res, 302, 'text/plain; charset=utf-8', `${MACHINES_PATH}\n`, { Location: MACHINES_PATH });
    send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(new UsageError(`cannot listen on --admin-address ${address}: ${error.code ?? error.message}`, { hint: 'pick another HOST:PORT for the admin page', cause: error })));
    server.listen(port, host, resolve);
  });
  const bound = server.address() as AddressInfo;
  return {
    url: `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** `Authorization: Bearer T`, or Basic with password T (any user name); compared in constant time. */
function authorized(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const [scheme, value = ''] = header.split(' ', 2);
  let given: string | undefined;
  if (scheme?.toLowerCase() === 'bearer') given = value;
  else if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    given = decoded.slice(decoded.indexOf(':') + 1);
  }
  if (given === undefined) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(token));
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

// ---------------------------------------------------------------- the page

type Column<T> = { id: string; label: string; value: (row: T) => string | number; cell?: (row: T, query: URLSearchParams) => string };

const MACHINE_COLUMNS: Column<SeenMachine>[] = [
  { id: 'machine', label: 'Machine', value: (m) => m.id, cell: (m, q) => `<a href="${link(q, { machine: m.id, entry: null })}">${esc(m.id)}</a>` },
  { id: 'last', label: 'Last seen', value: (m) => m.lastSeen, cell: (m) => `<time datetime="${esc(m.lastSeen)}">${esc(m.lastSeen.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}</time>` },
  { id: 'revision', label: 'Revision', value: (m) => m.revision ?? '' },
  { id: 'boots', label: 'Boots', value: (m) => m.boots },
  { id: 'window', label: 'Boots in window', value: (m) => m.bootsInWindow },
  { id: 'os', label: 'OS fetches', value: (m) => m.osFetches },
  { id: 'answer', label: 'Answered by', value: (m) => m.answer ?? '', cell: (m, q) => (m.answer ? `<a href="${link(q, { entry: m.answer, machine: null })}">${esc(m.answer)}</a>` : '') },
  { id: 'flags', label: 'Flags', value: (m) => m.flags.join(' '), cell: (m) => m.flags.map((flag) => `<span class="flag ${flag}">${esc(FLAG_WORDS[flag])}</span>`).join(' ') },
];

const ENTRY_COLUMNS: Column<EntryRow>[] = [
  { id: 'selector', label: 'Selector', value: (e) => e.key, cell: (e, q) => `<a href="${link(q, { entry: e.key, machine: null })}">${esc(e.key)}</a>` },
  { id: 'group', label: 'Group', value: (e) => e.group ?? '' },
  { id: 'profile', label: 'Profile', value: (e) => e.profile ?? '' },
  { id: 'kernel', label: 'Kernel', value: (e) => e.kernel ?? '' },
  { id: 'os-config', label: 'OS config', value: (e) => ['cloud', 'ignition', 'generic'].filter((kind) => e.answers[kind]).join(' ') },
  { id: 'seen', label: 'Machines seen', value: (e) => e.seen },
  { id: 'entry-last', label: 'Last seen', value: (e) => e.lastSeen ?? '' },
];

const FLAG_WORDS = { loop: 'install loop', unknown: 'unknown', 'no-os-config': 'no OS config' } as const;

function page(report: FleetReport, query: URLSearchParams, statusUrl?: string): string {
  const filter = (query.get('q') ?? '').slice(0, 200);
  const machines = report.machines.filter((m) => !filter || matches(filter, ...machineFields(m)));
  const entries = report.entries.filter((e) => !filter || matches(filter, ...entryFields(e)));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Machines — bootcfg ${esc(report.revision)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Machines</h1>
<p>Revision <code>${esc(report.revision)}</code> from <code>${esc(report.source)}</code>.
${report.logs ? `${report.stats.hits} requests seen${report.stats.newest ? `, newest ${esc(report.stats.newest)}` : ''}.` : 'No access log read.'}
<a href="${JSON_PATH}">JSON</a>${statusUrl ? ` · <a href="${esc(statusUrl)}">follow status</a>` : ''}</p>
</header>
<main>
${flagSection(report, query)}
${detail(report, query)}
<form method="get" action="${MACHINES_PATH}" role="search">
<label for="q">Filter machines and groups</label>
<input id="q" name="q" type="search" value="${esc(filter)}" placeholder="MAC, group, kernel, flag…">
${query.get('sort') ? `<input type="hidden" name="sort" value="${esc(query.get('sort')!)}">` : ''}${query.get('dir') ? `<input type="hidden" name="dir" value="${esc(query.get('dir')!)}">` : ''}
<button type="submit">Filter</button>${filter ? ` <a href="${link(query, { q: null })}">clear</a>` : ''}
</form>
${report.logs ? table('machines', `Machines seen (${machines.length})`, MACHINE_COLUMNS, machines, query) : ''}
${table('entries', `Machines and groups of the build (${entries.length})`, ENTRY_COLUMNS, entries, query)}
</main>
</body>
</html>
`;
}

function flagSection(report: FleetReport, query: URLSearchParams): string {
  if (!report.logs) return '';
  const { options } = report;
  const item = (flag: keyof typeof FLAG_WORDS, what: string) => {
    const ids = report.flags[flag];
    const shown = ids.slice(0, 20).map((id) => `<a href="${link(query, { machine: id, entry: null })}">${esc(id)}</a>`).join(', ');
    return `<li class="${ids.length ? 'bad' : 'ok'}" id="flag-${flag}"><strong>${ids.length}</strong> ${what}${ids.length ? `: ${shown}${ids.length > 20 ? `, <a href="${link(query, { q: flag })}">all ${ids.length}</a>` : ''}` : ''}</li>`;
  };
  return `<section aria-labelledby="flags-title" class="flags">
<h2 id="flags-title">Flags</h2>
<ul>
${item('loop', `in an install loop (the same boot answer ${options.loopCount} times within ${options.loopMinutes} min)`)}
${item('unknown', 'unknown (no config of their own: answered by the default)')}
${item('no-os-config', 'booted but never fetched their OS config')}
</ul>
</section>`;
}

/** One machine or entry in full: what it boots and links to each compiled answer. */
function detail(report: FleetReport, query: URLSearchParams): string {
  const machine = report.machines.find((m) => m.id === query.get('machine'));
  const key = machine?.answer ?? query.get('entry');
  const entry = report.entries.find((e) => e.key === key);
  if (!machine && !entry) return '';
  const rows: [string, string][] = [];
  if (machine) {
    rows.push(['Machine', esc(machine.id)], ['Seen', `${esc(machine.firstSeen)} – ${esc(machine.lastSeen)} from ${esc(machine.client)}`], ['Revision served', esc(machine.revision ?? '-')], ['Boots', `${machine.boots} (${machine.bootsInWindow} in the last ${report.options.windowMinutes} min), ${machine.osFetches} OS config fetches`]);
    if (machine.flags.length) rows.push(['Flags', machine.flags.map((flag) => `<span class="flag ${flag}">${FLAG_WORDS[flag]}</span>`).join(' ')]);
    if (machine.loop) rows.push(['Install loop', `${machine.loop.boots} boots of ${esc(machine.loop.answer)}, ${esc(machine.loop.from)} – ${esc(machine.loop.to)}`]);
  }
  const answers = { ...entry?.answers, ...machine?.answers };
  if (entry) {
    rows.push(['Selector', esc(entry.key)], ['Group', esc(entry.group ?? '-')], ['Profile', esc(entry.profile ?? '-')], ['Kernel', `<code>${esc(entry.kernel ?? '-')}</code>`]);
    rows.push(['Initrds', entry.initrd.map((i) => `<code>${esc(i)}</code>`).join('<br>') || '-'], ['Arguments', entry.args.map((a) => `<code>${esc(a)}</code>`).join(' ') || '-']);
  }
  if (Object.keys(answers).length) {
    rows.push([machine ? 'Its compiled answers' : 'Compiled answers', Object.entries(answers).sort().map(([kind, path]) => `<a href="${ANSWER_PATH}?path=${encodeURIComponent(path)}" title="${esc(path)}">${esc(kind)}</a>`).join(' · ')]);
  }
  return `<section aria-labelledby="detail-title" class="detail">
<h2 id="detail-title">${esc(machine?.id ?? entry!.key)}</h2>
<dl>${rows.map(([term, value]) => `<dt>${term}</dt><dd>${value}</dd>`).join('')}</dl>
<p><a href="${link(query, { machine: null, entry: null })}">close</a></p>
</section>`;
}

function table<T>(id: string, title: string, columns: Column<T>[], rows: T[], query: URLSearchParams): string {
  const sort = columns.find((c) => c.id === query.get('sort'));
  const descending = query.get('dir') === 'desc';
  if (sort) {
    const value = sort.value;
    rows = [...rows].sort((a, b) => {
      const [x, y] = [value(a), value(b)];
      const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return descending ? -order : order;
    });
  }
  const head = columns.map((column) => {
    const active = column === sort;
    const dir = active && !descending ? 'desc' : 'asc';
    const aria = active ? ` aria-sort="${descending ? 'descending' : 'ascending'}"` : '';
    return `<th scope="col"${aria}><a href="${link(query, { sort: column.id, dir })}">${esc(column.label)}${active ? (descending ? ' ▼' : ' ▲') : ''}</a></th>`;
  }).join('');
  const body = rows.slice(0, MAX_ROWS).map((row) => `<tr>${columns.map((column) => `<td data-col="${column.id}">${column.cell ? column.cell(row, query) : esc(String(column.value(row)))}</td>`).join('')}</tr>`).join('\n');
  const more = rows.length > MAX_ROWS ? `<p class="more">Showing ${MAX_ROWS} of ${rows.length}: filter to narrow.</p>` : '';
  return `<section aria-labelledby="${id}-title">
<h2 id="${id}-title">${esc(title)}</h2>
<div class="scroll"><table id="${id}">
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table></div>${more}
</section>`;
}

/** This page's URL with some query parameters changed (null: removed). */
function link(query: URLSearchParams, changes: Record<string, string | null>): string {
  const next = new URLSearchParams(query);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) next.delete(key);
    else next.set(key, value);
  }
  const text = next.toString();
  return esc(`${MACHINES_PATH}${text ? `?${text}` : ''}`);
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.4; }
body { margin: 0 auto; max-width: 80rem; padding: 0.5rem 1rem 2rem; }
h1 { margin: 0.5rem 0 0; font-size: 1.6rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 0.5rem; }
code { font-size: 0.9em; overflow-wrap: anywhere; }
a { color: LinkText; }
.flags ul { list-style: none; padding: 0; margin: 0; display: grid; gap: 0.4rem; }
.flags li { padding: 0.5rem 0.75rem; border-radius: 0.4rem; border-left: 0.35rem solid; }
.flags li.bad { border-color: #c62828; background: color-mix(in srgb, #c62828 12%, Canvas); }
.flags li.ok { border-color: #2e7d32; background: color-mix(in srgb, #2e7d32 10%, Canvas); }
.flags strong { font-size: 1.1em; }
.flags a { white-space: nowrap; }
form { margin: 1.25rem 0 0; display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
form label { font-weight: 600; width: 100%; }
input[type=search] { flex: 1 1 16rem; font-size: 1rem; padding: 0.45rem 0.6rem; }
button { font-size: 1rem; padding: 0.45rem 1rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid color-mix(in srgb, CanvasText 15%, Canvas); white-space: nowrap; }
th a { text-decoration: none; color: inherit; }
th[aria-sort] { background: color-mix(in srgb, CanvasText 8%, Canvas); }
tbody tr:nth-child(even) { background: color-mix(in srgb, CanvasText 4%, Canvas); }
.flag { display: inline-block; padding: 0 0.4rem; border-radius: 0.3rem; font-size: 0.8rem; font-weight: 600; color: #fff; }
.flag.loop { background: #c62828; }
.flag.unknown { background: #8e24aa; }
.flag.no-os-config { background: #ef6c00; }
.detail { border: 1px solid color-mix(in srgb, CanvasText 25%, Canvas); border-radius: 0.4rem; padding: 0 1rem 0.5rem; margin-top: 1rem; }
.detail dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; }
.detail dt { font-weight: 600; }
.detail dd { margin: 0; overflow-wrap: anywhere; }
.more { font-style: italic; }
@media (max-width: 40rem) { .detail dl { grid-template-columns: 1fr; } .detail dd { margin-bottom: 0.4rem; } }
`;
