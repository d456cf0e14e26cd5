// Stage 2, resolve: the loaded model → the plan of every output file and where its answer
// comes from. Every output path is known here, before anything is rendered or written, so two
// data files that name the same machine (say `mac/52:54:00:12:34:56` and
// `mac/52-54-00-12-34-56`, or a seed file and a group) fail the build with both names instead
// of one silently winning, and groups that one request could match with equally many keys
// fail with both names (matching.ts).
//
// A seed file compiles exactly like a group whose selector is {uuid: U}, {mac: M} or {}: both
// become answers under `<kind>/<shape-dir>/<values…>` (shapes.ts), one per value of each
// selector key, and the build lists its shapes in shapes.json for the servers.

import { LoadError } from './errors.js';
import { grubUnreachable } from './grub.js';
import { ignitionSourceKind } from './ignition.js';
import { answerData, templateContext, type Values } from './context.js';
import type { Group } from './groups.js';
import type { BootConfig, Model, Sourced } from './load.js';
import { findAmbiguities } from './matching.js';
import { metadataJson, metadataText } from './metadata.js';
import { CHAIN_FILE, KIND_DIRS } from './outputs.js';
import { closest } from './json.js';
import { TEMPLATE_FIELDS, type Profile } from './profiles.js';
import { shapeOf } from './selectors.js';
import { answerPath, shapeDir, shapesFiles, type ShapeKeys } from './shapes.js';

export type PlannedFile =
  | { kind: 'chain' }
  /** `shared`: the boot config is a profile's, the same object for every answer of its groups (render.ts renders it once). */
  | { kind: 'ipxe' | 'pixiecore' | 'grub'; source: string; boot: BootConfig; shared?: true }
  | { kind: 'cloud'; source: string; content: Buffer }
  /** A data template (`cloud/<id>`, `generic/<id>`, `ignition/<id>`) rendered for one answer of a group. */
  | { kind: 'template'; source: string; group: string; template: string; context: object }
  | { kind: 'text'; source: string; content: string };

/** dist-relative path → what goes there, in a stable (sorted) order. */
export type Plan = Map<string, PlannedFile>;

export interface Resolved {
  plan: Plan;
  errors: LoadError[];
  /** Problems that do not fail the build: unused profiles and templates, metadata left out. */
  warnings: LoadError[];
}

/** Shapes Pixiecore can be asked by: it knows only the MAC. */
const PIXIECORE_SHAPES = ['mac', 'default'];

/**
 * `aroundWarnings: false` leaves out the warnings about profiles and templates themselves
 * (profileWarnings): an incremental build resolving one file at a time asks for those once.
 */
export function resolve(model: Model, options: { aroundWarnings?: boolean } = {}): Resolved {
  const state = new PlanState();
  addSeeds(model, state);
  addGroups(model, state, options.aroundWarnings ?? true);
  state.errors.push(...findAmbiguities(state.plan, state.shapesByKind));
  const shapes = [...state.shapesByKind.values()].flatMap((byDir) => [...byDir.values()]);
  for (const [path, content] of shapesFiles(shapes)) state.plan.set(path, { kind: 'text', source: '', content });
  // The paths alone, sorted by sort()'s own comparison (UTF-16 code units, as `<` orders
  // strings): ~2x faster than entries through a comparator, ~80 ms of a build at 100k machines.
  const plan: Plan = new Map();
  for (const path of [...state.plan.keys()].sort()) plan.set(path, state.plan.get(path)!);
  return { plan, errors: state.errors, warnings: state.warnings };
}

/** The plan as it grows, and every shape each kind has an answer in. */
class PlanState {
  readonly plan: Plan = new Map([[CHAIN_FILE, { kind: 'chain' }]]);
  readonly errors: LoadError[] = [];
  readonly warnings: LoadError[] = [];
  /** Kind dir → shape dir → shape. */
  readonly shapesByKind = new Map<string, Map<string, ShapeKeys>>();
  private readonly reported = new Set<string>();

  /** Plans one answer; a second source for the same path is a collision error naming both. */
  add(kind: string, shape: ShapeKeys, values: Values, planned: Exclude<PlannedFile, { kind: 'chain' }>): void {
    const path = answerPath(kind, shape, values)!;
    const existing = this.plan.get(path);
    if (existing) {
      this.collision(path, (existing as { source: string }).source, planned.source);
      return;
    }
    this.plan.set(path, planned);
    let shapes = this.shapesByKind.get(kind);
    if (!shapes) this.shapesByKind.set(kind, (shapes = new Map()));
    const dir = shapeDir(shape);
    if (!shapes.has(dir)) shapes.set(dir, shape);
  }

  private collision(path: string, first: string, second: string): void {
    const [a, b] = [first, second].sort();
    const key = `${a}\0${b}`;
    if (this.reported.has(key) || a === b) return;
    this.reported.add(key);
    const seeds = !a!.startsWith('groups/') && !b!.startsWith('groups/');
    const message = seeds
      ? `${a} and ${b} name the same machine (${a!.split('/')[0]}/${path.split('/').slice(1).join('/')})`
      : `${a} and ${b} both answer ${path}`;
    const hint = seeds
      ? 'keep one file per machine; MACs and UUIDs match in any case and spelling'
      : 'one request must have one answer: remove the machine from one of them (a seed file and a group naming the same machine count as two)';
    this.errors.push(new LoadError(message, { file: b, hint }));
  }
}

function addSeeds(model: Model, state: PlanState): void {
  for (const entry of model.boot) {
    const { shape, values } = seedSelector(entry);
    state.add(KIND_DIRS.ipxe, shape, values, { kind: 'ipxe', source: entry.file, boot: entry.value });
    state.add(KIND_DIRS.grub, shape, values, { kind: 'grub', source: entry.file, boot: entry.value });
    warnGrubUnreachable(entry.file, entry.value, state);
    if (PIXIECORE_SHAPES.includes(shapeDir(shape))) state.add(KIND_DIRS.pixiecore, shape, values, { kind: 'pixiecore', source: entry.file, boot: entry.value });
  }
  for (const entry of model.cloud) {
    const { shape, values } = seedSelector(entry);
    state.add(KIND_DIRS.cloud, shape, values, { kind: 'cloud', source: entry.file, content: entry.value });
  }
}

/** A boot config GRUB cannot fetch still builds (iPXE can): its /grub answer says why it boots nothing. */
function warnGrubUnreachable(file: string, boot: BootConfig, state: PlanState): void {
  const location = grubUnreachable(boot);
  if (location) state.warnings.push(new LoadError(`GRUB cannot fetch ${location}, so /grub answers this config's machines with a message and boots nothing`, { file, hint: 'GRUB loads http:// and tftp:// URLs and /images/ paths; iPXE and Pixiecore are not affected' }));
}

function seedSelector(entry: Sourced<unknown>): { shape: ShapeKeys; values: Values } {
  return { shape: shapeOf(entry.selector), values: entry.selector as Values };
}

function addGroups(model: Model, state: PlanState, aroundWarnings: boolean): void {
  const usedProfiles = new Set<string>();
  const checkedProfiles = new Map<string, boolean>();
  for (const group of model.groups) {
    const profile = model.profiles.get(group.profile);
    if (!profile) {
      const guess = closest(group.profile, [...model.profiles.keys()]);
      state.errors.push(new LoadError(`unknown profile "${group.profile}"`, { file: group.file, ...group.profileAt, hint: guess ? `did you mean "${guess}"?` : `no profiles/${group.profile}.json; profiles are ${[...model.profiles.keys()].sort().join(', ') || 'none yet'}` }));
      continue;
    }
    usedProfiles.add(profile.id);
    if (!checkedProfiles.has(profile.id)) checkedProfiles.set(profile.id, checkTemplates(profile, model, state));
    if (!checkedProfiles.get(profile.id)) continue;
    addGroupAnswers(group, profile, state);
  }
  if (aroundWarnings) state.warnings.push(...profileWarnings(model, usedProfiles));
}

/**
 * The warnings about profiles and data templates themselves, given the profiles groups use:
 * a used profile GRUB cannot boot, an unused profile, an unused template.
 */
export function profileWarnings(model: Model, usedProfiles: ReadonlySet<string>): LoadError[] {
  const state = new PlanState();
  for (const id of usedProfiles) {
    const profile = model.profiles.get(id);
    if (profile) warnGrubUnreachable(profile.file, profile.boot, state);
  }
  warnUnused(model, usedProfiles, state);
  return state.warnings;
}

/** Whether every template the profile names exists; reports each that does not. */
function checkTemplates(profile: Profile, model: Model, state: PlanState): boolean {
  let ok = true;
  for (const { key, dir, field } of TEMPLATE_FIELDS) {
    const ref = profile[key];
    if (ref && dir === 'ignition' && !ignitionSourceKind(ref.path)) {
      ok = false;
      state.errors.push(new LoadError(`"${field}" names ${ref.path}, which is neither Butane nor Ignition by its extension`, { file: profile.file, line: ref.line, column: ref.column, hint: 'name Butane YAML *.bu, *.yaml or *.yml, and Ignition JSON *.ign, *.ignition or *.json' }));
      continue;
    }
    if (!ref || model.dataTemplates.has(ref.path)) continue;
    ok = false;
    const present = [...model.dataTemplates.keys()].filter((path) => path.startsWith(`${dir}/`));
    const guess = closest(ref.path, present);
    state.errors.push(new LoadError(`"${field}" names ${ref.path}, which does not exist`, {
      file: profile.file,
      line: ref.line,
      column: ref.column,
      hint: guess ? `did you mean "${guess.slice(dir.length + 1)}"?` : `add the file ${ref.path}${present.length ? ` (${dir}/ holds ${present.map((p) => p.slice(dir.length + 1)).sort().join(', ')})` : ''}`,
    }));
  }
  return ok;
}

function addGroupAnswers(group: Group, profile: Profile, state: PlanState): void {
  const source = group.file;
  let first = true;
  for (const values of combinations(group)) {
    state.add(KIND_DIRS.ipxe, group.shape, values, { kind: 'ipxe', source, boot: profile.boot, shared: true });
    state.add(KIND_DIRS.grub, group.shape, values, { kind: 'grub', source, boot: profile.boot, shared: true });
    if (PIXIECORE_SHAPES.includes(shapeDir(group.shape))) state.add(KIND_DIRS.pixiecore, group.shape, values, { kind: 'pixiecore', source, boot: profile.boot, shared: true });
    for (const ref of [profile.cloud, profile.generic, profile.ignition]) {
      if (!ref) continue;
      const kind = ref.path.startsWith('cloud/') ? KIND_DIRS.cloud : ref.path.startsWith('ignition/') ? KIND_DIRS.ignition : KIND_DIRS.generic;
      state.add(kind, group.shape, values, { kind: 'template', source, group: group.id, template: ref.path, context: templateContext(group, profile, values) });
    }
    const data = answerData(group, values);
    const text = metadataText(data);
    if (first) reportMetadata(group, text, state);
    first = false;
    state.add(KIND_DIRS.metadata, group.shape, values, { kind: 'text', source, content: text.text });
    state.add(KIND_DIRS.metadataJson, group.shape, values, { kind: 'text', source, content: metadataJson(data) });
  }
}

/** Every answer a group compiles to: one value of each selector key, all combinations. */
function* combinations(group: Group): Generator<Values> {
  const keys = group.selector.map(([key]) => key);
  const lists = group.selector.map(([, values]) => values);
  const index = lists.map(() => 0);
  for (;;) {
    const values: Record<string, string> = {};
    keys.forEach((key, i) => (values[key] = lists[i]![index[i]!]!));
    yield values;
    let i = lists.length - 1;
    while (i >= 0 && ++index[i]! === lists[i]!.length) index[i--] = 0;
    if (i < 0) return;
  }
}

function reportMetadata(group: Group, text: ReturnType<typeof metadataText>, state: PlanState): void {
  for (const key of text.duplicates) {
    state.errors.push(new LoadError(`metadata key ${key} is written twice in /metadata's KEY=value form`, { file: group.file, hint: 'nested keys are joined with "_" and upper-cased (matchbox\'s naming), and selector keys are included: rename one of them' }));
  }
  for (const key of text.omitted) {
    state.warnings.push(new LoadError(`metadata ${key} holds a line break, so /metadata leaves it out (/metadata?format=json and templates keep it)`, { file: group.file, hint: 'the KEY=value form has one line per key' }));
  }
}

function warnUnused(model: Model, usedProfiles: ReadonlySet<string>, state: PlanState): void {
  const referenced = new Set<string>();
  for (const profile of model.profiles.values()) {
    for (const { key } of TEMPLATE_FIELDS) if (profile[key]) referenced.add(profile[key]!.path);
    if (!usedProfiles.has(profile.id)) state.warnings.push(new LoadError(`profile "${profile.id}" is not used by any group`, { file: profile.file, hint: 'point a group\'s "profile" at it, or remove it' }));
  }
  for (const [path, template] of model.dataTemplates) {
    if (referenced.has(path)) continue;
    const field = TEMPLATE_FIELDS.find(({ dir }) => path.startsWith(`${dir}/`))!.field;
    state.warnings.push(new LoadError(`template ${path} is not used by any profile`, { file: template.file, hint: `name it in a profile's "${field}", or remove it` }));
  }
}
