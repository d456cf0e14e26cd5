// What one changed seed file (boot/ or cloud/ by uuid, mac or default) or group
// (groups/<id>.json) compiles to, on its own: the planned answers it owns, its warnings, or its
// problems. An incremental build (src/build/incremental.ts) swaps these for the file's previous
// answers instead of compiling the whole data directory again; it checks what only the whole
// can tell (collisions, shapes, ties, a profile coming into use or out of it) itself. Pure: the
// same load and resolve as a full build, over one file and the profiles and data templates
// around it (a group's answers depend on its profile and that profile's templates). A changed
// profile or data template is compiled through the groups it reaches (reachedProfiles).

import type { LoadError } from './errors.js';
import type { Group } from './groups.js';
import { load, type Model, type SourceFiles } from './load.js';
import { SEED_NAMES, TEMPLATE_FIELDS, type Profile } from './profiles.js';
import { profileWarnings, resolve, type Plan } from './resolve.js';
import type { TemplateSource } from './templates.js';

/** A seed file: its answers depend on nothing but itself and the iPXE templates. */
export function isSeedFile(file: string): boolean {
  const [root, name] = file.split('/');
  return root === 'boot' || (root === 'cloud' && (SEED_NAMES as readonly string[]).includes(name!));
}

/** A group: its answers depend on itself, its profile, the profile's templates and the iPXE templates. */
export function isGroupFile(file: string): boolean {
  const parts = file.split('/');
  return parts.length === 2 && parts[0] === 'groups';
}

/** A profile or a data template: its change reaches every group whose profile it is or names it. */
export function isSurroundingFile(file: string): boolean {
  const parts = file.split('/');
  const [root, name] = parts;
  return (root === 'profiles' && parts.length === 2) || root === 'generic' || root === 'ignition' || (root === 'cloud' && !(SEED_NAMES as readonly string[]).includes(name!));
}

/** What a changed file is compiled against: the profiles (by id) and data templates, as of this change. */
export interface Surroundings {
  profiles: ReadonlyMap<string, Profile>;
  dataTemplates: ReadonlyMap<string, TemplateSource>;
}

/** Profile files parsed as a full build parses them: the profiles by id, or their problems. */
export function loadProfiles(files: SourceFiles, templateNames: readonly string[]): { profiles: Map<string, Profile>; errors: LoadError[] } {
  if (files.size === 0) return { profiles: new Map(), errors: [] }; // (a seed layout: load would say the directory is empty)
  const { model, errors } = load(files, templateNames);
  return { profiles: model.profiles, errors };
}

/**
 * The ids of the profiles a change to these profiles and data templates reaches: the changed
 * profiles, and every profile (as changed) that names a changed template.
 */
export function reachedProfiles(changed: Iterable<string>, profiles: ReadonlyMap<string, Profile>): Set<string> {
  const files = new Set(changed);
  const ids = new Set<string>();
  for (const profile of profiles.values()) {
    if (files.has(profile.file) || TEMPLATE_FIELDS.some(({ key }) => profile[key] && files.has(profile[key]!.path))) ids.add(profile.id);
  }
  return ids;
}

export interface PlannedFiles {
  /** Each file's planned answers, sorted by path (none for a file that is gone). */
  plans: Map<string, Plan>;
  /** Each group file's group, or undefined where the file is gone. */
  groups: Map<string, Group | undefined>;
  /** The warnings about these files themselves (none about the profiles and templates around them). */
  warnings: LoadError[];
  errors: LoadError[];
}

/** The warnings about these changed profiles and data templates themselves, given the profiles groups use. */
export function surroundingWarnings(changed: ReadonlySet<string>, around: Surroundings, used: ReadonlySet<string>): LoadError[] {
  if (changed.size === 0) return [];
  const model: Model = { boot: [], cloud: [], templates: new Map(), profiles: new Map(around.profiles), groups: [], dataTemplates: new Map(around.dataTemplates), localFiles: new Map() };
  return profileWarnings(model, used).filter((warning) => changed.has(warning.file!));
}

/** Each changed seed file's or group's planned answers, or every problem the files have. */
export function planFiles(files: SourceFiles, templateNames: readonly string[], around: Surroundings): PlannedFiles {
  const planned: PlannedFiles = { plans: new Map(), groups: new Map(), warnings: [], errors: [] };
  const plan = filePlanner(templateNames, around, planned);
  for (const [file, content] of files) plan(file, content);
  return planned;
}

/**
 * planFiles a file at a time, into `planned`: for a caller that lets other work run between
 * files (serve --watch answering requests while a profile's edit plans its 25k groups again).
 * Each file is planned on its own, so any split plans what one call does.
 */
export function filePlanner(templateNames: readonly string[], around: Surroundings, planned: PlannedFiles): (file: string, content: Buffer) => void {
  const profiles = new Map(around.profiles);
  const dataTemplates = new Map(around.dataTemplates);
  return (file, content) => {
    const loaded = load(new Map([[file, content]]), templateNames);
    const model: Model = { ...loaded.model, profiles, dataTemplates };
    const resolved = resolve(model, { aroundWarnings: false });
    planned.errors.push(...loaded.errors, ...resolved.errors);
    planned.warnings.push(...resolved.warnings.filter((warning) => warning.file === file));
    const plan: Plan = new Map();
    for (const [path, answer] of resolved.plan) if ('source' in answer && answer.source === file) plan.set(path, answer);
    planned.plans.set(file, plan);
    if (isGroupFile(file)) planned.groups.set(file, loaded.model.groups[0]);
  };
}
