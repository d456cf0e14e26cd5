// groups/<id>.json: which machines get which profile, in matchbox's field names. A group's
// selector says which requests it answers (uuid, mac, hostname, serial, arch or any label; a
// list means any of its values), its metadata is what its data templates and /metadata see.
// Every key and value goes through the same checks as a request parameter (shapes.ts), so no
// value can name a file the servers would never look up. Parsed here; matched in resolve.

import type { LoadError } from './errors.js';
import { objectProperties, stringValue, type JsonNode, type JsonReporter, type Strings } from './json.js';
import { openDocument } from './profiles.js';
import { compareKeys, isSelectorKey, KEY_HINT, parseSelectorValue, valueHint } from './shapes.js';

export interface Position {
  line: number;
  column: number;
}

export interface Group {
  file: string;
  id: string;
  name: string;
  profile: string;
  profileAt: Position;
  /** The selector's keys in canonical order (its shape), each with its canonical values. */
  selector: ReadonlyArray<readonly [key: string, values: readonly string[]]>;
  shape: readonly string[];
  /** JSON values only; no key is `request` or `bootcfg` at the top level. */
  metadata: Record<string, unknown>;
}

const GROUP_KEYS = ['id', 'name', 'profile', 'selector', 'metadata'] as const;
const EXAMPLE = '{"id": "workers", "profile": "worker", "selector": {"mac": ["52:54:00:12:34:56"]}, "metadata": {"role": "worker"}}';
/** Top-level names the template context keeps for itself (groups-contract: template context). */
export const RESERVED_METADATA = ['request', 'bootcfg'] as const;
/** Answers one group may expand to (the product of its selector lists). */
export const MAX_GROUP_ANSWERS = 200_000;
/** Nesting of metadata objects and lists. */
const MAX_METADATA_DEPTH = 32;

export function parseGroup(file: string, id: string, text: string, errors: LoadError[], strings?: Strings): Group | undefined {
  const document = openDocument(file, id, text, errors, { what: 'a group', example: EXAMPLE, keys: GROUP_KEYS }, strings);
  if (!document) return undefined;
  const { root, report, properties, name, before } = document;
  const profileNode = properties.get('profile');
  const profile = profileNode ? stringValue(profileNode, report, '"profile"') : undefined;
  if (!profileNode) report.at(root.offset, 'missing "profile"', 'add "profile": "<id>", the profiles/<id>.json these machines boot');
  const selector = parseSelector(properties.get('selector'), report);
  const metadata = parseMetadata(properties.get('metadata'), report);
  if (report.count !== before || profile === undefined) return undefined;
  return { file, id, name, profile, profileAt: report.position(profileNode!.offset), selector, shape: selector.map(([key]) => key), metadata };
}

function parseSelector(node: JsonNode | undefined, report: JsonReporter): Group['selector'] {
  if (!node) return [];
  if (node.type !== 'object') {
    report.at(node.offset, `"selector" must be an object, not a ${node.type}`, 'write "selector": {"mac": "52:54:00:12:34:56", "os": "installed"} ({} or no selector: the default group)');
    return [];
  }
  const selector: Array<[string, string[]]> = [];
  let answers = 1;
  for (const [key, value] of objectProperties(node, report)) {
    if (!isSelectorKey(key)) {
      report.at(value.parent!.offset, `"${key}" is not a selector key`, KEY_HINT);
      continue;
    }
    const values = selectorValues(key, value, report);
    answers *= Math.max(values.length, 1);
    if (values.length > 0) selector.push([key, values]);
  }
  if (answers > MAX_GROUP_ANSWERS) report.at(node.offset, `the selector's lists make ${answers} combinations, more than ${MAX_GROUP_ANSWERS}`, 'split the group, or list fewer values per key');
  return selector.sort(([a], [b]) => compareKeys(a, b));
}

/** One value or a non-empty list of values, each canonical and distinct. */
function selectorValues(key: string, node: JsonNode, report: JsonReporter): string[] {
  const items = node.type === 'array' ? node.children ?? [] : [node];
  if (node.type === 'array' && items.length === 0) {
    report.at(node.offset, `selector "${key}" is an empty list, which no machine matches`, 'give at least one value, or remove the key');
    return [];
  }
  const values = new Map<string, JsonNode>();
  for (const item of items) {
    if (item.type !== 'string') {
      report.at(item.offset, `selector "${key}" values must be strings, not a ${item.type}`, `write "${key}": "value" or "${key}": ["a", "b"]`);
      continue;
    }
    const value = parseSelectorValue(key, item.value as string);
    if (value === undefined) report.at(item.offset, `invalid ${key} ${JSON.stringify(item.value)}: ${valueHint(key)}`, key === 'uuid' || key === 'mac' ? `any case and spelling works; it is matched as ${key === 'mac' ? 'a MAC' : 'a UUID'}` : 'values are compared exactly, case-sensitive');
    else if (values.has(value)) report.at(item.offset, `selector "${key}" lists ${JSON.stringify(item.value)} twice`, key === 'mac' || key === 'uuid' ? `${key} values match in any case and spelling; keep one` : 'keep one');
    else values.set(report.kept(value), item);
  }
  return [...values.keys()];
}

function parseMetadata(node: JsonNode | undefined, report: JsonReporter): Record<string, unknown> {
  if (!node) return {};
  if (node.type !== 'object') {
    report.at(node.offset, `"metadata" must be an object, not a ${node.type}`, 'write "metadata": {"role": "worker", "etcd": {"name": "node1"}}');
    return {};
  }
  for (const child of node.children ?? []) {
    const name = child.children?.[0];
    if (name && (RESERVED_METADATA as readonly string[]).includes(String(name.value))) {
      report.at(name.offset, `metadata key "${String(name.value)}" is reserved`, '"request" holds the request\'s query and "bootcfg" the group and profile in a template\'s context; rename the key');
    }
  }
  return jsonValue(node, report, 0) as Record<string, unknown>;
}

// Metadata keys become KEY=value lines of /metadata: they must survive that form.
const METADATA_KEY = /^[^\s\u0000-\u001f\u007f=]+$/;

/** A JSON node as a plain value; keys checked, nesting bounded. */
function jsonValue(node: JsonNode, report: JsonReporter, depth: number): unknown {
  if (depth > MAX_METADATA_DEPTH) {
    report.at(node.offset, `metadata nested deeper than ${MAX_METADATA_DEPTH} levels`, 'flatten it');
    return null;
  }
  if (node.type === 'array') return (node.children ?? []).map((child) => jsonValue(child, report, depth + 1));
  if (node.type === 'string') return report.kept(node.value as string);
  if (node.type !== 'object') return node.value ?? null;
  const object: Record<string, unknown> = {};
  for (const [key, value] of objectProperties(node, report)) {
    if (!METADATA_KEY.test(key) || key === '__proto__') {
      report.at(value.parent!.offset, `metadata key ${JSON.stringify(key)} cannot be used`, 'keys are non-empty and hold no whitespace, control characters or "=" (they become KEY=value lines of /metadata); "__proto__" is refused');
      continue;
    }
    object[key] = jsonValue(value, report, depth + 1);
  }
  return object;
}
