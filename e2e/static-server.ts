// The plain static servers the published tree (`bootcfg publish`, docs/e2e.md "Static
// publishing") is booted from: stock programs that know nothing of bootcfg, pointed at the
// published folder and nothing else. busybox httpd (busybox-static, already on every e2e machine)
// for the boot matrix; a stock nginx with a bare `root` for the rollback case (nginx.ts). Their
// request logs are read into the AccessLog shape the checks use.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AccessLog } from './access-log.js';
import { stop } from './netns.js';
import { canConnect, startNginxBlock } from './nginx.js';
import { freePort } from '../test/conformance/nginx.js';
import type { RunningServer } from './servers.js';

export type StaticKind = 'busybox' | 'nginx-root';

/**
 * busybox httpd -vv logs two lines per request on stderr, `<peer>: url:<path>` then
 * `<peer>: response:<status>`; each peer (one `busybox nc` per guest connection) is one request.
 * They become JSON lines of access-log.ts's shape, so one AccessLog reads every server.
 */
export class BusyboxLog {
  private readonly pending = new Map<string, string>();
  private partial = '';

  constructor(readonly log: AccessLog) {}

  write(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.line(line);
  }

  /** Requests that never got a response line (the connection died) are logged with status 0. */
  flush(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
    for (const [peer, url] of this.pending) this.log.add(JSON.stringify({ method: 'GET', path: url, status: 0, peer }));
    this.pending.clear();
  }

  private line(line: string): void {
    const m = /^(\S+): (url|response):(.*)$/.exec(line.trim());
    if (!m) return;
    const [, peer = '', what, value = ''] = m;
    if (what === 'url') {
      this.pending.set(peer, value);
      return;
    }
    const url = this.pending.get(peer);
    if (url === undefined) return;
    this.pending.delete(peer);
    this.log.add(JSON.stringify({ method: 'GET', path: url, status: Number(value), peer }));
  }
}

/**
 * `busybox httpd -f -vv -p 127.0.0.1:PORT -h ROOT`, with an empty config file of its own so a
 * host's /etc/httpd.conf cannot change what it serves. A port picked now may be taken before
 * httpd binds it: a few tries.
 */
export async function startBusyboxHttpd(root: string): Promise<RunningServer> {
  const confDir = await mkdtemp(join(tmpdir(), 'bootcfg-e2e-httpd-'));
  const conf = join(confDir, 'httpd.conf');
  await writeFile(conf, '');
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const child = spawn('busybox', ['httpd', '-f', '-vv', '-p', `127.0.0.1:${port}`, '-h', root, '-c', conf], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const log = new AccessLog();
    const parser = new BusyboxLog(log);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      parser.write(c);
    });
    let gone = false;
    child.once('exit', () => (gone = true));
    // Bounded: 200 × 50 ms.
    for (let i = 0; i < 200 && !gone && !(await canConnect(port)); i++) await sleep(50);
    if (gone || child.exitCode !== null) {
      if (attempt < 3 && /in use/i.test(stderr)) continue;
      await rm(confDir, { recursive: true, force: true });
      throw new Error(`busybox httpd did not start:\n${stderr}`);
    }
    let closing: Promise<void> | undefined;
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      log,
      stderr: () => stderr,
      close: () =>
        (closing ??= (async () => {
          await stop(child);
          parser.flush();
          await rm(confDir, { recursive: true, force: true });
        })()),
    };
  }
  throw new Error('busybox httpd did not start: no free port');
}

/** Stock nginx: a server block with a listen and a `root`, nothing of bootcfg's block. */
export function startNginxRoot(root: string): Promise<RunningServer> {
  return startNginxBlock((listen) => `server {\n    listen ${listen};\n    root ${root};\n}\n`);
}

export function startStatic(kind: StaticKind, root: string): Promise<RunningServer> {
  return kind === 'nginx-root' ? startNginxRoot(root) : startBusyboxHttpd(root);
}
