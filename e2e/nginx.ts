// nginx serving dist/ with the server block `bootcfg nginx` generates (src/serve/nginx.ts), for the e2e
// boots. Unlike the conformance helper (test/conformance/nginx.ts, whose nginx.conf turns the
// access log off) it keeps an access log, as JSON lines in the shape access-log.ts reads,
// because every boot is checked from its request log. It runs on 127.0.0.1 (the user-network
// cases) or inside a network-path segment's namespace on the bridge address (netpath.test.ts).
// The static-publishing cases run it with a bare `root` block instead (static-server.ts).
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
import type { Segment } from './netns.js';
import type { RunningServer } from './servers.js';

/** Why nginx boots cannot run here, or undefined when they can. */
export function nginxSkipReason(): string | undefined {
  return nginxBinary() ? undefined : 'nginx is not installed: run make deps-e2e';
}

/** A node:test `skip` for an nginx case: without nginx it skips locally; under CI=true it runs, and fails. */
export function nginxSkip(): string | false {
  const reason = nginxSkipReason();
  return reason && !process.env.CI ? `${reason} (under CI=true this fails instead)` : false;
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
    include ${prefix}/server.conf;
}
`;
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((done) => {
    const sock = connect(port, '127.0.0.1', () => {
      sock.destroy();
      done(true);
    });
    sock.on('error', () => done(false));
  });
}

/**
 * Resolves true once nginx has bound its socket: on 127.0.0.1 by connecting; inside a namespace,
 * which this process cannot reach, by its error log (nginx binds before it starts its worker).
 */
function bound(port: number, prefix: string, inside: boolean): Promise<boolean> {
  if (!inside) return canConnect(port);
  return readFile(join(prefix, 'error.log'), 'utf8').then((l) => l.includes('start worker process'), () => false);
}

/** On 127.0.0.1 at a free port, or inside a segment's namespace at `address` (netns.ts). */
export function startNginx(distPath: string, imagesPath: string, on?: { segment: Segment; address: string }): Promise<RunningServer> {
  // For the live build's selector shapes, as `bootcfg nginx` generates it (docs/nginx.md).
  return startNginxBlock(async (listen) => nginxConfig({ distPath, imagesPath, listen, shapes: await liveShapes(distPath) }), on);
}

/** nginx around any server block (`block(listen)`): the generated one, or a bare `root` (static-server.ts). */
export async function startNginxBlock(
  block: (listen: string) => string | Promise<string>,
  on?: { segment: Segment; address: string },
): Promise<RunningServer> {
  const reason = nginxSkipReason();
  if (reason) throw new Error(reason);
  const binary = nginxBinary()!;
  const prefix = await mkdtemp(join(tmpdir(), 'bootcfg-e2e-nginx-'));
  // A port picked now may be taken before nginx binds it: a few tries (a namespace's is its own).
  for (let attempt = 1; attempt <= 3; attempt++) {
    const listen = on?.address ?? `127.0.0.1:${await freePort()}`;
    const port = Number(listen.split(':').pop());
    await writeFile(join(prefix, 'server.conf'), await block(listen));
    await writeFile(join(prefix, 'nginx.conf'), mainConfig(prefix));
    const args = ['-p', `${prefix}/`, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')];
    const child = on ? on.segment.spawn(binary, args) : spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    let gone = false;
    void exited.then(() => (gone = true));
    for (let i = 0; i < 200 && !gone && !(await bound(port, prefix, Boolean(on))); i++) await sleep(50);
    const errorLog = async (): Promise<string> => stderr + (await readFile(join(prefix, 'error.log'), 'utf8').catch(() => ''));
    if (gone) {
      if (attempt < 3 && !on && /Address already in use/.test(await errorLog())) continue;
      const log = await errorLog();
      await rm(prefix, { recursive: true, force: true });
      throw new Error(`nginx did not start:\n${log}`);
    }
    const log = new AccessLog();
    let errors = '';
    let closing: Promise<void> | undefined;
    return {
      url: `http://${listen}`,
      port,
      log,
      stderr: () => errors,
      // Once only: a case's finally closes again what its success path closed to read the log.
      close: () =>
        (closing ??= (async () => {
          if (!gone) {
            child.kill('SIGTERM'); // by pid; nginx's fast shutdown; the access log is written per request
            await exited;
          }
          for (const line of (await readFile(join(prefix, 'access.log'), 'utf8').catch(() => '')).split('\n')) log.add(line);
          errors = await errorLog();
          await rm(prefix, { recursive: true, force: true });
        })()),
    };
  }
  throw new Error('nginx did not start: no free port');
}
