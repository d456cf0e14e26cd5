// serve --repo's full export (export.ts: a commit's whole tree, 200k files at 100k machines) in
// a child process. Listing and streaming a tree that size grew serve's heap to ~0.5 GB, and a
// Node process keeps most of what it grew to: serve --repo sat at ~540 MB after its first sync,
// where serve --watch of the same fleet sits at ~310 MB. The child runs git in the same mirror
// with the same config (fetch.ts: spawnGit), writes the tree exactly as export.ts does, answers
// with the symlink count or the error (of the same kinds, with their paths), and exits.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SourceError } from '../compile/errors.js';
import { fromSent, toSent, type SentError } from '../build/child.js';
import { exportTree } from './export.js';
import { spawnGit } from './fetch.js';

/** What the child is asked: export `commit` of the mirror at `gitDir` into the empty `dir`. */
interface Asked {
  gitDir: string;
  commit: string;
  dir: string;
  roots: string[];
}

type Reply = { ok: true; links: number } | { ok: false; error: SentError };

const MAIN = fileURLToPath(new URL('./export-child-main.js', import.meta.url));

/** exportTree in a child process; the signal kills it (the caller removes the half-written dir). */
export function exportTreeInChild(gitDir: string, commit: string, dir: string, roots: readonly string[], signal?: AbortSignal): Promise<{ links: number }> {
  if (signal?.aborted) return Promise.reject(stopped());
  return new Promise((resolve, reject) => {
    const child = fork(MAIN, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let reply: Reply | undefined;
    const stop = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', stop, { once: true });
    child.once('message', (message) => {
      reply = message as Reply;
      if (reply.ok) resolve({ links: reply.links });
      else reject(fromSent(reply.error));
    });
    child.once('error', (error) => reject(error));
    child.once('exit', (code, by) => {
      signal?.removeEventListener('abort', stop);
      if (reply) return;
      reject(signal?.aborted ? stopped() : new SourceError(`the export process ended (${by ?? `exit ${code}`}) before it answered`, { hint: 'see its output above; the last good build is still live' }));
    });
    child.send({ gitDir, commit, dir, roots: [...roots] } satisfies Asked);
  });
}

/** The child's side: one export as asked, one reply, then exit. A parent gone first ends it. */
export function runExportChild(): void {
  let replied = false;
  process.once('disconnect', () => {
    if (!replied) process.kill(process.pid, 'SIGTERM');
  });
  process.once('message', ({ gitDir, commit, dir, roots }: Asked) => {
    void exportTree(spawnGit(gitDir), commit, dir, roots).then(
      ({ links }) => reply({ ok: true, links }),
      (error: unknown) => reply({ ok: false, error: toSent(error) }),
    );
  });
  function reply(message: Reply): void {
    replied = true;
    process.send!(message, () => process.disconnect());
  }
}

function stopped(): SourceError {
  return new SourceError('export stopped: bootcfg is shutting down', { hint: 'the last good build stays live' });
}
