// An Ignition source (Butane YAML or Ignition JSON) → the Ignition JSON a machine fetches, checked
// at build time against the spec's schema and the rules that bite in practice, each error at the
// source's file, line and column. Pure: the groups compiler hands in the text (already rendered
// by handlebars) and a lookup over already-read local files; nothing here touches the disk.

import jsonc from 'jsonc-parser';
import type { Node as JsonNode, ParseError } from 'jsonc-parser';
import { ErrorList, LoadError } from './errors.js';
import { translateButane, type ButaneVariant, type LocalFiles, type Located, type Positions, type Problem } from './butane.js';
import { schemaProblems } from './ignition-schema.js';
import { IGNITION_VERSIONS, isIgnitionVersion, type IgnitionVersion } from './ignition-spec.js';
import { semanticProblems } from './ignition-rules.js';

export type IgnitionSourceKind = 'butane' | 'ignition';

export interface IgnitionSource {
  /** Data-directory-relative path, as errors name it. */
  file: string;
  text: string;
  kind: IgnitionSourceKind;
}

export interface IgnitionOptions {
  /** `contents.local` lookup over the config repository's files directory (already read). */
  local?: LocalFiles;
}

export interface CompiledIgnition {
  /** The Ignition config, compact JSON. */
  json: string;
  version: IgnitionVersion;
}

/** `.bu`, `.yaml`, `.yml` → butane; `.ign`, `.ignition` (matchbox's), `.json` → ignition; else none. */
export function ignitionSourceKind(file: string): IgnitionSourceKind | undefined {
  if (/\.(bu|ya?ml)$/.test(file)) return 'butane';
  if (/\.(ign|ignition|json)$/.test(file)) return 'ignition';
  return undefined;
}

/** Compiles one source; throws a LoadError (or an ErrorList of them) naming file, line and column. */
export function compileIgnition(source: IgnitionSource, options: IgnitionOptions = {}): CompiledIgnition {
  const problems: Problem[] = [];
  const read = source.kind === 'butane' ? butaneConfig(source.text, options.local, problems) : ignitionConfig(source.text, problems);
  if (read) problems.push(...checkConfig(read));
  if (problems.length > 0 || !read) throw toErrors(source.file, problems, read?.positions);
  return { json: JSON.stringify(read.config), version: read.version };
}

interface ReadConfig {
  config: Record<string, unknown>;
  version: IgnitionVersion;
  variant?: ButaneVariant;
  positions: Positions;
  /** Butane only: where an integer was written with a base prefix (ButaneResult.prefixed). */
  prefixed?: ReadonlySet<Located>;
}

function butaneConfig(text: string, local: LocalFiles | undefined, problems: Problem[]): ReadConfig | undefined {
  const result = translateButane(text, local, problems);
  return result && { config: result.config, version: result.version, variant: result.variant, positions: result.positions, prefixed: result.prefixed };
}

/** Schema first; the semantic rules only run on a config whose shape is right. */
function checkConfig({ config, version, variant, positions, prefixed }: ReadConfig): Problem[] {
  const schema = schemaProblems(config, version).map(({ pointer, key, message, hint }) => ({ pointer: key ? `${pointer}/${key}` : pointer, message, hint }));
  if (schema.length > 0) return schema;
  const spelledOctal = (pointer: string): boolean => {
    const at = positions.get(pointer);
    return at !== undefined && prefixed?.has(at) === true;
  };
  return semanticProblems(config, version, variant, spelledOctal);
}

// ---- Ignition JSON --------------------------------------------------------------------------

function ignitionConfig(text: string, problems: Problem[]): ReadConfig | undefined {
  const where = lineIndex(text);
  const syntax: ParseError[] = [];
  const root = jsonc.parseTree(text, syntax, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (syntax.length > 0 || !root) {
    const first = syntax[0];
    problems.push({ message: `invalid JSON: ${first ? jsonc.printParseErrorCode(first.error) : 'empty file'}`, at: where(first?.offset ?? 0) });
    return undefined;
  }
  if (root.type !== 'object') {
    problems.push({ message: 'an Ignition config is a JSON object', at: where(root.offset) });
    return undefined;
  }
  const positions: Positions = new Map([['', where(root.offset)]]);
  const config = jsonValue(root, '', positions, where, problems) as Record<string, unknown>;
  const version = (config.ignition as { version?: unknown } | undefined)?.version;
  if (!isIgnitionVersion(version)) {
    problems.push({
      pointer: config.ignition ? '/ignition/version' : '',
      message: version === undefined ? 'missing ignition.version' : `Ignition spec version ${JSON.stringify(version)} is not supported`,
      hint: `bootcfg takes Ignition ${IGNITION_VERSIONS.join(', ')} (what Debian 12's ignition-validate checks)${typeof version === 'string' && version.startsWith('2.') ? '; convert spec 2 configs with ign-converter' : ''}`,
    });
    return { config, version: '3.0.0', positions };
  }
  return problems.length > 0 ? { config, version, positions } : { config, version, positions };
}

/** The JSON value of a node, recording each property's and item's position; a repeated key is a problem. */
function jsonValue(node: JsonNode, pointer: string, positions: Positions, where: (offset: number) => Located, problems: Problem[]): unknown {
  if (node.type === 'array') {
    return (node.children ?? []).map((child, index) => {
      positions.set(`${pointer}/${index}`, where(child.offset));
      return jsonValue(child, `${pointer}/${index}`, positions, where, problems);
    });
  }
  if (node.type !== 'object') return node.value;
  const out: Record<string, unknown> = {};
  for (const property of node.children ?? []) {
    const [name, value] = property.children ?? [];
    if (!name || !value) continue;
    const key = String(name.value);
    const path = `${pointer}/${escapePointer(key)}`;
    if (Object.hasOwn(out, key)) {
      problems.push({ message: `duplicate key "${key}"`, hint: 'keep one of them (Ignition would silently take the last)', at: where(name.offset) });
      continue;
    }
    positions.set(path, where(name.offset));
    out[key] = jsonValue(value, path, positions, where, problems);
  }
  return out;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Offset → 1-based line and column. */
function lineIndex(text: string): (offset: number) => Located {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - starts[low]! + 1 };
  };
}

// ---- errors ---------------------------------------------------------------------------------

/** The nearest recorded position at or above a pointer. */
function locate(pointer: string, positions: Positions | undefined): Located | undefined {
  for (let path = pointer; ; path = path.slice(0, path.lastIndexOf('/'))) {
    const at = positions?.get(path);
    if (at || path === '') return at;
  }
}

function toErrors(file: string, problems: Problem[], positions: Positions | undefined): LoadError | ErrorList {
  const errors = problems.map((problem) => {
    const at = problem.at ?? (problem.pointer !== undefined ? locate(problem.pointer, positions) : undefined);
    return new LoadError(problem.message, { file, line: at?.line, column: at?.column, hint: problem.hint });
  });
  errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return errors.length === 1 ? errors[0]! : new ErrorList(errors);
}
