// TEMPORARY: a hand-written dist/ and a tiny static server standing in for `bootcfg build` and
// `bootcfg serve` until the core lands on main, so the QEMU machinery can be proven first.
// Selected with E2E_STUB=1. Delete once the real server passes the suite.
import { createReadStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { AccessLog, queryOf } from './access-log.js';
import { bootConfig, cloudConfig, hexhyp, machines, type Machine } from './machines.js';
import type { RunningServer } from './servers.js';

function ipxeScript(m: Machine): string {
  const b = bootConfig(m) as { kernel: string; initrd: string[]; cmdline: Record<string, string> };
  const args = Object.entries(b.cmdline).map(([k, v]) => (v === '' ? k : `${k}=${v}`));
  return `#!ipxe\nkernel ${b.kernel} ${args.join(' ')}\n${b.initrd.map((i) => `initrd ${i}\n`).join('')}boot\n`;
}

export async function stubBuild(distPath: string): Promise<void> {
  const cur = join(distPath, 'current');
  const put = async (rel: string, body: string): Promise<void> => {
    await mkdir(join(cur, rel, '..'), { recursive: true });
    await writeFile(join(cur, rel), body);
  };
  await put('boot.ipxe', '#!ipxe\nchain ipxe?uuid=${uuid}&mac=${net0/mac:hexhyp}\n');
  for (const m of machines) {
    const key = m.known === 'uuid' ? `uuid/${m.uuid}` : m.known === 'mac' ? `mac/${hexhyp(m.mac)}` : 'default';
    await put(`ipxe/${key}`, ipxeScript(m));
    await put(`cloud/${key}`, cloudConfig(m));
  }
}

export async function startStub(distPath: string, imagesPath: string): Promise<RunningServer> {
  const log = new AccessLog();
  const cur = join(distPath, 'current');
  const candidates = (area: string, url: string): string[] => {
    const q = queryOf(url);
    const uuid = q.get('uuid');
    const mac = q.get('mac')?.replaceAll('%3A', ':');
    return [uuid && `${area}/uuid/${uuid}`, mac && `${area}/mac/${hexhyp(mac)}`, `${area}/default`].filter(
      (c): c is string => !!c,
    );
  };
  const server = createServer(async (req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    let files: string[] = [];
    if (path === '/boot.ipxe') files = [join(cur, 'boot.ipxe')];
    else if (path === '/ipxe' || path === '/cloud') files = candidates(path.slice(1), url).map((c) => join(cur, c));
    else if (path.startsWith('/images/') && !path.includes('..')) files = [join(imagesPath, path.slice(8))];
    for (const file of files) {
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) continue;
      log.add(JSON.stringify({ method: req.method, url, status: 200, file }));
      res.writeHead(200, { 'Content-Length': st.size });
      createReadStream(file).pipe(res);
      return;
    }
    log.add(JSON.stringify({ method: req.method, url, status: 404 }));
    res.writeHead(404).end('not found\n');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log,
    stderr: () => '',
    close: () => new Promise((done) => server.close(() => done())),
  };
}
