// Stage 1, load: the data directory's files → a typed model, or every problem found, each
// with its file, line, column and a fix. Pure: it sees file contents, never the disk. A file
// bootcfg cannot understand fails the build here, rather than becoming "no matching config"
// when a machine boots.

import jsonc from 'jsonc-parser';
import type { Node as JsonNode, ParseError } from 'jsonc-parser';
import { checkCloudConfig } from './cloud-config.js';
import { LoadError } from './errors.js';
import { KEY_PARSERS, type Selector, type SelectorKey } from './selectors.js';
import { tokenProblem, WHITESPACE_OR_CONTROL as UNSAFE, type TokenRole } from './tokens.js';

export interface BootConfig {
  kernel: string;
  initrd: string[];
  /** Kernel arguments in order: `cmdline` entries (`key=value`, or a bare `key`), then `args`. */
  args: string[];
}

export interface Sourced<T> {
  /** Data-directory-relative path of the file it came from. */
  file: string;
  selector: Selector;
  value: T;
}

export interface Model {
  boot: Sourced<BootConfig>[];
  cloud: Sourced<Buffer>[];
  /** Template overrides from the data directory: template name → source. */
  templates: Map<string, { file: string; text: string }>;
}

export interface LoadResult {
  model: Model;
  errors: LoadError[];
}

const BOOT_KEYS = ['kernel', 'initrd', 'cmdline', 'args'] as const;
const LAYOUT_HINT = 'files live at <boot|cloud>/default, <boot|cloud>/uuid/<uuid> or <boot|cloud>/mac/<mac>';

/** Data-directory-relative POSIX path → file contents: what build/source.ts read. */
export type SourceFiles = ReadonlyMap<string, Buffer>;

export function load(files: SourceFiles, templateNames: readonly string[]): LoadResult {
  const model: Model = { boot: [], cloud: [], templates: new Map() };
  const errors: LoadError[] = [];
  for (const [file, content] of files) {
    const [root, ...rest] = file.split('/');
    if (root === 'templates') {
      loadTemplate(file, rest, content, templateNames, model, errors);
      continue;
    }
    const selector = parseSelectorPath(file, rest, errors);
    if (!selector) continue;
    if (root === 'cloud') {
      errors.push(...checkCloudConfig(file, content));
      model.cloud.push({ file, selector, value: content });
    }
    else {
      const config = parseBootConfig(file, content.toString('utf8'), errors);
      if (config) model.boot.push({ file, selector, value: config });
    }
  }
  if (files.size === 0) {
    errors.push(new LoadError('no boot or cloud configs found', { hint: `is --data-path right? ${LAYOUT_HINT}` }));
  }
  return { model, errors };
}

/** `default`, `uuid/<uuid>`, `mac/<mac>` → the selector; anything else is a layout error. */
function parseSelectorPath(file: string, segments: string[], errors: LoadError[]): Selector | undefined {
  if (segments.length === 1 && segments[0] === 'default') return {};
  const [key, name] = segments;
  const parser = key !== undefined && Object.hasOwn(KEY_PARSERS, key) ? KEY_PARSERS[key as SelectorKey] : undefined;
  if (segments.length !== 2 || !parser || name === undefined) {
    errors.push(new LoadError('unexpected file in the data directory', { file, hint: LAYOUT_HINT }));
    return undefined;
  }
  const value = parser.parse(name);
  if (value === undefined) {
    errors.push(new LoadError(`file name "${name}" is not a ${key === 'uuid' ? 'UUID' : 'MAC address'}`, { file, hint: `name the file after the machine's ${key}: ${parser.hint}` }));
    return undefined;
  }
  return { [key as SelectorKey]: value } as Selector;
}

function loadTemplate(file: string, rest: string[], content: Buffer, known: readonly string[], model: Model, errors: LoadError[]): void {
  const name = rest.length === 1 ? rest[0]!.replace(/\.hbs$/, '') : undefined;
  if (!name || !rest[0]!.endsWith('.hbs') || !known.includes(name)) {
    errors.push(new LoadError('unknown template', { file, hint: `a data directory may override ${known.map((n) => `templates/${n}.hbs`).join(', ')}` }));
    return;
  }
  model.templates.set(name, { file, text: content.toString('utf8') });
}

// ---- boot configs -------------------------------------------------------------------------

/** Reports problems inside one JSON document at the right line and column. */
class JsonReporter {
  private lineStarts: number[] | undefined;
  constructor(private readonly file: string, private readonly text: string, private readonly errors: LoadError[]) {}

  at(offset: number, message: string, hint?: string): void {
    const { line, column } = this.position(offset);
    this.errors.push(new LoadError(message, { file: this.file, line, column, hint }));
  }

  private position(offset: number): { line: number; column: number } {
    this.lineStarts ??= [0, ...[...this.text.matchAll(/\n/g)].map((m) => m.index! + 1)];
    let line = 0;
    while (line + 1 < this.lineStarts.length && this.lineStarts[line + 1]! <= offset) line++;
    return { line: line + 1, column: offset - this.lineStarts[line]! + 1 };
  }
}

const SYNTAX_MESSAGES: Record<string, string> = {
  CommaExpected: 'expected a comma',
  ColonExpected: 'expected a colon',
  PropertyNameExpected: 'expected a property name in double quotes (a trailing comma?)',
  ValueExpected: 'expected a value',
  CloseBraceExpected: 'expected }',
  CloseBracketExpected: 'expected ]',
  EndOfFileExpected: 'unexpected text after the end of the JSON value',
  UnexpectedEndOfString: 'unterminated string',
  InvalidSymbol: 'invalid JSON (comments and single quotes are not JSON)',
  InvalidCommentToken: 'comments are not allowed in JSON',
};

function parseBootConfig(file: string, text: string, errors: LoadError[]): BootConfig | undefined {
  const report = new JsonReporter(file, text, errors);
  const syntax: ParseError[] = [];
  const root = jsonc.parseTree(text, syntax, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (syntax.length > 0 || !root) {
    const first = syntax[0];
    const code = first ? jsonc.printParseErrorCode(first.error) : 'ValueExpected';
    report.at(first?.offset ?? 0, `invalid JSON: ${SYNTAX_MESSAGES[code] ?? code}`, 'a boot config is a JSON object: {"kernel": "/images/…", "initrd": ["…"], "cmdline": {"key": "value"}}');
    return undefined;
  }
  if (root.type !== 'object') {
    report.at(root.offset, `a boot config must be a JSON object, not ${describe(root)}`, 'write {"kernel": "/images/…", "initrd": ["…"]}');
    return undefined;
  }
  const before = errors.length;
  const properties = objectProperties(root, report);
  const kernel = properties.get('kernel');
  if (!kernel) report.at(root.offset, 'missing "kernel"', 'add "kernel": "/images/<os>/<version>/vmlinuz" (a URL or a path under /images)');
  const config: BootConfig = {
    kernel: kernel ? word(kernel, report, '"kernel"') ?? '' : '',
    initrd: stringList(properties.get('initrd'), report, '"initrd"'),
    args: [...cmdline(properties.get('cmdline'), report), ...stringList(properties.get('args'), report, '"args"', 'argument')],
  };
  for (const [key, value] of properties) {
    if (!(BOOT_KEYS as readonly string[]).includes(key)) {
      const guess = closest(key, BOOT_KEYS);
      report.at(value.parent!.offset, `unknown key "${key}"`, `allowed keys: ${BOOT_KEYS.join(', ')}${guess ? `; did you mean "${guess}"?` : ''}`);
    }
  }
  return errors.length === before ? config : undefined;
}

/** Property name → value node; a repeated key is an error (JSON.parse would keep the last silently). */
function objectProperties(node: JsonNode, report: JsonReporter): Map<string, JsonNode> {
  const properties = new Map<string, JsonNode>();
  for (const property of node.children ?? []) {
    const [name, value] = property.children ?? [];
    if (!name || !value) continue;
    const key = String(name.value);
    if (properties.has(key)) report.at(name.offset, `duplicate key "${key}"`, 'keep one of them');
    else properties.set(key, value);
  }
  return properties;
}

function word(node: JsonNode, report: JsonReporter, what: string, role: TokenRole = 'image'): string | undefined {
  if (node.type !== 'string' || node.value === '') {
    report.at(node.offset, `${what} must be a non-empty string, not ${describe(node)}`, 'write it in double quotes');
    return undefined;
  }
  const problem = tokenProblem(node.value, role); // src/compile/tokens.ts: what iPXE reads as syntax
  if (problem) {
    report.at(node.offset, `${what} ${problem.message}`, problem.hint);
    return undefined;
  }
  return node.value as string;
}

function stringList(node: JsonNode | undefined, report: JsonReporter, what: string, role: TokenRole = 'image'): string[] {
  if (!node) return [];
  if (node.type !== 'array') {
    report.at(node.offset, `${what} must be a list of strings, not ${describe(node)}`, `write ${what}: ["…", "…"]`);
    return [];
  }
  return (node.children ?? []).map((item) => word(item, report, `each item of ${what}`, role)).filter((v): v is string => v !== undefined);
}

function cmdline(node: JsonNode | undefined, report: JsonReporter): string[] {
  if (!node) return [];
  if (node.type !== 'object') {
    report.at(node.offset, `"cmdline" must be an object of strings, not ${describe(node)}`, 'write "cmdline": {"console": "ttyS0", "quiet": ""} (an empty string renders a bare key)');
    return [];
  }
  const args: string[] = [];
  for (const [key, value] of objectProperties(node, report)) {
    if (key === '' || /[\s=]/.test(key) || UNSAFE.test(key)) {
      report.at(value.parent!.offset, `"cmdline" key "${key}" is not a kernel argument name`, 'keys must be non-empty and hold no spaces or "="');
      continue;
    }
    if (value.type !== 'string') {
      report.at(value.offset, `"cmdline" value of "${key}" must be a string, not ${describe(value)}`, `write "${key}": "${value.type === 'number' || value.type === 'boolean' ? String(value.value) : 'value'}" (an empty string renders a bare "${key}")`);
      continue;
    }
    const token = value.value === '' ? key : `${key}=${value.value}`;
    const problem = tokenProblem(token, 'argument');
    if (UNSAFE.test(value.value)) report.at(value.offset, `"cmdline" value of "${key}" contains whitespace or a control character`, 'iPXE splits the kernel line on spaces; use separate keys');
    else if (problem) report.at(value.parent!.offset, `"cmdline" entry ${problem.message}`, problem.hint);
    else args.push(token);
  }
  return args;
}

function describe(node: JsonNode): string {
  if (node.type === 'null') return 'null';
  if (node.type === 'array' || node.type === 'object') return `an ${node.type}`;
  return `a ${node.type} (${JSON.stringify(node.value)})`;
}

/** The allowed key within edit distance 2 of a misspelt one, for "did you mean". */
function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: { word: string; distance: number } | undefined;
  for (const word of allowed) {
    const distance = editDistance(key.toLowerCase(), word);
    if (distance <= 2 && (!best || distance < best.distance)) best = { word, distance };
  }
  return best?.word;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}
