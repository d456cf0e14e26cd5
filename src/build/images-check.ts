// `--images-path` for build and validate: every kernel and initrd a boot config or profile names
// under /images/ must be a regular file in the images directory, or machines would get a 404
// at boot. Reads the disk (stat only), so it lives beside the build rather than in compile/.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LoadError } from '../compile/errors.js';
import type { BootConfig, Model } from '../compile/load.js';
import { mapLimit } from './pool.js';

export async function checkImages(model: Model, imagesPath: string): Promise<LoadError[]> {
  const info = await stat(imagesPath).catch(() => undefined);
  if (!info?.isDirectory()) {
    return [new LoadError(`images directory ${imagesPath} does not exist or is not a directory`, { hint: 'pass --images-path DIR, the directory bootcfg serve answers /images/ from' })];
  }
  const uses: Array<{ file: string; boot: BootConfig }> = [
    ...model.boot.map((entry) => ({ file: entry.file, boot: entry.value })),
    ...[...model.profiles.values()].map((profile) => ({ file: profile.file, boot: profile.boot })),
  ];
  const wanted = [...new Set(uses.flatMap(({ boot }) => (boot.images ?? []).map((ref) => ref.file)))];
  const present = new Set<string>();
  await mapLimit(wanted, 16, async (file) => {
    if ((await stat(join(imagesPath, file)).catch(() => undefined))?.isFile()) present.add(file);
  });
  const errors: LoadError[] = [];
  for (const { file, boot } of uses) {
    for (const ref of boot.images ?? []) {
      if (present.has(ref.file)) continue;
      errors.push(new LoadError(`/images/${ref.file} is not a file in ${imagesPath}`, { file, line: ref.line, column: ref.column, hint: 'fetch it (bootcfg images fetch …) or correct the path; machines would get a 404 at boot' }));
    }
  }
  return errors;
}
