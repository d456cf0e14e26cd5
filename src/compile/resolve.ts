// Stage 2, resolve: the loaded model → the plan of every output file and where its answer
// comes from. Every output path is known here, before anything is rendered or written, so two
// data files that name the same machine (say `mac/52:54:00:12:34:56` and
// `mac/52-54-00-12-34-56`) fail the build with both names instead of one silently winning.

import { LoadError } from './errors.js';
import type { BootConfig, Model, Sourced } from './load.js';
import { CHAIN_FILE, OUTPUT_KINDS } from './outputs.js';
import { shapeOf, shapePath } from './selectors.js';

export type PlannedFile =
  | { kind: 'chain' }
  | { kind: 'ipxe' | 'pixiecore'; source: string; boot: BootConfig }
  | { kind: 'cloud'; source: string; content: Buffer };

/** dist-relative path → what goes there, in a stable (sorted) order. */
export type Plan = Map<string, PlannedFile>;

export function resolve(model: Model): { plan: Plan; errors: LoadError[] } {
  const errors = [...findCollisions('boot', model.boot), ...findCollisions('cloud', model.cloud)];
  const plan: Plan = new Map([[CHAIN_FILE, { kind: 'chain' }]]);
  for (const kind of OUTPUT_KINDS) {
    const entries: Sourced<BootConfig | Buffer>[] = kind.from === 'boot' ? model.boot : model.cloud;
    for (const entry of entries) {
      const shape = shapeOf(entry.selector);
      if (!kind.shapes.some((s) => s.join() === shape.join())) continue;
      const path = `${kind.dir}/${shapePath(shape, entry.selector)}`;
      if (plan.has(path)) continue; // a collision, reported above
      plan.set(path, kind.from === 'cloud'
        ? { kind: 'cloud', source: entry.file, content: entry.value as Buffer }
        : { kind: kind.dir as 'ipxe' | 'pixiecore', source: entry.file, boot: entry.value as BootConfig });
    }
  }
  return { plan: new Map([...plan].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), errors };
}

function findCollisions(root: string, entries: readonly Sourced<unknown>[]): LoadError[] {
  const seen = new Map<string, string>();
  const errors: LoadError[] = [];
  for (const entry of entries) {
    const key = shapePath(shapeOf(entry.selector), entry.selector)!;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, entry.file);
    else {
      const [a, b] = [first, entry.file].sort();
      errors.push(new LoadError(`${a} and ${b} name the same machine (${root}/${key})`, { file: b, hint: 'keep one file per machine; MACs and UUIDs match in any case and spelling' }));
    }
  }
  return errors;
}
