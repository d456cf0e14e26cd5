// What each machine and group of a build will boot, read back from the compiled answers
// themselves (never from the data, never by matching again): one entry per selector — a shape
// and its values, `mac/52-54-…`, `mac.os/52-54-…/installed`, `default` — with the answers the
// build holds for it, the group (or seed file) they came from, and the kernel, initrds and
// arguments of its boot answer. Pure.

import type { BuildView } from './build-view.js';

/** The kinds of answer a machine fetches, by dist directory; boot ones first. */
export const BOOT_KINDS = ['ipxe', 'pixiecore'] as const;
export const OS_KINDS = ['cloud', 'ignition', 'generic'] as const;
const KINDS = new Set<string>([...BOOT_KINDS, ...OS_KINDS, 'metadata', 'metadata-json', 'grub']);

export interface Entry {
  /** The selector: shape dir and values, as in an answer path without its kind (`default` for none). */
  key: string;
  shape: string[];
  values: Record<string, string>;
  /** The group's id, or the seed file, its answers came from (when the build says so). */
  group?: string;
  profile?: string;
  kernel?: string;
  initrd: string[];
  args: string[];
  /** Kind → answer path. */
  answers: Record<string, string>;
}

// A build never changes once read: its entries are worked out once (the page asks often).
const ENTRIES = new WeakMap<BuildView, readonly Entry[]>();

export function entriesOf(build: BuildView): readonly Entry[] {
  let cached = ENTRIES.get(build);
  if (!cached) ENTRIES.set(build, (cached = describeAll(build)));
  return cached;
}

function describeAll(build: BuildView): Entry[] {
  const entries = new Map<string, Entry>();
  for (const path of build.paths) {
    const parsed = parseAnswerPath(path);
    if (!parsed) continue;
    let entry = entries.get(parsed.key);
    if (!entry) entries.set(parsed.key, (entry = { key: parsed.key, shape: parsed.shape, values: parsed.values, initrd: [], args: [], answers: {} }));
    entry.answers[parsed.kind] = path;
  }
  for (const entry of entries.values()) describe(entry, build);
  return [...entries.values()].sort((a, b) => compareEntries(a, b));
}

/** `ipxe/mac.os/52-54-…/installed` → kind ipxe, key `mac.os/52-54-…/installed`, shape and values. */
export function parseAnswerPath(path: string): { kind: string; key: string; shape: string[]; values: Record<string, string> } | undefined {
  const [kind, dir, ...values] = path.split('/');
  if (!kind || !KINDS.has(kind) || !dir) return undefined;
  if (dir === 'default') return values.length === 0 ? { kind, key: 'default', shape: [], values: {} } : undefined;
  const shape = dir.split('.');
  if (values.length !== shape.length) return undefined;
  return { kind, key: path.slice(kind.length + 1), shape, values: Object.fromEntries(shape.map((key, i) => [key, values[i]!])) };
}

/** The entry's group and boot, from its answers' origins and its Pixiecore or iPXE answer. */
function describe(entry: Entry, build: BuildView): void {
  const origin = build.origins.get(entry.answers.ipxe ?? '') ?? Object.values(entry.answers).map((path) => build.origins.get(path)).find(Boolean);
  if (origin) {
    const group = build.groups.get(origin);
    entry.group = group?.id ?? groupIdOf(origin);
    entry.profile = group?.profile;
  }
  const boot = (entry.answers.pixiecore && pixiecoreBoot(build.read(entry.answers.pixiecore))) || (entry.answers.ipxe && ipxeBoot(build.read(entry.answers.ipxe)));
  if (boot) Object.assign(entry, boot);
}

/** `groups/workers.json` → `workers`; a seed file stays its path (`boot/mac/52:54:…`). */
function groupIdOf(origin: string): string {
  const group = /^groups\/(.+)\.json$/.exec(origin);
  return group ? group[1]! : origin;
}

type Boot = { kernel: string; initrd: string[]; args: string[] };

/** Pixiecore's answer is JSON the compiler wrote: kernel, initrd list, cmdline string. */
function pixiecoreBoot(content: Buffer | undefined): Boot | undefined {
  if (!content) return undefined;
  try {
    const json = JSON.parse(content.toString('utf8')) as { kernel?: unknown; initrd?: unknown; cmdline?: unknown };
    if (typeof json.kernel !== 'string') return undefined;
    const initrd = Array.isArray(json.initrd) ? json.initrd.filter((i): i is string => typeof i === 'string') : [];
    const args = typeof json.cmdline === 'string' ? json.cmdline.split(/\s+/).filter(Boolean) : [];
    return { kernel: json.kernel, initrd, args };
  } catch {
    return undefined;
  }
}

/**
 * The `kernel` and `initrd` lines of an iPXE script (iPXE splits them on spaces, and the
 * compiler refuses any word that would be script syntax). The `initrd=<name>` arguments the
 * built-in template adds for UEFI are left out of the arguments: they restate the initrds.
 */
function ipxeBoot(content: Buffer | undefined): Boot | undefined {
  if (!content) return undefined;
  let boot: Boot | undefined;
  const initrd: string[] = [];
  for (const line of content.toString('utf8').split('\n')) {
    const words = line.trim().split(/\s+/);
    const options = (from: number) => words.slice(from).filter((word) => !word.startsWith('--'));
    if (words[0] === 'kernel' && !boot) {
      const [kernel, ...args] = options(1);
      if (kernel) boot = { kernel, initrd, args };
    } else if (words[0] === 'initrd' && options(1)[0]) initrd.push(options(1)[0]!);
  }
  if (boot) {
    const names = new Set(initrd.map((path) => `initrd=${path.split('/').pop()}`));
    boot.args = boot.args.filter((arg) => !names.has(arg));
  }
  return boot;
}

/** Most keys first, then by key: the order servers try them in, roughly, and stable. */
function compareEntries(a: Entry, b: Entry): number {
  if (a.shape.length !== b.shape.length) return b.shape.length - a.shape.length;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
