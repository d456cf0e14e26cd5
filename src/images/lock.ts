// One fetch per release at a time. Two runs appending to the same partial file would spoil
// each other's download (the check would catch it, but only after the whole transfer), so
// a run holds a lock file naming its pid in the release's partial directory. A lock whose
// process is gone (killed, machine rebooted) is taken over.

import { randomBytes } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SourceError } from '../compile/errors.js';

const LOCK = '.lock';

/** Takes the lock in `partialDir`; returns a function that releases it. */
export async function lockRelease(partialDir: string, what: string): Promise<() => Promise<void>> {
  const path = join(partialDir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await createWithContent(path, `${process.pid}\n`);
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (alive(holder)) {
        throw new SourceError(`another bootcfg (pid ${holder}) is fetching ${what}`, {
          file: path,
          hint: 'wait for it to finish; if no such process is running, delete the lock file',
        });
      }
      await rm(path, { force: true }); // stale: its process is gone
    }
  }
  throw new SourceError(`cannot take the lock for ${what}`, { file: path, hint: 'delete the lock file and rerun' });
}

/**
 * Creates `path` holding `content`, or fails with EEXIST: written beside it, then hard-linked
 * into place, so nobody ever reads the lock empty and takes a live holder for a stale one.
 */
async function createWithContent(path: string, content: string): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(temp, content);
  try {
    await link(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}
