// Butane YAML → an Ignition config, at build time (there is no Butane for Node). Pure: it sees
// the text and, for `contents.local`, a lookup over files the caller has already read.
//
// The YAML is parsed by the `yaml` package with the failsafe schema: every scalar stays the
// text the operator wrote, with its source range, and this file types it against the Ignition
// table (ignition-spec.ts) the way Butane's Go YAML decoder does (0644 is octal, yes/on are
// true). So `mode: 0644` means 420 as in Butane, `inline: yes` stays the string "yes", and every
// error points at the line and column of the key or value at fault. Every key is either
// translated, refused with the reason, or an error with "did you mean": nothing is dropped.

import { gzipSync } from 'node:zlib';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode, type Scalar } from 'yaml';
import { closest } from './json.js';
import { BOOT_DEVICE_LAYOUTS, BOOT_DEVICE_OBJECTS, expandBootDevice, type BootDevice } from './butane-boot-device.js';
import { mergeSection } from './butane-merge.js';
import { mountUnit } from './butane-mount-units.js';
import { minorOf, OBJECTS, type Field, type FieldType, type IgnitionVersion, type ObjectName } from './ignition-spec.js';

/** 1-based position in a source file. */
export interface Located {
  line: number;
  column: number;
}

/** JSON pointer into the Ignition config → where in the source it came from. */
export type Positions = Map<string, Located>;

/** One thing wrong with a source, at a position or at a pointer whose position is in Positions. */
export interface Problem {
  message: string;
  hint?: string;
  at?: Located;
  pointer?: string;
}

/** Already-read files of the config repository's files directory, by relative path. */
export type LocalFiles = (path: string) => Buffer | undefined;

export type ButaneVariant = 'fcos' | 'flatcar';

/** Butane spec version → the Ignition version Butane v0.23 emits for it (the ones bootcfg takes). */
export const BUTANE_TARGETS: Record<ButaneVariant, Record<string, IgnitionVersion>> = {
  fcos: { '1.0.0': '3.0.0', '1.1.0': '3.1.0', '1.2.0': '3.2.0', '1.3.0': '3.2.0', '1.4.0': '3.3.0' },
  flatcar: { '1.0.0': '3.3.0' },
};

// Newer spec versions emit Ignition 3.4.0 and later, which Debian 12's ignition-validate (2.14)
// cannot check: refused until the proof can be made, with the version to use instead.
const NEWER: Record<ButaneVariant, Record<string, string>> = {
  fcos: { '1.5.0': '3.4.0', '1.6.0': '3.5.0', '1.7.0-experimental': '3.6.0-experimental' },
  flatcar: { '1.1.0': '3.4.0', '1.2.0-experimental': '3.5.0-experimental' },
};

interface Refusal {
  /** First Butane version of each variant with the key. */
  since: Partial<Record<ButaneVariant, string>>;
  /** Why bootcfg does not take it and what to write instead; absent = only in versions bootcfg does not take yet. */
  reason?: string;
}

// Butane sugar and later-version keys that bootcfg does not translate, by the object they sit in.
const REFUSED: Partial<Record<ObjectName, Record<string, Refusal>>> = {
  root: {
    boot_device: { since: { fcos: '1.3.0' } },
    grub: { since: { fcos: '1.5.0' } },
  },
  filesystem: { with_mount_unit: { since: { fcos: '1.1.0', flatcar: '1.0.0' } } },
  storage: {
    trees: { since: { fcos: '1.1.0', flatcar: '1.0.0' }, reason: 'bootcfg does not walk directories at build time; list each file under storage.files with contents.local' },
  },
  unit: { contents_local: { since: { fcos: '1.5.0', flatcar: '1.1.0' } } },
  dropin: { contents_local: { since: { fcos: '1.5.0', flatcar: '1.1.0' } } },
  user: { ssh_authorized_keys_local: { since: { fcos: '1.5.0', flatcar: '1.1.0' } } },
};

// What a variant's Butane refuses although its Ignition version has it: the OS lacks the tool.
const VARIANT_REFUSED: Record<ButaneVariant, Partial<Record<ObjectName, Record<string, string>>>> = {
  fcos: {},
  flatcar: { luks: { clevis: 'Flatcar does not ship Clevis (Butane refuses it too); unlock with key_file' } },
};

/** The fields of an Ignition object or of a Butane-only one (boot_device's). */
function tableOf(name: string): Field[] {
  return (BOOT_DEVICE_OBJECTS[name] ?? OBJECTS[name as ObjectName]) as Field[];
}

/** Ignition fields that have no Butane key (Butane sets them itself). */
const NOT_IN_BUTANE: Partial<Record<ObjectName, string[]>> = { ignition: ['version'] };

// Alias expansion is bounded: a "billion laughs" document must not hang the build.
const MAX_NODES = 200_000;

export interface ButaneResult {
  variant: ButaneVariant;
  butaneVersion: string;
  version: IgnitionVersion;
  config: Record<string, unknown>;
  positions: Positions;
  /**
   * The positions (as in `positions`, compared by identity) of integer keys whose value was
   * written with a base prefix (0644, 0o644, 0x1a4): such a mode is octal by its spelling, so it
   * is never the decimal-for-octal slip the rules look for (01777 is 1023, and means it).
   */
  prefixed: ReadonlySet<Located>;
}

/** Butane field name of an Ignition one: sizeMiB → size_mib, sshAuthorizedKeys → ssh_authorized_keys. */
export function butaneName(ignitionName: string): string {
  return ignitionName.replace(/MiB/g, 'Mib').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Translates one Butane document. Problems are collected; past the YAML and the header a result
 * is returned even with problems (each bad key or value left out) so the semantic rules can
 * report theirs in the same build.
 */
export function translateButane(text: string, local: LocalFiles | undefined, problems: Problem[]): ButaneResult | undefined {
  const lines = new LineCounter();
  const doc = parseDocument(text, { schema: 'failsafe', lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  // Warnings are errors too (an unknown tag such as !custom, which Butane refuses), except the
  // YAML 1.1 tags Go's decoder knows and failsafe leaves unresolved: the walker types those itself.
  const known = /Unresolved tag: tag:yaml\.org,2002:(int|bool|float|null|str)\b/;
  for (const error of [...doc.errors, ...doc.warnings.filter((warning) => !known.test(warning.message))]) {
    const [start] = error.linePos ?? [];
    problems.push({ message: `invalid YAML: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`, at: start && { line: start.line, column: start.col } });
  }
  if (problems.length > 0) return undefined;
  return new Walker(doc, lines, local, problems).document();
}

class Walker {
  readonly positions: Positions = new Map();
  private readonly prefixed = new Set<Located>();
  private budget = MAX_NODES;
  private variant: ButaneVariant = 'fcos';
  private butaneVersion = '';
  private version: IgnitionVersion = '3.0.0';
  private bootDevice: { at: Located; value: BootDevice | undefined } | undefined;
  /** Generated objects → the sugar key that made them (with_mount_unit's units). */
  private readonly generatedAt = new Map<object, Located>();
  /** Filesystems that asked for with_mount_unit, with where they asked. */
  private readonly mountUnits: Array<{ filesystem: Record<string, unknown>; at: Located }> = [];

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly local: LocalFiles | undefined,
    private readonly problems: Problem[],
  ) {}

  document(): ButaneResult | undefined {
    const root = this.doc.contents as YamlNode | null;
    if (!root || !isMap(root)) {
      this.problem(root, `a Butane config is a YAML mapping, not ${kindOf(root)}`, 'start with `variant: fcos` and `version: 1.4.0` (or `variant: flatcar`, `version: 1.0.0`)');
      return undefined;
    }
    if (!this.header(root)) return undefined;
    this.positions.set('', { line: 1, column: 1 });
    const body = this.object(root, 'root', '') ?? {};
    const { ignition: section, ...rest } = body;
    const config: Record<string, unknown> = { ignition: { version: this.version, ...(section as object | undefined) }, ...rest };
    if (this.bootDevice?.value) this.applyBootDevice(this.bootDevice.value, this.bootDevice.at, config);
    if (this.mountUnits.length > 0) this.applyMountUnits(config);
    return { variant: this.variant, butaneVersion: this.butaneVersion, version: this.version, config, positions: this.positions, prefixed: this.prefixed };
  }

  /** `variant` and `version`: which Ignition version the rest translates to. */
  private header(root: YamlNode): boolean {
    const variant = this.headerValue(root, 'variant', 'write `variant: fcos` or `variant: flatcar` (a Container Linux Config, as matchbox served, has no variant: it is not Butane; start from `variant: flatcar`, `version: 1.0.0` and fix the keys bootcfg reports)');
    const version = this.headerValue(root, 'version', 'write `version: 1.4.0` (fcos) or `version: 1.0.0` (flatcar)');
    if (variant === undefined || version === undefined) return false;
    if (variant.value !== 'fcos' && variant.value !== 'flatcar') {
      this.problem(variant.node, `Butane variant "${variant.value}" is not supported`, 'bootcfg translates the variants fcos and flatcar');
      return false;
    }
    this.variant = variant.value;
    this.butaneVersion = version.value;
    const target = BUTANE_TARGETS[this.variant][version.value];
    if (target) {
      this.version = target;
      return true;
    }
    const supported = Object.keys(BUTANE_TARGETS[this.variant]);
    const newer = NEWER[this.variant][version.value];
    this.problem(
      version.node,
      newer
        ? `Butane ${this.variant} ${version.value} emits Ignition ${newer}, which bootcfg does not emit yet`
        : `unknown Butane ${this.variant} version "${version.value}"`,
      `use one of ${supported.join(', ')} (bootcfg emits Ignition ${[...new Set(Object.values(BUTANE_TARGETS[this.variant]))].join(', ')}, the versions Debian 12's ignition-validate checks)`,
    );
    return false;
  }

  private headerValue(root: YamlNode, key: string, hint: string): { value: string; node: YamlNode } | undefined {
    const node = (root as unknown as { get(key: string, keepScalar: true): YamlNode | undefined }).get(key, true);
    if (node === undefined) {
      this.problem(root, `missing "${key}"`, hint);
      return undefined;
    }
    if (!isScalar(node) || String(node.value) === '') {
      this.problem(node, `"${key}" must be a string`, hint);
      return undefined;
    }
    return { value: String(node.value), node };
  }

  // ---- objects ------------------------------------------------------------------------------

  private object(node: YamlNode, name: string, pointer: string): Record<string, unknown> | undefined {
    const resolved = this.deref(node);
    if (!resolved || !isMap(resolved)) {
      this.problem(resolved ?? node, `must be a mapping of keys, not ${kindOf(resolved)}`);
      return undefined;
    }
    const out: Record<string, unknown> = {};
    const sugar = new Map<string, { node: YamlNode; at: Located }>();
    for (const pair of resolved.items) {
      const keyNode = this.deref(pair.key as YamlNode);
      if (!keyNode || !isScalar(keyNode)) {
        this.problem(keyNode ?? resolved, 'keys must be plain strings');
        continue;
      }
      const key = String(keyNode.value);
      const at = this.at(keyNode);
      if (name === 'root' && (key === 'variant' || key === 'version')) continue;
      if (name === 'root' && key === 'boot_device' && this.variant === 'fcos' && compareVersions(this.butaneVersion, '1.3.0') >= 0) {
        this.bootDevice = { at, value: this.object(pair.value as YamlNode, 'bootDevice', '/boot_device') as BootDevice | undefined };
        continue;
      }
      if (name === 'filesystem' && key === 'with_mount_unit' && compareVersions(this.butaneVersion, this.variant === 'fcos' ? '1.1.0' : '1.0.0') >= 0) {
        if (this.scalar(this.deref(pair.value as YamlNode) ?? keyNode, 'boolean', key) === true) this.mountUnits.push({ filesystem: out, at });
        continue;
      }
      if (name === 'resource' && (key === 'inline' || key === 'local')) {
        sugar.set(key, { node: pair.value as YamlNode, at });
        continue;
      }
      const field = this.field(name, key, at);
      if (!field) continue;
      const path = `${pointer}/${field.name}`;
      this.positions.set(path, at);
      const value = this.value(pair.value as YamlNode | null, field.type, path, key, at);
      if (value !== undefined) out[field.name] = value;
    }
    if (name === 'resource') this.resourceSugar(out, sugar, pointer);
    return out;
  }

  /** The table's field for a Butane key, or the error saying why there is none. */
  private field(name: string, key: string, at: Located): Field | undefined {
    const variantRefusal = VARIANT_REFUSED[this.variant][name as ObjectName]?.[key];
    if (variantRefusal) {
      this.problems.push({ message: `"${key}" is not supported on ${this.variant}`, hint: variantRefusal, at });
      return undefined;
    }
    const refusal = REFUSED[name as ObjectName]?.[key];
    if (refusal) {
      this.refuse(key, refusal, at);
      return undefined;
    }
    const hidden = NOT_IN_BUTANE[name as ObjectName] ?? [];
    const all = tableOf(name).filter((candidate) => !hidden.includes(candidate.name));
    const field = all.find((candidate) => butaneName(candidate.name) === key);
    if (field && (field.since ?? 0) > minorOf(this.version)) {
      const first = this.firstVersionWith(field.since ?? 0);
      this.problems.push({
        message: `"${key}" is not in Butane ${this.variant} ${this.butaneVersion} (Ignition ${this.version})`,
        hint: first ? `it needs version: ${first} or later` : `no ${this.variant} version bootcfg takes has it`,
        at,
      });
      return undefined;
    }
    if (field) return field;
    const allowed = all.filter((candidate) => (candidate.since ?? 0) <= minorOf(this.version)).map((candidate) => butaneName(candidate.name));
    if (name === 'resource') allowed.push('inline', 'local');
    if (name === 'root') allowed.push('variant', 'version');
    const guess = closest(key, allowed);
    this.problems.push({ message: `unknown key "${key}"`, hint: `${guess ? `did you mean "${guess}"? ` : ''}allowed here: ${allowed.join(', ')}`, at });
    return undefined;
  }

  private refuse(key: string, refusal: Refusal, at: Located): void {
    const since = refusal.since[this.variant];
    const where = since ? `Butane ${this.variant} ${since} and later` : `Butane ${Object.entries(refusal.since).map(([v, s]) => `${v} ${s}`).join(', ')} and later`;
    if (refusal.reason && since && compareVersions(this.butaneVersion, since) >= 0) {
      this.problems.push({ message: `"${key}" (${where}) is not supported by bootcfg`, hint: refusal.reason, at });
    } else {
      const taken = since !== undefined && Object.hasOwn(BUTANE_TARGETS[this.variant], since);
      const tail = refusal.reason ? `, and bootcfg does not support it: ${refusal.reason}` : taken ? `: it needs version: ${since} or later` : ', which bootcfg does not take yet';
      this.problems.push({ message: `"${key}" is not in Butane ${this.variant} ${this.butaneVersion}`, hint: `it appeared in ${where}${tail}`, at });
    }
  }

  private firstVersionWith(minor: number): string | undefined {
    return Object.entries(BUTANE_TARGETS[this.variant]).find(([, target]) => minorOf(target) >= minor)?.[0];
  }

  // ---- values -------------------------------------------------------------------------------

  private value(node: YamlNode | null, type: FieldType, pointer: string, key: string, keyAt: Located): unknown {
    const resolved = node && this.deref(node);
    if (!resolved || isNull(resolved)) return undefined;
    if (type === 'integer' && isScalar(resolved) && /^[-+]?0[0-9oxb_]/.test(String(resolved.value))) this.prefixed.add(keyAt);
    if (typeof type === 'string') return this.scalar(resolved, type, key);
    if ('object' in type) return this.object(resolved, type.object, pointer);
    if (!isSeq(resolved)) {
      this.problem(resolved, `"${key}" must be a list, not ${kindOf(resolved)}`, `write each item on its own line starting with "- "`);
      return undefined;
    }
    const items: unknown[] = [];
    resolved.items.forEach((item, index) => {
      const itemPointer = `${pointer}/${index}`;
      this.positions.set(itemPointer, item ? this.at(item as YamlNode) : keyAt);
      const value = this.value(item as YamlNode | null, type.list, itemPointer, `each item of "${key}"`, keyAt);
      items.push(value ?? null);
    });
    return items;
  }

  private scalar(node: YamlNode, type: 'string' | 'integer' | 'boolean', key: string): unknown {
    if (!isScalar(node)) {
      this.problem(node, `"${key}" must be a${type === 'integer' ? 'n' : ''} ${type}, not ${kindOf(node)}`);
      return undefined;
    }
    const text = String(node.value);
    if (type === 'string') return text;
    const parsed = node.type === 'PLAIN' ? (type === 'integer' ? yamlInteger(text) : yamlBoolean(text)) : undefined;
    if (parsed === undefined) {
      const example = type === 'integer' ? (key === 'mode' ? 'write 0644 (octal) or 420' : 'write a whole number without quotes') : 'write true or false without quotes';
      this.problem(node, `"${key}" must be a${type === 'integer' ? 'n' : ''} ${type}, not ${JSON.stringify(text)}`, example);
    }
    return parsed;
  }

  // ---- contents.inline / contents.local -----------------------------------------------------

  private resourceSugar(out: Record<string, unknown>, sugar: Map<string, { node: YamlNode; at: Located }>, pointer: string): void {
    if (sugar.size === 0) return;
    const [key, { node, at }] = [...sugar][0]!;
    if (sugar.size > 1 || out.source !== undefined) {
      this.problems.push({ message: `"${key}" cannot be combined with "${sugar.size > 1 ? 'local' : 'source'}"`, hint: 'give the contents one way: inline, local or source', at });
      return;
    }
    const value = this.scalar(this.deref(node) ?? node, 'string', key);
    if (typeof value !== 'string') return;
    this.positions.set(`${pointer}/source`, at);
    const bytes = key === 'inline' ? this.inline(value, out, at) : this.localFile(value, out, at);
    if (!bytes) return;
    const precompressed = out.compression === 'gzip';
    const encoded = dataUrl(bytes, !precompressed);
    out.source = encoded.url;
    out.compression = precompressed ? 'gzip' : encoded.compression;
  }

  private inline(value: string, out: Record<string, unknown>, at: Located): Buffer | undefined {
    if (out.compression !== undefined && out.compression !== '') {
      this.problems.push({
        message: '"compression" cannot be used with "inline"',
        hint: 'inline text is not compressed data; bootcfg gzips inline contents itself when that makes the config smaller (Butane would emit a config Ignition cannot decompress)',
        at,
      });
      return undefined;
    }
    return Buffer.from(value, 'utf8');
  }

  private localFile(path: string, out: Record<string, unknown>, at: Located): Buffer | undefined {
    if (path === '' || path.startsWith('/') || path.includes('\\') || path.split('/').some((part) => part === '..' || part === '.' || part === '')) {
      this.problems.push({ message: `"local" path "${path}" must be relative and stay inside the files directory`, hint: 'write a path such as ssh/authorized_keys, with no "..", no leading "/" and no empty segments', at });
      return undefined;
    }
    const bytes = this.local?.(path);
    if (!bytes) {
      this.problems.push({ message: `"local" file "${path}" not found`, hint: this.local ? 'contents.local names a file under files/ in the data directory, by its path below files/' : 'local files are not available where this config is compiled', at });
      return undefined;
    }
    if (out.compression === 'gzip' && !(bytes[0] === 0x1f && bytes[1] === 0x8b)) {
      this.problems.push({ message: `"local" file "${path}" is not gzip data, but "compression" says gzip`, hint: 'drop "compression" (bootcfg compresses when it helps) or gzip the file', at });
      return undefined;
    }
    return bytes;
  }

  // ---- boot_device ----------------------------------------------------------------------------

  /** Expands boot_device into storage, merges the operator's storage over it, and moves positions along. */
  private applyBootDevice(boot: BootDevice, at: Located, config: Record<string, unknown>): void {
    if (boot.layout !== undefined && !BOOT_DEVICE_LAYOUTS.includes(boot.layout)) {
      const s390x = boot.layout.startsWith('s390x');
      this.problems.push({ pointer: '/boot_device/layout', message: `boot_device layout "${boot.layout}" is not supported${s390x ? ' by bootcfg' : ''}`, hint: `layouts: ${BOOT_DEVICE_LAYOUTS.join(', ')}${s390x ? ' (the s390x layouts need Butane fcos 1.6.0)' : ''}` });
      return;
    }
    if (boot.mirror?.devices !== undefined && boot.mirror.devices.length < 2) {
      this.problems.push({ pointer: '/boot_device/mirror/devices', message: 'mirroring requires at least two devices', hint: 'list two or more disks under boot_device.mirror.devices' });
      return;
    }
    const generated = expandBootDevice(boot);
    if (Object.keys(generated).length > 0) this.mergeGenerated(config, 'storage', generated, () => at);
  }

  /** with_mount_unit: one generated unit per filesystem, merged with the operator's units by name. */
  private applyMountUnits(config: Record<string, unknown>): void {
    const luks = (((config.storage ?? {}) as Record<string, unknown>).luks ?? []) as Array<Record<string, unknown>>;
    const units: object[] = [];
    for (const { filesystem, at } of this.mountUnits) {
      const made = mountUnit(filesystem, luks, minorOf(this.version) >= 3);
      if ('problem' in made) this.problems.push({ message: made.problem, hint: made.hint, at });
      else {
        this.generatedAt.set(made.unit, at);
        units.push(made.unit);
      }
    }
    if (units.length > 0) this.mergeGenerated(config, 'systemd', { units }, () => this.mountUnits[0]!.at);
  }

  /** Merges generated entries into a section; positions follow (generated entries get `atOf`'s). */
  private mergeGenerated(config: Record<string, unknown>, section: string, generated: Record<string, unknown>, atOf: (node: object) => Located): void {
    const own = (config[section] ?? {}) as Record<string, unknown>;
    const origins = new Map<object, string>();
    pointersOf(own, `/${section}`, origins);
    const trace = new Map<object, object>();
    config[section] = mergeSection(generated, own, trace);
    const old = new Map(this.positions);
    for (const key of [...this.positions.keys()]) if (key.startsWith(`/${section}/`)) this.positions.delete(key);
    this.repoint(config[section], `/${section}`, (node) => origins.get(trace.get(node) ?? node), old, atOf(generated));
  }

  /** Positions of a merged section: the operator's entries keep their lines, generated ones get `at`. */
  private repoint(node: unknown, pointer: string, originOf: (node: object) => string | undefined, old: Positions, at: Located): void {
    if (Array.isArray(node)) {
      node.forEach((item, i) => this.repoint(item, `${pointer}/${i}`, originOf, old, at));
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const origin = originOf(node);
    const here = this.generatedAt.get(node) ?? at;
    const move = (from: string | undefined, to: string) => this.positions.set(to, (from !== undefined && old.get(from)) || here);
    move(origin, pointer);
    for (const [key, value] of Object.entries(node)) {
      const from = origin === undefined ? undefined : `${origin}/${key}`;
      move(from, `${pointer}/${key}`);
      if (Array.isArray(value)) value.forEach((item, i) => { if (typeof item !== 'object') move(from && `${from}/${i}`, `${pointer}/${key}/${i}`); });
      this.repoint(value, `${pointer}/${key}`, originOf, old, here);
    }
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** The node an alias points at; counts every node visited against the expansion budget. */
  private deref(node: YamlNode | null | undefined): YamlNode | undefined {
    if (!node) return undefined;
    if (--this.budget < 0) {
      if (this.budget === -1) this.problem(node, `the document expands to more than ${MAX_NODES} nodes`, 'anchors and aliases may not multiply the document like this');
      return undefined;
    }
    if (!isAlias(node)) return node;
    const target = node.resolve(this.doc) as YamlNode | undefined;
    if (!target) this.problem(node, `unknown alias "*${node.source}"`);
    return target;
  }

  private at(node: YamlNode): Located {
    const offset = node.range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  private problem(node: YamlNode | null | undefined, message: string, hint?: string): void {
    this.problems.push({ message, hint, at: node ? this.at(node) : undefined });
  }
}

/** Every object and list inside a value → its JSON pointer. */
function pointersOf(node: unknown, pointer: string, out: Map<object, string>): void {
  if (node === null || typeof node !== 'object') return;
  out.set(node, pointer);
  for (const [key, value] of Object.entries(node)) pointersOf(value, `${pointer}/${key}`, out);
}

function kindOf(node: YamlNode | null | undefined): string {
  if (!node || isNull(node)) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  return `"${String((node as Scalar).value)}"`;
}

/** A plain `key:`, `~` or `null`: Go's YAML decoder leaves the field unset, and so does bootcfg. */
function isNull(node: YamlNode): boolean {
  return isScalar(node) && node.type === 'PLAIN' && ['', '~', 'null', 'Null', 'NULL'].includes(String(node.value));
}

/** Integers as Go's YAML decoder reads them: 420, 0644 and 0o644 (octal), 0x1A4, 0b… */
function yamlInteger(text: string): number | undefined {
  const match = /^([-+]?)(0o?[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+|[0-9][0-9_]*)$/.exec(text);
  if (!match) return undefined;
  const digits = match[2]!.replace(/_/g, '');
  const radix = /^0x/.test(digits) ? 16 : /^0b/.test(digits) ? 2 : /^0o?[0-7]/.test(digits) && digits !== '0' ? 8 : 10;
  const body = radix === 10 ? digits : digits.replace(/^0[oxb]?/, '');
  const value = parseInt(body === '' ? '0' : body, radix) * (match[1] === '-' ? -1 : 1);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Booleans as Go's YAML decoder takes them into a bool field (YAML 1.1's yes/no/on/off included). */
function yamlBoolean(text: string): boolean | undefined {
  if (/^(true|True|TRUE|yes|Yes|YES|on|On|ON|y|Y)$/.test(text)) return true;
  if (/^(false|False|FALSE|no|No|NO|off|Off|OFF|n|N)$/.test(text)) return false;
  return undefined;
}

/** Contents as a data: URL, the shortest of percent-encoded, base64 and (when allowed) gzip+base64. */
export function dataUrl(bytes: Buffer, mayCompress: boolean): { url: string; compression: string } {
  const candidates = [
    { url: `data:,${percentEncode(bytes)}`, compression: '' },
    { url: `data:;base64,${bytes.toString('base64')}`, compression: '' },
  ];
  if (mayCompress && bytes.length > 0) candidates.push({ url: `data:;base64,${gzipSync(bytes, { level: 9 }).toString('base64')}`, compression: 'gzip' });
  return candidates.reduce((best, candidate) => (candidate.url.length < best.url.length ? candidate : best));
}

function percentEncode(bytes: Buffer): string {
  let out = '';
  for (const byte of bytes) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~!$&'()*+,;=:@/]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** -1, 0 or 1 comparing "1.4.0" with "1.10.0" numerically (a suffix such as -experimental sorts last). */
function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split(/[.-]/).map((p) => (/^\d+$/.test(p) ? Number(p) : Infinity));
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0 && !Number.isNaN(d)) return Math.sign(d);
  }
  return 0;
}
