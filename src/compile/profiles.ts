// profiles/<id>.json: what a group of machines boots (kernel, initrd, arguments) and which data
// templates it gets (cloud_id, generic_id, ignition_id), in matchbox's field names so matchbox
// data directories read as they are. Parsed here with every problem located; whether the
// templates exist and whether a group uses the profile is resolve's business.

import type { LoadError } from './errors.js';
import { objectProperties, parseJsonObject, rejectUnknownKeys, stringValue, type JsonNode, type JsonReporter, type Strings } from './json.js';
import type { BootConfig } from './load.js';

/** A profile's reference to a data template, and where in the profile it is written. */
export interface TemplateRef {
  /** `cloud/<cloud_id>`, `generic/<generic_id>` or `ignition/<ignition_id>`: the data-directory path. */
  path: string;
  line: number;
  column: number;
}

export interface Profile {
  file: string;
  id: string;
  name: string;
  boot: BootConfig;
  cloud?: TemplateRef;
  generic?: TemplateRef;
  ignition?: TemplateRef;
  /** The profile as templates see it (`bootcfg.profile`): matchbox's field names. */
  view: Record<string, unknown>;
}

const PROFILE_KEYS = ['id', 'name', 'boot', 'cloud_id', 'ignition_id', 'generic_id'] as const;
const EXAMPLE = '{"id": "worker", "boot": {"kernel": "/images/…", "initrd": ["…"]}, "cloud_id": "worker.yaml"}';
/** The seed's selecting names under boot/ and cloud/: never a data template's name. */
export const SEED_NAMES = ['default', 'uuid', 'mac'] as const;

/** The template fields and the directory each names a file in. */
export const TEMPLATE_FIELDS = [
  { field: 'cloud_id', dir: 'cloud', key: 'cloud' },
  { field: 'generic_id', dir: 'generic', key: 'generic' },
  { field: 'ignition_id', dir: 'ignition', key: 'ignition' },
] as const;
// A template id is a relative path inside its directory: no "..", no dot-files, no empty segments.
const TEMPLATE_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

export type BootParser = (node: JsonNode, report: JsonReporter) => BootConfig | undefined;

/** The profile in `file` (named `id` by its file name), or undefined after reporting every problem. */
export function parseProfile(file: string, id: string, text: string, errors: LoadError[], parseBoot: BootParser, strings?: Strings): Profile | undefined {
  const document = openDocument(file, id, text, errors, { what: 'a profile', example: EXAMPLE, keys: PROFILE_KEYS }, strings);
  if (!document) return undefined;
  const { root, report, properties, name, before } = document;
  const bootNode = properties.get('boot');
  let boot: BootConfig | undefined;
  if (!bootNode) report.at(root.offset, 'missing "boot"', 'add "boot": {"kernel": "/images/<os>/<version>/vmlinuz", "initrd": ["…"]}');
  else if (bootNode.type !== 'object') report.at(bootNode.offset, `"boot" must be an object, not a ${bootNode.type}`, 'write "boot": {"kernel": "…", "initrd": ["…"], "args": ["…"]}');
  else boot = parseBoot(bootNode, report);
  const profile: Omit<Profile, 'boot' | 'view'> = { file, id, name };
  for (const { field, dir, key } of TEMPLATE_FIELDS) {
    const ref = templateRef(properties.get(field), field, dir, report);
    if (ref) profile[key] = ref;
  }
  if (report.count !== before || !boot) return undefined;
  return { ...profile, boot, view: profileView(profile, boot) };
}

export interface Document {
  root: JsonNode;
  report: JsonReporter;
  properties: Map<string, JsonNode>;
  /** `"name"`, or the id when there is none. */
  name: string;
  /** Problems reported before this document: more after reading it means it is bad. */
  before: number;
}

/**
 * The parts profiles and groups share: a JSON object of known keys whose `"id"` is its file
 * name (matchbox finds both by file name) and whose `"name"` is optional. Undefined when the
 * file is not a JSON object at all (reported).
 */
export function openDocument(file: string, id: string, text: string, errors: LoadError[], shape: { what: string; example: string; keys: readonly string[] }, strings?: Strings): Document | undefined {
  const parsed = parseJsonObject(file, text, errors, shape.what, shape.example, strings);
  if (!parsed) return undefined;
  const { root, report } = parsed;
  const before = report.count;
  const properties = objectProperties(root, report);
  rejectUnknownKeys(properties, shape.keys, report);
  checkId(properties.get('id'), id, root, report, file.split('/')[0]!);
  const name = optionalString(properties.get('name'), report, '"name"') ?? id;
  return { root, report, properties, name, before };
}

function checkId(node: JsonNode | undefined, id: string, root: JsonNode, report: JsonReporter, dir: string): void {
  if (!node) {
    report.at(root.offset, 'missing "id"', `add "id": "${id}" (the file name without .json)`);
    return;
  }
  const value = stringValue(node, report, '"id"');
  if (value !== undefined && value !== id) report.at(node.offset, `"id" is "${value}" but the file is ${dir}/${id}.json`, `make them the same: rename the file to ${dir}/${value}.json or write "id": "${id}"`);
}

function optionalString(node: JsonNode | undefined, report: JsonReporter, what: string): string | undefined {
  return node ? stringValue(node, report, what) : undefined;
}

function templateRef(node: JsonNode | undefined, field: string, dir: string, report: JsonReporter): TemplateRef | undefined {
  if (!node) return undefined;
  const id = stringValue(node, report, `"${field}"`);
  if (id === undefined) return undefined;
  if (dir === 'cloud' && (SEED_NAMES as readonly string[]).some((name) => id === name || id.startsWith(`${name}/`))) {
    report.at(node.offset, `"cloud_id" "${id}" names a seed cloud config, not a template`, 'cloud/default, cloud/uuid/… and cloud/mac/… are the seed layout\'s per-machine files; put the template at another name, e.g. cloud/worker.yaml');
    return undefined;
  }
  if (!TEMPLATE_ID.test(id)) {
    report.at(node.offset, `"${field}" "${id}" is not a file name under ${dir}/`, 'use letters, digits, ".", "_" and "-", with "/" between directories; no "..", no leading "." or "/"');
    return undefined;
  }
  return { path: `${dir}/${id}`, ...report.position(node.offset) };
}

function profileView(profile: Omit<Profile, 'boot' | 'view'>, boot: BootConfig): Record<string, unknown> {
  const view: Record<string, unknown> = { id: profile.id, name: profile.name, boot: { kernel: boot.kernel, initrd: boot.initrd, args: boot.args } };
  for (const { field, dir, key } of TEMPLATE_FIELDS) {
    const ref = profile[key];
    if (ref) view[field] = ref.path.slice(dir.length + 1);
  }
  return view;
}
