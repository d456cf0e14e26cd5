// Hand-made dist trees laid out exactly as docs/dist-layout.md says, so the servers can be
// tested on the contract alone: snapshots under revs/, `current` swapped by one rename.
// publish() is how the conformance suite "rebuilds" under load without depending on the
// compiler; it follows the same steps as src/build/write.ts (stage, rename, swap the symlink).

import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { distFile } from '../../src/compile/shapes.js';

/** dist-relative path → contents, REVISION and manifest.json excluded (publish adds them). */
export type Tree = ReadonlyMap<string, string | Buffer>;

export interface Site {
  root: string;
  distPath: string;
  imagesPath: string;
  remove(): Promise<void>;
}

/** The images' modification time (seconds), so that their ETags and dates are known to the cases. */
export const IMAGE_MTIME = Date.UTC(2015, 11, 29) / 1000;

/** A temp dir with an empty dist/ and an images/ holding `images`, all modified at IMAGE_MTIME. */
export async function makeSite(images: Tree): Promise<Site> {
  const root = await mkdtemp(join(tmpdir(), 'bootcfg-site-'));
  const distPath = join(root, 'dist');
  const imagesPath = join(root, 'images');
  await mkdir(join(distPath, 'revs'), { recursive: true });
  await mkdir(imagesPath, { recursive: true });
  await writeTree(imagesPath, images);
  for (const path of images.keys()) if (!path.endsWith('/')) await utimes(join(imagesPath, path), IMAGE_MTIME, IMAGE_MTIME);
  return { root, distPath, imagesPath, remove: () => rm(root, { recursive: true, force: true }) };
}

/** Writes `tree` as a new snapshot revs/<revision> and points current at it atomically. */
export async function publish(distPath: string, revision: string, tree: Tree): Promise<void> {
  const snapshot = join(distPath, 'revs', revision);
  const staging = join(distPath, 'revs', `.staging-${randomBytes(6).toString('hex')}`);
  const files = new Map(tree);
  files.set('REVISION', `${revision}\n`);
  files.set('manifest.json', `${JSON.stringify({ revision, source: 'test fixture', files: {} })}\n`);
  await writeTree(staging, files);
  await rm(snapshot, { recursive: true, force: true });
  await rename(staging, snapshot);
  const link = join(distPath, `.current-${randomBytes(6).toString('hex')}`);
  await symlink(join('revs', revision), link);
  await rename(link, join(distPath, 'current'));
}

/** Each answer path's file where dist keeps it (`ipxe/uuid/<xx>/<uuid>`: distFile). */
async function writeTree(root: string, tree: Tree): Promise<void> {
  for (const [answer, content] of tree) {
    const path = distFile(answer);
    await mkdir(dirname(join(root, path)), { recursive: true });
    if (path.endsWith('/')) continue; // a directory on its own
    await writeFile(join(root, path), content);
  }
}
