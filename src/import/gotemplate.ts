// Go text/template → handlebars, for `bootcfg import matchbox`. matchbox renders cloud/,
// generic/ and ignition/ templates with Go's text/template; bootcfg renders handlebars with
// Go's built-ins as helpers (src/compile/template-helpers.ts). This translates the constructs
// matchbox users write — fields, variables, `$`, if/else if/else, range (with variables), with,
// comparisons, index, len, and/or/not, print/printf, `{{-`/`-}}` trimming — and reports every
// construct it cannot translate with its line and column instead of dropping it.
//
// How scopes map: Go's dot changes inside range and with; handlebars' context changes inside
// #each. The translation never relies on handlebars' implicit context: a range element is a
// named block parameter (`{{#each list as |item i|}}`), the root is `@root` inside #each, `with`
// becomes `#if` with its value substituted for dot, and a `$x :=` variable is replaced by the
// expression it names. The output is meant for data-template options { noEscape, strict,
// ignoreStandalone } and renders the same without ignoreStandalone (see guard()).

import { parse, ParseError, type Command, type Node, type Operand, type Pipeline } from './goparse.js';
import type { Position } from './golex.js';
import { TEMPLATE_HELPERS } from '../compile/template-helpers.js';

export interface TranslationProblem extends Position {
  message: string;
  hint: string;
}

export interface Translation {
  /** The handlebars text; each problem left as an `{{untranslated "…"}}` that fails the build. */
  text: string;
  problems: TranslationProblem[];
  /** Every `.request.query.<key>` the template reads: it compiles only where a selector fixes <key>. */
  requestKeys: Array<Position & { key: string }>;
}

/** Go functions with a helper of the same name and meaning. */
const HELPERS = new Set(Object.keys(TEMPLATE_HELPERS));
/** Names handlebars would read as something else at the head of a path. */
const RESERVED = new Set(['true', 'false', 'null', 'undefined', 'this', 'else', 'as', 'if', 'each', 'with', 'unless', 'lookup', 'log']);
const PRINTF_VERBS = /%[^%sv]/;

/** A value the template can name: a path from the root or a block parameter, a literal, or a helper call. */
type Expr =
  | { kind: 'path'; root: boolean; head: string; segments: string[] }
  | { kind: 'literal'; hbs: string; printed?: string }
  | { kind: 'call'; name: string; args: Expr[] };

interface Scope {
  /** Go variables (without `$`) → what they name. */
  variables: Map<string, Expr>;
}

export function translateGoTemplate(source: string): Translation {
  const translator = new Translator();
  let nodes: Node[];
  try {
    nodes = parse(source);
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    return { text: '', problems: [{ line: error.at.line, column: error.at.column, message: `Go template syntax: ${error.message}`, hint: 'matchbox could not parse this template either; fix it in the source first' }], requestKeys: [] };
  }
  const text = unmarkBackslashes(translator.list(nodes, { dot: rootExpr(), depth: 0 }));
  return { text, problems: translator.problems, requestKeys: translator.requestKeys };
}

function rootExpr(): Expr {
  return { kind: 'path', root: true, head: '', segments: [] };
}

interface Context {
  /** What Go's dot is here. */
  dot: Expr;
  /** How many #each blocks enclose this point (inside one, root paths need `@root.`). */
  depth: number;
}

class Translator {
  readonly problems: TranslationProblem[] = [];
  readonly requestKeys: Array<Position & { key: string }> = [];
  private readonly scopes: Scope[] = [{ variables: new Map([['', rootExpr()]]) }];
  private readonly blockParams = new Set<string>();

  /** Problems of the node being translated, not yet marked in the output. */
  private pending: TranslationProblem[] = [];

  private report(at: Position, message: string, hint: string): Expr {
    const problem = { line: at.line, column: at.column, message, hint };
    this.problems.push(problem);
    this.pending.push(problem);
    return { kind: 'literal', hbs: '""', printed: '' };
  }

  list(nodes: Node[], context: Context): string {
    this.scopes.push({ variables: new Map() });
    const out = nodes.map((node) => this.marked(node, context)).join('');
    this.scopes.pop();
    return out;
  }

  /**
   * A node's translation, preceded by `{{untranslated "…"}}` for each problem in it (a body's
   * problems are marked inside the body). No helper has that name, so a template written
   * with --force fails the build at that line until someone rewrites the construct.
   */
  private marked(node: Node, context: Context): string {
    const out = this.node(node, context);
    const problems = this.pending;
    this.pending = [];
    const markers = problems.map((problem) => `{{untranslated ${hbsString(`${problem.line}:${problem.column}: ${problem.message}`)}}}`).join('');
    return node.kind === 'action' && problems.length > 0 ? markers : markers + out;
  }

  private node(node: Node, context: Context): string {
    switch (node.kind) {
      case 'text':
        return escapeText(node.text);
      case 'action':
        return this.action(node.pipeline, context);
      case 'if':
        return this.ifNode(node, context);
      case 'with':
        return this.withNode(node, context);
      case 'range':
        return this.rangeNode(node, context);
      case 'unsupported':
        this.report(node.at, `${node.what} is not translated`, 'matchbox data templates are single files: inline the named template, or split the file');
        return '';
    }
  }

  private action(pipeline: Pipeline, context: Context): string {
    if (pipeline.assign) {
      this.report(pipeline.at, `assignment to $${pipeline.declare[0]} is not translated`, 'handlebars has no variables: give the new value its own $name');
      return '';
    }
    const value = this.pipeline(pipeline, context);
    if (pipeline.declare.length > 0) {
      this.scopes[this.scopes.length - 1]!.variables.set(pipeline.declare[0]!, value);
      return '';
    }
    return this.output(value, context, pipeline.at);
  }

  /** `{{value}}`; a literal is written as text (handlebars would read `{{"x"}}` as a field). */
  private output(value: Expr, context: Context, at: Position): string {
    if (value.kind === 'literal') {
      if (value.printed === undefined) this.report(at, `cannot print ${value.hbs}`, 'Go prints nothing sensible for it either');
      return escapeText(value.printed ?? '');
    }
    return `{{${this.render(value, context, false)}}}`;
  }

  private ifNode(node: Extract<Node, { kind: 'if' }>, context: Context): string {
    let out = '';
    node.branches.forEach((branch, i) => {
      const condition = this.condition(branch.pipeline, context);
      out += i === 0 ? `{{#if ${condition}}}` : `{{else if ${condition}}}`;
      out += guard(this.list(branch.body, context));
    });
    if (node.otherwise) out += `{{else}}${guard(this.list(node.otherwise, context))}`;
    return `${out}{{/if}}`;
  }

  private withNode(node: Extract<Node, { kind: 'with' | 'range' }>, context: Context): string {
    const value = this.pipeline(node.pipeline, context);
    const body = guard(this.scoped(node.pipeline.declare, value, () => this.list(node.body, { ...context, dot: value })));
    const otherwise = node.otherwise ? `{{else}}${guard(this.list(node.otherwise, context))}` : '';
    return `{{#if ${this.render(value, context, true)}}}${body}${otherwise}{{/if}}`;
  }

  private rangeNode(node: Extract<Node, { kind: 'with' | 'range' }>, context: Context): string {
    const { declare } = node.pipeline;
    const list = this.pipeline(node.pipeline, context);
    const elementName = this.paramName(declare.length === 2 ? declare[1]! : (declare[0] ?? 'item'));
    const indexName = declare.length === 2 ? this.paramName(declare[0]!) : undefined;
    const element: Expr = { kind: 'path', root: false, head: elementName, segments: [] };
    const names = indexName ? [elementName, indexName] : [elementName];
    names.forEach((name) => this.blockParams.add(name));
    const inner: Context = { dot: element, depth: context.depth + 1 };
    const variables = declare.length === 2 ? [declare[1]!, declare[0]!] : declare;
    const values: Expr[] = names.map((name) => ({ kind: 'path', root: false, head: name, segments: [] }));
    const body = guard(this.scopedAll(variables, values, () => this.list(node.body, inner)));
    names.forEach((name) => this.blockParams.delete(name));
    const otherwise = node.otherwise ? `{{else}}${guard(this.list(node.otherwise, context))}` : '';
    return `{{#each ${this.render(list, context, true)} as |${names.join(' ')}|}}${body}${otherwise}{{/each}}`;
  }

  private scoped(declare: string[], value: Expr, body: () => string): string {
    return this.scopedAll(declare.slice(0, 1), [value], body);
  }

  private scopedAll(names: string[], values: Expr[], body: () => string): string {
    const scope: Scope = { variables: new Map(names.map((name, i) => [name, values[i]!])) };
    this.scopes.push(scope);
    const out = body();
    this.scopes.pop();
    return out;
  }

  /** A block parameter name for a Go variable: not a helper, keyword or parameter already in use. */
  private paramName(goName: string): string {
    let name = goName.replace(/[^A-Za-z0-9_]/g, '_') || 'item';
    while (HELPERS.has(name) || RESERVED.has(name) || this.blockParams.has(name)) name = `${name}_`;
    return name;
  }

  private condition(pipeline: Pipeline, context: Context): string {
    if (pipeline.declare.length > 0) this.report(pipeline.at, 'a variable declared in an {{if}} is not translated', 'declare it in its own {{$x := …}} before the {{if}}');
    return this.render(this.pipeline(pipeline, context), context, true);
  }

  /** A pipeline's value: `a | f b` is `f b a`. */
  private pipeline(pipeline: Pipeline, context: Context): Expr {
    let value: Expr | undefined;
    for (const command of pipeline.commands) value = this.command(command, context, value);
    return value!;
  }

  private command(command: Command, context: Context, piped: Expr | undefined): Expr {
    const [head, ...rest] = command.operands;
    if (head!.kind !== 'function') {
      if (rest.length > 0 || piped) return this.report(command.at, "can't give argument to non-function", 'Go refuses this too');
      return this.operand(head!, context);
    }
    const args = rest.map((operand) => this.operand(operand, context));
    if (piped) args.push(piped);
    const call = this.call(head!.name, args, head!.at);
    return this.fields(call, head!.fields, head!.at);
  }

  private call(name: string, args: Expr[], at: Position): Expr {
    if (name === 'printf') {
      const format = args[0];
      if (format?.kind !== 'literal' || format.printed === undefined) return this.report(at, 'printf with a format that is not a string literal is not translated', 'write the format as a "…" literal');
      if (PRINTF_VERBS.test(format.printed.replace(/%%/g, ''))) return this.report(at, `printf format ${JSON.stringify(format.printed)}: only %s, %v and %% are translated`, 'matchbox metadata numbers are float64, so %d prints %!d(float64=…) there anyway: use %v');
    }
    if (!HELPERS.has(name)) return this.report(at, `function ${name} is not translated`, `bootcfg's data templates have: ${[...HELPERS].join(', ')}`);
    return { kind: 'call', name, args };
  }

  private operand(operand: Operand, context: Context): Expr {
    const base = this.term(operand, context);
    return operand.kind === 'field' ? base : this.fields(base, operand.fields, operand.at);
  }

  private term(operand: Operand, context: Context): Expr {
    switch (operand.kind) {
      case 'field':
        return this.fields(context.dot, operand.fields, operand.at);
      case 'dot':
        return context.dot;
      case 'variable':
        return this.variable(operand.name, operand.at);
      case 'string':
        return { kind: 'literal', hbs: hbsString(operand.value), printed: operand.value };
      case 'number':
        return this.number(operand.text, operand.at);
      case 'bool':
        return { kind: 'literal', hbs: String(operand.value), printed: String(operand.value) };
      case 'nil':
        return { kind: 'literal', hbs: 'null' };
      case 'char':
        return this.report(operand.at, `character constant ${operand.text} is not translated`, 'write a number or a "string"');
      case 'function':
        return this.call(operand.name, [], operand.at);
      case 'pipeline':
        return this.pipeline(operand.pipeline, context);
    }
  }

  private variable(name: string, at: Position): Expr {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const value = this.scopes[i]!.variables.get(name);
      if (value) return value;
    }
    return this.report(at, `undefined variable $${name}`, 'Go refuses this too');
  }

  private number(text: string, at: Position): Expr {
    const clean = text.replace(/_/g, '');
    const value = Number(clean);
    if (!Number.isFinite(value) || !/^-?[0-9]+(\.[0-9]+)?$/.test(String(value))) return this.report(at, `number ${text} is not translated`, 'write it in plain decimal');
    return { kind: 'literal', hbs: String(value), printed: String(value) };
  }

  /** `.a.b` applied to a value; `.request.query.<key>` is recorded, the rest of `.request` refused. */
  private fields(base: Expr, fields: string[], at: Position): Expr {
    if (fields.length === 0) return base;
    if (base.kind === 'literal') return this.report(at, `can't evaluate field ${fields[0]} of a literal`, 'Go refuses this too');
    if (base.kind === 'call') return { kind: 'call', name: 'index', args: [base, ...fields.map((field) => ({ kind: 'literal' as const, hbs: hbsString(field), printed: field }))] };
    const path: Expr = { ...base, segments: [...base.segments, ...fields] };
    return path.root ? this.checkRequest(path, at) : path;
  }

  private checkRequest(path: Extract<Expr, { kind: 'path' }>, at: Position): Expr {
    if (path.segments[0] !== 'request') return path;
    const [, query, key, ...deeper] = path.segments;
    if (query === 'query' && key !== undefined && deeper.length === 0) {
      this.requestKeys.push({ line: at.line, column: at.column, key });
      return path;
    }
    if (query === 'raw_query') return this.report(at, '.request.raw_query is the request\'s own query string, which a build cannot know', 'use the selector values (.mac, .uuid, .<label>) or metadata instead');
    return this.report(at, `.${path.segments.join('.')} is known only when a request arrives`, 'read .request.query.<key> for a key the group\'s selector fixes, or the selector value itself (.mac, .<label>)');
  }

  /** An expression as handlebars text; `nested` wraps a call in parentheses (a helper argument). */
  private render(expr: Expr, context: Context, nested: boolean): string {
    if (expr.kind === 'literal') return expr.hbs;
    if (expr.kind === 'call') {
      const inner = [expr.name, ...expr.args.map((arg) => this.render(arg, context, true))].join(' ');
      return nested ? `(${inner})` : inner;
    }
    return renderPath(expr, context.depth);
  }
}

function renderPath(path: Extract<Expr, { kind: 'path' }>, depth: number): string {
  if (!path.root) return [path.head, ...path.segments.map(segment)].join('.');
  if (depth > 0) return ['@root', ...path.segments.map(segment)].join('.');
  if (path.segments.length === 0) return 'this';
  const [first, ...rest] = path.segments;
  // A bare name that is also a helper (`index`, `len`) or a keyword must be read as a field.
  const head = HELPERS.has(first!) || RESERVED.has(first!) ? `this.[${first}]` : first!;
  return [head, ...rest.map(segment)].join('.');
}

/** A path segment handlebars would read as a literal (`true`, `null`) goes in brackets. */
function segment(name: string): string {
  return RESERVED.has(name) ? `[${name}]` : name;
}

/** A handlebars string literal (its lexer knows no escapes but `\"`). */
function hbsString(value: string): string {
  if (!value.includes('"')) return `"${value}"`;
  if (!value.includes("'")) return `'${value}'`;
  return `"${value.replace(/"/g, '\\"')}"`;
}

/**
 * Handlebars deletes a block tag's line when the tag stands alone on it ("standalone"), Go keeps
 * every newline. A tag is standalone only if the block body next to it starts (or ends) with a
 * line break; an empty `{{print}}` there keeps the line, whether or not the template is
 * compiled with `ignoreStandalone`.
 */
function guard(body: string): string {
  const start = /^[ \t]*\r?\n/.test(body) ? KEEP_LINE : '';
  const end = /\r?\n[ \t]*$/.test(body) ? KEEP_LINE : '';
  return `${start}${body}${end}`;
}

const KEEP_LINE = '{{print}}';

/** Marks text that ends in a backslash; unmarkBackslashes decides once the next item is known. */
const BACKSLASH_END = '\uE000';

/** Template text as handlebars content: `{{` must not open a mustache. */
function escapeText(text: string): string {
  const out = text.replace(/\{\{/g, '\\{{');
  return out.endsWith('\\') ? out + BACKSLASH_END : out;
}

/**
 * A backslash right before a mustache would escape it; handlebars drops one of two backslashes
 * there, so a text's final backslash is doubled exactly when a mustache follows.
 */
function unmarkBackslashes(text: string): string {
  return text.replace(/\uE000(?=\{\{)/g, '\\').replace(/\uE000/g, '');
}
