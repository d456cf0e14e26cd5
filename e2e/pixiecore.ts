// Stands in for Pixiecore in API mode, as its source (google/netboot, pixiecore/booters.go and
// http.go) does it, so a VM can boot through bootcfg's Pixiecore answer:
// - it asks GET <api>/v1/boot/<mac> (Go's MAC spelling, lowercase with colons), with
//   <api> = bootcfg's URL + "/pixiecore"; a non-200 answer means no boot;
// - it resolves relative kernel/initrd URLs against "<api>/v1" (Go's URL.ResolveReference),
//   fetches them itself and hands them to iPXE as /_/file?name=<id>;
// - it passes a string cmdline through; an object becomes sorted `key="value"` (Go's %q),
//   `key` for true, and `key=<file URL>` for {"url": …};
// - it sends iPXE the script ipxeScript() builds, naming the initrds initrd0… so the kernel's
//   arguments start with initrd=initrd0.
// What the real Pixiecore adds around this (DHCP, TFTP, signed IDs) is not what bootcfg answers.
import { get, createServer, type IncomingMessage } from 'node:http';
import { AccessLog, queryOf } from './access-log.js';
import type { RunningServer } from './servers.js';

export interface PixiecoreSpec {
  kernel: string;
  initrd: string[];
  /** Kernel arguments with file URLs replaced by /_/file URLs, ready for the script. */
  cmdline: string;
}

/** Go's url.QueryEscape, for the characters a MAC or our IDs hold. */
function queryEscape(s: string): string {
  return encodeURIComponent(s).replaceAll('%20', '+');
}

function fileId(url: string): string {
  return Buffer.from(url).toString('base64url');
}

function fileUrl(host: string, id: string): string {
  return `http://${host}/_/file?name=${queryEscape(id)}`;
}

/** The Pixiecore API answer (parsed JSON) as Pixiecore turns it into a boot spec. */
export function bootSpec(api: string, answer: unknown, host: string): PixiecoreSpec {
  const a = answer as { kernel?: unknown; initrd?: unknown; cmdline?: unknown };
  if (typeof a.kernel !== 'string' || !a.kernel) throw new Error('Pixiecore API answer has no kernel');
  const initrd = a.initrd === undefined || a.initrd === null ? [] : a.initrd;
  if (!Array.isArray(initrd) || !initrd.every((i) => typeof i === 'string')) {
    throw new Error('Pixiecore API answer: initrd is not a list of strings');
  }
  const base = `${api.replace(/\/$/, '')}/v1`;
  const absolute = (u: string): string => new URL(u, base).toString();
  return { kernel: absolute(a.kernel), initrd: initrd.map(absolute), cmdline: cmdlineOf(a.cmdline, absolute, host) };
}

function cmdlineOf(c: unknown, absolute: (u: string) => string, host: string): string {
  if (c === undefined || c === null) return '';
  if (typeof c === 'string') {
    // Pixiecore runs a string through Go's text/template; our data never uses {{ }}.
    if (c.includes('{{')) throw new Error('cmdline templates ({{ URL … }}) are not emulated');
    return c;
  }
  if (typeof c !== 'object' || Array.isArray(c)) throw new Error(`unknown type for kernel cmdline: ${typeof c}`);
  const o = c as Record<string, unknown>;
  return Object.keys(o)
    .sort()
    .map((k) => {
      const v = o[k];
      if (v === true) return k;
      // Go's %q and JSON agree on printable ASCII, all our data holds.
      if (typeof v === 'string') return `${k}=${JSON.stringify(v)}`;
      const url = (v as { url?: unknown } | null)?.url;
      if (typeof url === 'string') return `${k}=${fileUrl(host, fileId(absolute(url)))}`;
      throw new Error(`unsupported value for cmdline key ${k}`);
    })
    .join(' ');
}

/** The iPXE script Pixiecore's /_/ipxe sends for this spec. */
export function ipxeScript(spec: PixiecoreSpec, mac: string, host: string): string {
  const m = queryEscape(mac);
  const file = (u: string, type: string): string => `${fileUrl(host, fileId(u))}&type=${type}&mac=${m}`;
  let s = '#!ipxe\n';
  s += `kernel --name kernel ${file(spec.kernel, 'kernel')}\n`;
  spec.initrd.forEach((u, i) => (s += `initrd --name initrd${i} ${file(u, 'initrd')}\n`));
  s += `imgfetch --name ready http://${host}/_/booting?mac=${m} ||\n`;
  s += 'imgfree ready ||\n';
  s += `boot kernel ${spec.initrd.map((_, i) => `initrd=initrd${i} `).join('')}${spec.cmdline}\n`;
  return s;
}

function fetchFrom(url: string): Promise<IncomingMessage> {
  return new Promise((done, fail) => get(url, done).on('error', fail));
}

async function fetchJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetchFrom(url);
  let text = '';
  for await (const c of res) text += String(c);
  return { status: res.statusCode ?? 0, body: res.statusCode === 200 ? JSON.parse(text) : text };
}

export interface PixiecoreServer extends RunningServer {
  /** The scripts it sent, by MAC, for the assertions. */
  scripts: Map<string, string>;
}

/** Pixiecore's HTTP side, asking the API at `api` (e.g. http://127.0.0.1:PORT/pixiecore). */
export async function startPixiecore(api: string): Promise<PixiecoreServer> {
  const log = new AccessLog();
  const scripts = new Map<string, string>();
  const server = createServer(async (req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0];
    const q = queryOf(url);
    const answer = (status: number, body: string | IncomingMessage, headers: Record<string, string> = {}): void => {
      log.add(JSON.stringify({ method: req.method, url, status }));
      res.writeHead(status, headers);
      if (typeof body === 'string') res.end(body);
      else body.pipe(res);
    };
    try {
      if (path === '/_/ipxe') {
        const mac = decodeURIComponent(q.get('mac') ?? '').toLowerCase();
        if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac) || !q.get('arch')) return answer(400, 'bad request\n');
        const api_ = await fetchJson(`${api}/v1/boot/${mac}`);
        if (api_.status !== 200) return answer(500, "couldn't get a bootspec\n");
        const host = req.headers.host ?? '';
        const script = ipxeScript(bootSpec(api, api_.body, host), mac, host);
        scripts.set(mac, script);
        return answer(200, script, { 'Content-Type': 'text/plain' });
      }
      if (path === '/_/file') {
        const target = Buffer.from(decodeURIComponent(q.get('name') ?? ''), 'base64url').toString();
        const upstream = await fetchFrom(target);
        if (upstream.statusCode !== 200) return answer(500, "couldn't get file\n");
        const len = upstream.headers['content-length'];
        return answer(200, upstream, len ? { 'Content-Length': len } : {});
      }
      if (path === '/_/booting') return answer(200, '# Booting');
      return answer(404, 'not found\n');
    } catch (e) {
      return answer(500, `${(e as Error).message}\n`);
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log,
    scripts,
    stderr: () => '',
    close: () => new Promise((done) => server.close(() => done())),
  };
}
