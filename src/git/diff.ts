// What a config change does to the fleet, for review before it lands: given the compiled file
// maps of two revisions (compile() output, dist-relative path → content), say which machines'
// answers change — per selector (uuid, mac, mac.os, …), the default, and the chainload script
// every machine fetches — and which groups they come from, and show a unified diff of every
// changed file. A pull request's CI prints this so reviewers see the blast radius ("37 machines
// get a new kernel", "groups/workers.json: 997 machines"), not just the data files.

import { unifiedDiff } from './linediff.js';

/** Files that name the build rather than answer a machine (the shape list follows the answers). */
const BOOKKEEPING = new Set(['REVISION', 'manifest.json', 'shapes.json']);
const BOOKKEEPING_DIRS = ['shapes/'];

export type Status = 'added' | 'removed' | 'modified';
/** Which answer a file is (its kind directory), or the chainload script. */
export type Answer = 'ipxe' | 'grub' | 'pixiecore' | 'cloud' | 'generic' | 'metadata' | 'metadata-json' | 'ignition' | 'chainload' | 'other';
const KINDS: readonly Answer[] = ['ipxe', 'grub', 'pixiecore', 'cloud', 'generic', 'metadata', 'metadata-json', 'ignition'];

/**
 * Who gets a file: the answers of one selector (`shape` is its directory: `uuid`, `mac`,
 * `mac.os`, …; `id` its values joined by `/`), machines without their own (default), or all.
 */
export interface Target {
  shape: string;
  id?: string;
}

export interface FileChange {
  path: string;
  status: Status;
  answer: Answer;
  target: Target;
  /** The data file it compiles from (`groups/<id>.json`, a seed file), when the caller knows. */
  source?: string;
  /** git-style unified diff, a/ and b/ prefixed. */
  diff: string;
}

export interface TargetChange {
  target: Target;
  /** The answers that change for this target, each with its status. */
  answers: Array<{ answer: Answer; status: Status }>;
  /** The data files (groups, seed files) its changed answers come from. */
  sources: string[];
}

/** One group and how many targets' answers it changes. */
export interface SourceChange {
  /** `groups/<id>.json`. */
  source: string;
  group: string;
  machines: number;
  targets: number;
}

/** compile()'s origins of each side: answer path → the data file it came from. */
export interface Origins {
  from?: Pick<ReadonlyMap<string, string>, 'get'>;
  to?: Pick<ReadonlyMap<string, string>, 'get'>;
}

export interface KernelChange {
  from: string;
  to: string;
  targets: Target[];
}

export interface DiffReport {
  from: string;
  to: string;
  changed: boolean;
  targets: TargetChange[];
  /** Per group, when the caller passed origins; most targets first. */
  groups: SourceChange[];
  kernels: KernelChange[];
  files: FileChange[];
}

/** Compare two compiled builds. `from`/`to` label the sides (revision or directory). */
export function compareBuilds(fromLabel: string, toLabel: string, from: ReadonlyMap<string, Buffer>, to: ReadonlyMap<string, Buffer>, origins: Origins = {}): DiffReport {
  const paths = [...new Set([...from.keys(), ...to.keys()])].filter((path) => !isBookkeeping(path)).sort(byTarget);
  const files: FileChange[] = [];
  for (const path of paths) {
    const before = from.get(path);
    const after = to.get(path);
    if (before && after && before.equals(after)) continue;
    const status: Status = !before ? 'added' : !after ? 'removed' : 'modified';
    const diff = unifiedDiff(text(before), text(after), before && `a/${path}`, after && `b/${path}`);
    const source = (after ? origins.to : origins.from)?.get(path);
    files.push({ path, status, ...classify(path), ...(source !== undefined && { source }), diff });
  }
  const targets = groupByTarget(files);
  return { from: fromLabel, to: toLabel, changed: files.length > 0, targets, groups: bySource(targets), kernels: kernelChanges(files, from, to), files };
}

function isBookkeeping(path: string): boolean {
  return BOOKKEEPING.has(path) || BOOKKEEPING_DIRS.some((dir) => path.startsWith(dir));
}

/** A target names machines when its selector has a uuid or a mac. */
function isMachine(target: Target): boolean {
  return target.shape.split('.').some((key) => key === 'uuid' || key === 'mac');
}

function text(content: Buffer | undefined): string {
  return content ? content.toString('utf8') : '';
}

/** Where a dist path is answered from: docs/dist-layout.md. */
export function classify(path: string): { answer: Answer; target: Target } {
  if (path === 'boot.ipxe') return { answer: 'chainload', target: { shape: 'all' } };
  const [answer, shape, ...values] = path.split('/');
  const known = KINDS.find((kind) => kind === answer);
  if (!known || !shape) return { answer: 'other', target: { shape: 'all' } };
  if (shape === 'default' && values.length === 0) return { answer: known, target: { shape: 'default' } };
  if (values.length > 0 && values.length === shape.split('.').length) return { answer: known, target: { shape, id: values.join('/') } };
  return { answer: 'other', target: { shape: 'all' } };
}

/** Order: the chainload script, then shapes with most keys first (uuid, mac…), default; within a shape by id, then answer. */
function byTarget(a: string, b: string): number {
  const rank = (path: string) => {
    const { answer, target } = classify(path);
    const keys = target.shape === 'all' ? 1000 : target.shape === 'default' ? -1 : target.shape.split('.').length;
    const seed = ['uuid', 'mac'].indexOf(target.shape);
    const kind = ['chainload', ...KINDS, 'other'].indexOf(answer);
    return [-keys, seed === -1 ? 2 : seed, target.shape, target.id ?? '', kind, path] as const;
  };
  const [x, y] = [rank(a), rank(b)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return 0;
}

export function targetKey(target: Target): string {
  return target.id === undefined ? target.shape : `${target.shape} ${target.id}`;
}

function groupByTarget(files: readonly FileChange[]): TargetChange[] {
  const groups = new Map<string, TargetChange>();
  for (const file of files) {
    const key = targetKey(file.target);
    const group = groups.get(key) ?? { target: file.target, answers: [], sources: [] };
    group.answers.push({ answer: file.answer, status: file.status });
    if (file.source !== undefined && !group.sources.includes(file.source)) group.sources.push(file.source);
    groups.set(key, group);
  }
  return [...groups.values()];
}

function bySource(targets: readonly TargetChange[]): SourceChange[] {
  const sources = new Map<string, SourceChange>();
  for (const { target, sources: from } of targets) {
    for (const source of from) {
      // Seed files answer one target each and are named by it; groups are what to name here.
      const group = /^groups\/(.+)\.json$/.exec(source)?.[1];
      if (group === undefined) continue;
      const change = sources.get(source) ?? { source, group, machines: 0, targets: 0 };
      change.targets++;
      if (isMachine(target)) change.machines++;
      sources.set(source, change);
    }
  }
  return [...sources.values()].sort((a, b) => b.targets - a.targets || (a.source < b.source ? -1 : 1));
}

/**
 * Kernel changes, grouped by (old kernel → new kernel): the one-line summary reviewers look for.
 * Read from the iPXE script (`kernel <url> …`) or the Pixiecore JSON (`"kernel"`), per target.
 */
function kernelChanges(files: readonly FileChange[], from: ReadonlyMap<string, Buffer>, to: ReadonlyMap<string, Buffer>): KernelChange[] {
  const seen = new Set<string>();
  const changes = new Map<string, KernelChange>();
  for (const file of files) {
    if (file.answer !== 'ipxe' && file.answer !== 'pixiecore') continue;
    const key = targetKey(file.target);
    if (seen.has(key)) continue;
    const before = kernelOf(file.path, from.get(file.path));
    const after = kernelOf(file.path, to.get(file.path));
    if (before === undefined || after === undefined || before === after) continue;
    seen.add(key);
    const pair = `${before}\0${after}`;
    const change = changes.get(pair) ?? { from: before, to: after, targets: [] };
    change.targets.push(file.target);
    changes.set(pair, change);
  }
  return [...changes.values()];
}

function kernelOf(path: string, content: Buffer | undefined): string | undefined {
  if (!content) return undefined;
  const body = content.toString('utf8');
  if (path.startsWith('pixiecore/')) {
    try {
      const kernel = (JSON.parse(body) as { kernel?: unknown }).kernel;
      return typeof kernel === 'string' ? kernel : undefined;
    } catch {
      return undefined;
    }
  }
  return /^\s*kernel\s+(?:--name\s+\S+\s+)?(\S+)/m.exec(body)?.[1];
}

export interface TextOptions {
  /** Print the per-file diffs (default); false prints the summary only. */
  diffs?: boolean;
}

/** How many paths to name after a diff shared by several files. */
const SAME_CHANGE_NAMES = 8;

/**
 * The report for people: a summary of who is affected, then the diffs. A change made the same
 * way to many files (a kernel bump across a rack) is printed once, followed by the files that
 * share it, so the reviewer reads each distinct change once.
 */
export function formatText(report: DiffReport, options: TextOptions = {}): string {
  if (!report.changed) return `no machine's answers change between ${report.from} and ${report.to}\n`;
  const out = [`${summary(report)} between ${report.from} and ${report.to}:`, ''];
  for (const { target, answers } of report.targets) {
    const what = answers.map(({ answer, status }) => (status === 'modified' ? answer : `${answer} ${status}`)).join(', ');
    out.push(`  ${describe(target).padEnd(45)} ${what}`);
  }
  if (report.groups.length > 0) {
    out.push('', 'by group:');
    for (const change of report.groups) out.push(`  ${change.source.padEnd(45)} ${sourceCount(change)}`);
  }
  for (const kernel of report.kernels) {
    const verb = kernel.targets.length === 1 ? 'gets' : 'get';
    out.push('', `${count(kernel.targets)} ${verb} a new kernel: ${kernel.from} -> ${kernel.to}`);
  }
  out.push('');
  if (options.diffs === false) return out.join('\n');
  for (const [first, ...same] of sameChanges(report.files)) {
    out.push(first!.diff.trimEnd());
    if (same.length > 0) {
      const names = same.slice(0, SAME_CHANGE_NAMES).map((file) => file.path).join(', ');
      const more = same.length > SAME_CHANGE_NAMES ? ` and ${same.length - SAME_CHANGE_NAMES} more` : '';
      out.push(`(the same change in ${same.length} more file${same.length === 1 ? '' : 's'}: ${names}${more})`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** Files grouped by identical change (hunks and status, ignoring the file names), in report order. */
function sameChanges(files: readonly FileChange[]): FileChange[][] {
  const groups = new Map<string, FileChange[]>();
  for (const file of files) {
    const key = `${file.status}\0${file.diff.replace(/^(?:---|\+\+\+) .*\n/gm, '')}`;
    const group = groups.get(key);
    if (group) group.push(file);
    else groups.set(key, [file]);
  }
  return [...groups.values()];
}

/** The report for tools: stable keys, everything formatText shows. */
export function formatJson(report: DiffReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

function summary(report: DiffReport): string {
  const parts = who(report.targets.map(({ target }) => target), true);
  const groups = report.groups.map((change) => change.group);
  const named = groups.length === 0 ? '' : ` (group${groups.length === 1 ? '' : 's'} ${groups.slice(0, SAME_CHANGE_NAMES).join(', ')}${groups.length > SAME_CHANGE_NAMES ? ` and ${groups.length - SAME_CHANGE_NAMES} more` : ''})`;
  return `${report.files.length} file${report.files.length === 1 ? '' : 's'} change${report.files.length === 1 ? 's' : ''} for ${listing(parts)}${named}`;
}

/** "every machine", "3 machines", "2 label selections", "the default": who a set of targets is. */
function who(targets: readonly Target[], all: boolean): string[] {
  const machines = targets.filter(isMachine).length;
  const labels = targets.filter((target) => target.shape !== 'all' && target.shape !== 'default' && !isMachine(target)).length;
  const parts: string[] = [];
  if (all && targets.some((target) => target.shape === 'all')) parts.push('every machine');
  if (machines > 0) parts.push(`${machines} machine${machines === 1 ? '' : 's'}`);
  if (labels > 0) parts.push(`${labels} label selection${labels === 1 ? '' : 's'}`);
  if (targets.some((target) => target.shape === 'default')) parts.push('the default');
  return parts;
}

function sourceCount(change: SourceChange): string {
  const others = change.targets - change.machines;
  const parts = [];
  if (change.machines > 0) parts.push(`${change.machines} machine${change.machines === 1 ? '' : 's'}`);
  if (others > 0) parts.push(`${others} other selection${others === 1 ? '' : 's'}`);
  return parts.join(', ');
}

function describe(target: Target): string {
  switch (target.shape) {
    case 'all':
      return 'every machine';
    case 'default':
      return 'default (machines without their own config)';
    default:
      return `${target.shape} ${target.id}`;
  }
}

function count(targets: readonly Target[]): string {
  return listing(who(targets, false));
}

/** "a", "a and b", "a, b and c". */
function listing(parts: readonly string[]): string {
  return parts.length <= 1 ? parts.join('') : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}
