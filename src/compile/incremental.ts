// What one changed seed file (boot/ or cloud/ by uuid, mac or default) compiles to, on its own:
// the planned answers it owns, or its problems. An incremental build (src/build/incremental.ts)
// swaps these for the file's previous answers instead of compiling the whole data directory
// again; it checks what only the whole can tell (collisions, shapes, ties) itself. Pure: the
// same load and resolve as a full build, over one file.

import type { LoadError } from './errors.js';
import { load, type SourceFiles } from './load.js';
import { SEED_NAMES } from './profiles.js';
import { resolve, type Plan } from './resolve.js';

/** A seed file: its answers depend on nothing but itself and the iPXE templates. */
export function isSeedFile(file: string): boolean {
  const [root, name] = file.split('/');
  return root === 'boot' || (root === 'cloud' && (SEED_NAMES as readonly string[]).includes(name!));
}

/** Each seed file's planned answers (sorted by path), or every problem the files have. */
export function planSeedFiles(files: SourceFiles, templateNames: readonly string[]): { plans: Map<string, Plan>; errors: LoadError[] } {
  const plans = new Map<string, Plan>();
  const errors: LoadError[] = [];
  for (const [file, content] of files) {
    const loaded = load(new Map([[file, content]]), templateNames);
    const resolved = resolve(loaded.model);
    errors.push(...loaded.errors, ...resolved.errors);
    const plan: Plan = new Map();
    for (const [path, planned] of resolved.plan) if ('source' in planned && planned.source === file) plan.set(path, planned);
    plans.set(file, plan);
  }
  return { plans, errors };
}
