// Parser for Go's text/template (the subset matchbox users write, and enough of the rest to
// name it): lexer items → a tree of text, output actions, declarations, if/else if/else,
// range, with, and the constructs we recognise only to report (template, define, block,
// break, continue). Pure; errors carry the line and column where Go would complain.

import { lex, LexError, type Item, type Position } from './golex.js';

/** An operand: something that has a value. `fields` are the `.a.b` chained after it. */
export type Operand =
  | { kind: 'field'; at: Position; fields: string[] } // `.a.b` (relative to dot)
  | { kind: 'dot'; at: Position; fields: string[] } // `.`
  | { kind: 'variable'; at: Position; name: string; fields: string[] } // `$`, `$x.a`
  | { kind: 'function'; at: Position; name: string; fields: string[] } // `eq`, `index`, …
  | { kind: 'string'; at: Position; value: string; fields: string[] }
  | { kind: 'number'; at: Position; text: string; fields: string[] }
  | { kind: 'bool'; at: Position; value: boolean; fields: string[] }
  | { kind: 'nil'; at: Position; fields: string[] }
  | { kind: 'char'; at: Position; text: string; fields: string[] }
  | { kind: 'pipeline'; at: Position; pipeline: Pipeline; fields: string[] };

export interface Command {
  at: Position;
  operands: Operand[];
}

export interface Pipeline {
  at: Position;
  /** `$x :=` / `$i, $v :=` (names without `$`). */
  declare: string[];
  /** `$x = …`: an assignment to a variable declared earlier. */
  assign: boolean;
  commands: Command[];
}

export type Node =
  | { kind: 'text'; at: Position; text: string }
  | { kind: 'action'; at: Position; pipeline: Pipeline }
  | { kind: 'if'; at: Position; branches: Array<{ at: Position; pipeline: Pipeline; body: Node[] }>; otherwise?: Node[] }
  | { kind: 'range' | 'with'; at: Position; pipeline: Pipeline; body: Node[]; otherwise?: Node[] }
  | { kind: 'unsupported'; at: Position; what: string };

export class ParseError extends Error {
  constructor(
    message: string,
    readonly at: Position,
  ) {
    super(message);
  }
}

/** Parses a template; throws ParseError (or LexError, re-thrown as ParseError) where Go would fail. */
export function parse(source: string): Node[] {
  let items: Item[];
  try {
    items = applyTrims(lex(source));
  } catch (error) {
    if (error instanceof LexError) throw new ParseError(error.message, error.at);
    throw error;
  }
  const parser = new Parser(items);
  const { nodes, end } = parser.list();
  if (end) throw new ParseError(`unexpected {{${end.word}}}`, end.at);
  return nodes;
}

/** Go's `{{-` removes the white space before it, `-}}` the white space after it. */
function applyTrims(items: Item[]): Item[] {
  const out = items.map((item) => ({ ...item }));
  out.forEach((item, i) => {
    const before = out[i - 1];
    const after = out[i + 1];
    if ((item.kind === 'open' || item.kind === 'comment') && item.trim && before?.kind === 'text') before.value = before.value.replace(/[ \t\r\n]+$/, '');
    if (item.kind === 'close' && item.trim && after?.kind === 'text') after.value = after.value.replace(/^[ \t\r\n]+/, '');
  });
  return out.filter((item) => item.kind !== 'text' || item.value !== '');
}

interface End {
  word: 'end' | 'else';
  at: Position;
  /** `{{else if …}}` / `{{else with …}}`: the keyword after else. */
  chained?: Item;
}

/** Nesting of blocks and parentheses beyond any real template; deeper input is refused, not recursed into. */
const MAX_DEPTH = 100;

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly items: Item[]) {}

  /** Counts one level of nesting around `inner`, refusing input nested deeper than MAX_DEPTH. */
  private nested<T>(at: Position, inner: () => T): T {
    if (++this.depth > MAX_DEPTH) throw new ParseError(`nested more than ${MAX_DEPTH} deep`, at);
    try {
      return inner();
    } finally {
      this.depth--;
    }
  }

  /** Nodes up to an `{{end}}` or `{{else}}` (returned) or the end of the input. */
  list(): { nodes: Node[]; end?: End } {
    const nodes: Node[] = [];
    while (this.pos < this.items.length) {
      const item = this.items[this.pos++]!;
      if (item.kind === 'text') nodes.push({ kind: 'text', at: item, text: item.value });
      else if (item.kind === 'comment') this.expect('close');
      else if (item.kind === 'open') {
        const result = this.action(item);
        if ('word' in result) return { nodes, end: result };
        nodes.push(result);
      }
    }
    return { nodes };
  }

  private peek(): Item {
    const item = this.items[this.pos];
    if (!item) throw new ParseError('unexpected end of template', this.items[this.items.length - 1] ?? { line: 1, column: 1 });
    return item;
  }

  private next(): Item {
    const item = this.peek();
    this.pos++;
    return item;
  }

  private expect(kind: Item['kind']): Item {
    const item = this.next();
    if (item.kind !== kind) throw new ParseError(`unexpected ${describe(item)}, expected ${kind === 'close' ? '}}' : kind}`, item);
    return item;
  }

  /** After `{{`: one action, a control structure with its body, or an end/else marker. */
  private action(open: Item): Node | End {
    const first = this.peek();
    if (first.kind === 'identifier') {
      switch (first.value) {
        case 'end':
          this.next();
          this.expect('close');
          return { word: 'end', at: first };
        case 'else':
          return this.elseMarker(first);
        case 'if':
          this.next();
          return this.nested(first, () => this.ifNode(first));
        case 'range':
        case 'with':
          this.next();
          return this.nested(first, () => this.block(first.value as 'range' | 'with', first));
        case 'template':
        case 'define':
        case 'block':
        case 'break':
        case 'continue':
          return this.unsupported(first);
      }
    }
    const pipeline = this.pipeline(open, 'close');
    return { kind: 'action', at: open, pipeline };
  }

  private elseMarker(word: Item): End {
    this.next();
    const after = this.peek();
    if (after.kind === 'identifier' && (after.value === 'if' || after.value === 'with')) {
      this.next();
      return { word: 'else', at: word, chained: after };
    }
    this.expect('close');
    return { word: 'else', at: word };
  }

  /** Skips to the action's `}}` (and for define/block, their body) and records what it was. */
  private unsupported(word: Item): Node {
    let depth = 0;
    while (this.pos < this.items.length) {
      const item = this.next();
      if (item.kind === 'leftParen') depth++;
      if (item.kind === 'rightParen') depth--;
      if (item.kind === 'close' && depth <= 0) break;
    }
    if (word.value === 'define' || word.value === 'block') {
      const { end } = this.nested(word, () => this.list());
      if (!end) throw new ParseError(`unexpected EOF: {{${word.value}}} has no {{end}}`, word);
    }
    return { kind: 'unsupported', at: word, what: `{{${word.value}}}` };
  }

  private ifNode(word: Item): Node {
    const branches: Array<{ at: Position; pipeline: Pipeline; body: Node[] }> = [];
    let at: Position = word;
    for (;;) {
      const pipeline = this.pipeline(at, 'close');
      const { nodes, end } = this.list();
      branches.push({ at, pipeline, body: nodes });
      if (!end) throw new ParseError('unexpected EOF: {{if}} has no {{end}}', word);
      if (end.word === 'end') return { kind: 'if', at: word, branches };
      if (end.chained?.value === 'with') throw new ParseError('{{else with}} is not supported by matchbox\'s Go', end.chained);
      if (end.chained) {
        at = end.chained;
        continue;
      }
      const otherwise = this.list();
      if (otherwise.end?.word !== 'end') throw new ParseError('expected {{end}} after {{else}}', otherwise.end?.at ?? end.at);
      return { kind: 'if', at: word, branches, otherwise: otherwise.nodes };
    }
  }

  private block(kind: 'range' | 'with', word: Item): Node {
    const pipeline = this.pipeline(word, 'close');
    const { nodes, end } = this.list();
    if (!end) throw new ParseError(`unexpected EOF: {{${kind}}} has no {{end}}`, word);
    if (end.word === 'end') return { kind, at: word, pipeline, body: nodes };
    if (end.chained) throw new ParseError(`{{else ${end.chained.value}}} inside {{${kind}}}`, end.chained);
    const otherwise = this.list();
    if (otherwise.end?.word !== 'end') throw new ParseError('expected {{end}} after {{else}}', otherwise.end?.at ?? end.at);
    return { kind, at: word, pipeline, body: nodes, otherwise: otherwise.nodes };
  }

  /** A pipeline up to (and consuming) `stop`: optional declaration, then commands split by `|`. */
  private pipeline(at: Position, stop: 'close' | 'rightParen'): Pipeline {
    const pipeline: Pipeline = { at, declare: [], assign: false, commands: [] };
    this.declaration(pipeline);
    for (;;) {
      const command = this.command();
      pipeline.commands.push(command);
      const item = this.next();
      if (item.kind === stop) break;
      if (item.kind !== 'pipe') throw new ParseError(`unexpected ${describe(item)} in command`, item);
    }
    return pipeline;
  }

  /** `$x :=`, `$i, $v :=` or `$x =` at the start of a pipeline. */
  private declaration(pipeline: Pipeline): void {
    const start = this.pos;
    const names: string[] = [];
    while (this.items[this.pos]?.kind === 'variable') {
      names.push(this.items[this.pos]!.value);
      const after = this.items[this.pos + 1];
      if (after?.kind === 'comma') {
        this.pos += 2;
        continue;
      }
      if (after?.kind === 'declare' || after?.kind === 'assign') {
        this.pos += 2;
        pipeline.declare = names;
        pipeline.assign = after.kind === 'assign';
        return;
      }
      break;
    }
    this.pos = start;
  }

  private command(): Command {
    const at = this.peek();
    const operands: Operand[] = [];
    while (!['close', 'pipe', 'rightParen'].includes(this.peek().kind)) operands.push(this.operand());
    if (operands.length === 0) throw new ParseError('missing value for command', at);
    return { at, operands };
  }

  private operand(): Operand {
    const item = this.next();
    const operand = this.term(item);
    // Fields chain onto the term only when they touch it: `$x.a`, `(…).a`; `.a.b` lexes as two fields.
    while (this.items[this.pos]?.kind === 'field' && !this.items[this.pos]!.spaced) operand.fields.push(this.next().value);
    return operand;
  }

  private term(item: Item): Operand {
    const at: Position = { line: item.line, column: item.column };
    switch (item.kind) {
      case 'field':
        return { kind: 'field', at, fields: [item.value] };
      case 'dot':
        return { kind: 'dot', at, fields: [] };
      case 'variable':
        return { kind: 'variable', at, name: item.value, fields: [] };
      case 'string':
        return { kind: 'string', at, value: item.value, fields: [] };
      case 'number':
        return { kind: 'number', at, text: item.value, fields: [] };
      case 'char':
        return { kind: 'char', at, text: item.value, fields: [] };
      case 'leftParen':
        return { kind: 'pipeline', at, pipeline: this.nested(at, () => this.pipeline(at, 'rightParen')), fields: [] };
      case 'identifier':
        if (item.value === 'true' || item.value === 'false') return { kind: 'bool', at, value: item.value === 'true', fields: [] };
        if (item.value === 'nil') return { kind: 'nil', at, fields: [] };
        return { kind: 'function', at, name: item.value, fields: [] };
      default:
        throw new ParseError(`unexpected ${describe(item)} in operand`, item);
    }
  }
}

function describe(item: Item): string {
  return item.kind === 'close' ? '}}' : item.kind === 'text' ? 'text' : JSON.stringify(item.value);
}
