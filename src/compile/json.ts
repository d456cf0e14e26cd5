// Reading the JSON files of a data directory (boot configs, profiles, groups) so that every
// problem lands on its file, line and column with a fix. JSON.parse would give neither
// positions nor a word about duplicate keys (it keeps the last one silently), so files are read
// as a jsonc-parser tree and these helpers walk it. Pure.

import jsonc from 'jsonc-parser';
import type { Node as JsonNode, ParseError } from 'jsonc-parser';
import { LoadError } from './errors.js';

export type { JsonNode };

/**
 * One copy of each distinct string a load keeps (JsonReporter.kept). A string value read from
 * a JSON file is a slice of the file's text and holds all of it alive: at 100k machines the
 * boot configs' texts (43 MB) stayed in memory for their kernels' sake alone, and every machine
 * kept its own copy of the arguments most share. A load makes one of these and drops it when done.
 */
export class Strings {
  private readonly seen = new Map<string, string>();

  get(text: string): string {
    let kept = this.seen.get(text);
    if (kept === undefined) {
      kept = detached(text);
      this.seen.set(kept, kept);
    }
    return kept;
  }
}

/**
 * `text` in memory of its own: V8 makes a substring of 13 characters or more a view of the
 * longer string. A JSON round trip copies any text whole and flat; `(text + ' ').slice(0, -1)`,
 * as cheap, leaves a view of the copy (~10 MB more at 100k machines).
 */
function detached(text: string): string {
  return text.length < 13 ? text : (JSON.parse(JSON.stringify(text)) as string);
}

/** Reports problems inside one JSON document at the right line and column. */
export class JsonReporter {
  /**
   * @param strings the load's copies of the strings it keeps, when it keeps what it parses
   *   (parsers put the strings they make, such as kernel arguments, through it too).
   */
  constructor(readonly file: string, private readonly text: string, private readonly errors: LoadError[], private readonly strings?: Strings) {}

  /** `text` as the model keeps it: the load's one copy (Strings), when it keeps what it parses. */
  kept(text: string): string {
    return this.strings ? this.strings.get(text) : text;
  }

  at(offset: number, message: string, hint?: string): void {
    const { line, column } = this.position(offset);
    this.errors.push(new LoadError(message, { file: this.file, line, column, hint }));
  }

  /** Errors reported so far in this build (to tell whether a part of a file added any). */
  get count(): number {
    return this.errors.length;
  }

  position(offset: number): { line: number; column: number } {
    let line = 0;
    let start = 0;
    // Counting up to the offset beats indexing every line: most files are asked once, near the top.
    for (let i = this.text.indexOf('\n'); i !== -1 && i < offset; i = this.text.indexOf('\n', i + 1)) {
      line++;
      start = i + 1;
    }
    return { line: line + 1, column: offset - start + 1 };
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

/**
 * The root object of a JSON file and a reporter for it, or undefined after reporting why not.
 * `what` names the document ("a boot config"), `example` shows a minimal one.
 */
export function parseJsonObject(file: string, text: string, errors: LoadError[], what: string, example: string, strings?: Strings): { root: JsonNode; report: JsonReporter } | undefined {
  const report = new JsonReporter(file, text, errors, strings);
  const syntax: ParseError[] = [];
  const root = jsonc.parseTree(text, syntax, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (syntax.length > 0 || !root) {
    const first = syntax[0];
    const code = first ? jsonc.printParseErrorCode(first.error) : 'ValueExpected';
    report.at(first?.offset ?? 0, `invalid JSON: ${SYNTAX_MESSAGES[code] ?? code}`, `${what} is a JSON object: ${example}`);
    return undefined;
  }
  if (root.type !== 'object') {
    report.at(root.offset, `${what} must be a JSON object, not ${describe(root)}`, `write ${example}`);
    return undefined;
  }
  return { root, report };
}

/** Property name → value node; a repeated key is an error (JSON.parse would keep the last silently). */
export function objectProperties(node: JsonNode, report: JsonReporter): Map<string, JsonNode> {
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

/** Reports every property not in `allowed`, with a "did you mean" when one is close. */
export function rejectUnknownKeys(properties: ReadonlyMap<string, JsonNode>, allowed: readonly string[], report: JsonReporter): void {
  for (const [key, value] of properties) {
    if (allowed.includes(key)) continue;
    const guess = closest(key, allowed);
    report.at(value.parent!.offset, `unknown key "${key}"`, `allowed keys: ${allowed.join(', ')}${guess ? `; did you mean "${guess}"?` : ''}`);
  }
}

/** A string property's value, or undefined after reporting that it is not a non-empty string. */
export function stringValue(node: JsonNode, report: JsonReporter, what: string): string | undefined {
  if (node.type === 'string' && node.value !== '') return report.kept(node.value as string);
  report.at(node.offset, `${what} must be a non-empty string, not ${describe(node)}`, 'write it in double quotes');
  return undefined;
}

export function describe(node: JsonNode): string {
  if (node.type === 'null') return 'null';
  if (node.type === 'array' || node.type === 'object') return `an ${node.type}`;
  return `a ${node.type} (${JSON.stringify(node.value)})`;
}

/** The allowed word within edit distance 2 of a misspelt one, for "did you mean". */
export function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: { word: string; distance: number } | undefined;
  for (const word of allowed) {
    const distance = editDistance(key.toLowerCase(), word.toLowerCase());
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
