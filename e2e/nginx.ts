// nginx serving dist/ with the server block `bootcfg nginx` generates (src/serve/nginx.ts), for the e2e
// boots. Unlike the conformance helper (test/conformance/nginx.ts, whose nginx.conf turns the
// access log off) it keeps an access log, as JSON lines in the shape access-log.ts reads,
// because every boot is checked from its request log.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AccessLog } from './access-log.js';
import { nginxConfig } from '../src/serve/nginx.js';
import { liveShapes } from '../src/serve/server.js';
import { freePort, nginxBinary } from '../test/conformance/nginx.js';
import type { RunningServer } from './servers.js';

/** Why nginx boots cannot run here, or undefined when they can. */
export function nginxSkipReason(): string | undefined {
  return nginxBinary() ? undefined : 'nginx is not installed: run make deps-e2e';
}

/** The smallest nginx.conf around the generated block; everything nginx writes stays in prefix. */
function mainConfig(prefix: string): string {
  // As root, nginx would switch workers to "nobody", who cannot read the suite's temp dirs.
  const user = process.getuid?.() === 0 ? 'user root root;\n' : '';
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((n) => `    ${n}_temp_path ${prefix}/${n}_temp;`).join('\n');
  return `${user}daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log notice;
events { worker_connections 64; }
http {
    log_format e2e escape=json '{"method":"$request_method","path":"$request_uri","status":$status,"file":"$request_filename","revision":"$sent_http_x_bootcfg_revision"}';
    access_log ${prefix}/access.log e2e;
${temp}
    include ${prefix}/bootcfg.conf;
}
`;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((done) => {
    const sock = connect(port, '127.0.0.1', () => {
      sock.destroy();
      done(true);
    });
    sock.on('error', () => done(false));
  });
}

export async function startNginx(distPath: string, imagesPath: string): Promise<RunningServer> {
  const reason = nginxSkipReason();
  if (reason) throw new Error(reason);
  const binary = nginxBinary()!;
  const prefix = await mkdtemp(join(tmpdir(), 'bootcfg-e2e-nginx-'));
  // A port picked now may be taken before nginx binds it: a few tries.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    // For the live build's selector shapes, as `bootcfg nginx` generates it (docs/nginx.md).
    await writeFile(join(prefix, 'bootcfg.conf'), nginxConfig({ distPath, imagesPath, listen: `127.0.0.1:${port}`, shapes: await liveShapes(distPath) }));
    await writeFile(join(prefix, 'nginx.conf'), mainConfig(prefix));
    const child = spawn(binary, ['-p', `${prefix}/`, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    let gone = false;
    void exited.then(() => (gone = true));
    for (let i = 0; i < 200 && !gone && !(await canConnect(port)); i++) await sleep(50);
    const errorLog = async (): Promise<string> => stderr + (await readFile(join(prefix, 'error.log'), 'utf8').catch(() => ''));
    if (gone) {
      if (attempt < 3 && /Address already in use/.test(await errorLog())) continue;
      const log = await errorLog();
      await rm(prefix, { recursive: true, force: true });
      throw new Error(`nginx did not start:\n${log}`);
    }
    const log = new AccessLog();
    let errors = '';
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      log,
      stderr: () => errors,
      close: async () => {
        if (!gone) {
          child.kill('SIGTERM'); // nginx's fast shutdown; the access log is written per request
          await exited;
        }
        for (const line of (await readFile(join(prefix, 'access.log'), 'utf8').catch(() => '')).split('\n')) log.add(line);
        errors = await errorLog();
        await rm(prefix, { recursive: true, force: true });
      },
    };
  }
  throw new Error('nginx did not start: no free port');
}
