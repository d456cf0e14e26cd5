// The real matchbox v0.9.0 as a test peer: the judge of what a Go template renders and of what
// a matchbox data directory answers. It lives beside the repository (../shared/peers/, as CI
// clones it); tests skip without it, but fail under CI=true.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { ROOT, get, tempDir } from './helpers.js';
import { freePort } from './conformance/nginx.js';

export const MATCHBOX = join(ROOT, '../shared/peers/matchbox-v0.9.0');
export const MATCHBOX_EXAMPLES = join(ROOT, '../shared/peers/matchbox-v0.9.0-examples');

/** Skip reason for node:test, or false when matchbox is here (or CI insists on it). */
export function skipWithoutMatchbox(): string | false {
  if (existsSync(MATCHBOX) || process.env.CI === 'true') return false;
  return `matchbox v0.9.0 not found at ${MATCHBOX}`;
}

export interface Matchbox {
  url: string;
  stderr(): string;
  stop(): Promise<void>;
}

const running: Matchbox[] = [];
after(async () => {
  for (const matchbox of running.splice(0)) await matchbox.stop();
});

/** Starts matchbox on a free 127.0.0.1 port serving `dataPath`; resolves once it answers. */
export async function startMatchbox(dataPath: string): Promise<Matchbox> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const matchbox = await tryStart(dataPath, port);
    if (matchbox) return matchbox;
    if (attempt === 4) throw new Error('matchbox did not start on any of 5 free ports');
  }
}

async function tryStart(dataPath: string, port: number): Promise<Matchbox | undefined> {
  const assets = await tempDir('matchbox-assets-');
  const child = spawn(MATCHBOX, [`-address=127.0.0.1:${port}`, `-data-path=${dataPath}`, `-assets-path=${assets}`, '-log-level=debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const matchbox: Matchbox = {
    url: `http://127.0.0.1:${port}`,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) return undefined; // port taken meanwhile: try another
    const answer = await get(matchbox.url, '/').catch(() => undefined);
    if (answer?.body.startsWith('matchbox')) {
      running.push(matchbox);
      return matchbox;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await matchbox.stop();
  throw new Error(`matchbox did not answer:\n${stderr}`);
}
