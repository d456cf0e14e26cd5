// What a config change does to the fleet, for review before it lands: given the compiled file
// maps of two revisions (compile() output, dist-relative path → content), say which machines'
// answers change — per uuid, per mac, the default, and the chainload script every machine
// fetches — and show a unified diff of every changed file. A pull request's CI prints this so
// reviewers see the blast radius ("37 machines get a new kernel"), not just the data files.

import { unifiedDiff } from './linediff.js';

/** Files that name the build rather than answer a machine; they always differ. */
const BOOKKEEPING = new Set(['REVISION', 'manifest.json']);

export type Status = 'added' | 'removed' | 'modified';
/** Which answer a file is: iPXE script, Pixiecore JSON, cloud config, or the chainload script. */
export type Answer = 'ipxe' | 'pixiecore' | 'cloud' | 'chainload' | 'other';

/** Who gets a file: one machine by uuid or mac, machines without their own (default), or all. */
export interface Target {
  shape: 'uuid' | 'mac' | 'default' | 'all';
  id?: string;
}

export interface FileChange {
  path: string;
  status: Status;
  answer: Answer;
  target: Target;
  /** git-style unified diff, a/ and b/ prefixed. */
  diff: string;
}

export interface TargetChange {
  target: Target;
  /** The answers that change for this target, each with its status. */
  answers: Array<{ answer: Answer; status: Status }>;
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
  kernels: KernelChange[];
  files: FileChange[];
}

/** Compare two compiled builds. `from`/`to` label the sides (revision or directory). */
export function compareBuilds(fromLabel: string, toLabel: string, from: ReadonlyMap<string, Buffer>, to: ReadonlyMap<string, Buffer>): DiffReport {
  const paths = [...new Set([...from.keys(), ...to.keys()])].filter((path) => !BOOKKEEPING.has(path)).sort(byTarget);
  const files: FileChange[] = [];
  for (const path of paths) {
    const before = from.get(path);
    const after = to.get(path);
    if (before && after && before.equals(after)) continue;
    const status: Status = !before ? 'added' : !after ? 'removed' : 'modified';
    const diff = unifiedDiff(text(before), text(after), before && `a/${path}`, after && `b/${path}`);
    files.push({ path, status, ...classify(path), diff });
  }
  return { from: fromLabel, to: toLabel, changed: files.length > 0, targets: groupByTarget(files), kernels: kernelChanges(files, from, to), files };
}

function text(content: Buffer | undefined): string {
  return content ? content.toString('utf8') : '';
}

/** Where a dist path is answered from: docs/dist-layout.md. */
export function classify(path: string): { answer: Answer; target: Target } {
  if (path === 'boot.ipxe') return { answer: 'chainload', target: { shape: 'all' } };
  const [answer, shape, id, ...rest] = path.split('/');
  const known: Answer | undefined = answer === 'ipxe' || answer === 'pixiecore' || answer === 'cloud' ? answer : undefined;
  if (!known) return { answer: 'other', target: { shape: 'all' } };
  if (shape === 'default' && id === undefined) return { answer: known, target: { shape: 'default' } };
  if ((shape === 'uuid' || shape === 'mac') && id !== undefined && rest.length === 0) return { answer: known, target: { shape, id } };
  return { answer: 'other', target: { shape: 'all' } };
}

/** Order: the chainload script, then uuid, mac, default; within a shape by id, then answer. */
function byTarget(a: string, b: string): number {
  const rank = (path: string) => {
    const { answer, target } = classify(path);
    const shape = ['all', 'uuid', 'mac', 'default'].indexOf(target.shape);
    const kind = ['chainload', 'ipxe', 'pixiecore', 'cloud', 'other'].indexOf(answer);
    return [shape, target.id ?? '', kind, path] as const;
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
    const group = groups.get(key) ?? { target: file.target, answers: [] };
    group.answers.push({ answer: file.answer, status: file.status });
    groups.set(key, group);
  }
  return [...groups.values()];
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
  const machines = report.targets.filter(({ target }) => target.shape === 'uuid' || target.shape === 'mac').length;
  const parts: string[] = [];
  if (report.targets.some(({ target }) => target.shape === 'all')) parts.push('every machine');
  if (machines > 0) parts.push(`${machines} machine${machines === 1 ? '' : 's'}`);
  if (report.targets.some(({ target }) => target.shape === 'default')) parts.push('the default');
  return `${report.files.length} file${report.files.length === 1 ? '' : 's'} change${report.files.length === 1 ? 's' : ''} for ${listing(parts)}`;
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
  const machines = targets.filter((target) => target.shape === 'uuid' || target.shape === 'mac').length;
  const parts: string[] = [];
  if (machines > 0) parts.push(`${machines} machine${machines === 1 ? '' : 's'}`);
  if (targets.some((target) => target.shape === 'default')) parts.push('the default');
  return listing(parts);
}

/** "a", "a and b", "a, b and c". */
function listing(parts: readonly string[]): string {
  return parts.length <= 1 ? parts.join('') : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}
