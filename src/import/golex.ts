// Lexer for Go's text/template, the template language of matchbox: text, `{{ }}` actions with
// their `{{-`/`-}}` trim markers, comments, and the items inside an action. It exists so that
// `bootcfg import matchbox` can translate templates construct by construct and point at the
// exact line and column of anything it cannot translate. Pure: a string in, items out.

export interface Position {
  /** 1-based line. */
  line: number;
  /** 1-based column, in characters. */
  column: number;
}

export type ItemKind =
  | 'text'
  | 'comment'
  | 'open' // `{{` (or `{{- `): an action starts
  | 'close' // `}}` (or ` -}}`)
  | 'field' // `.name` (value: name)
  | 'dot' // `.`
  | 'variable' // `$` or `$name` (value: without `$`)
  | 'identifier' // a function name or keyword
  | 'string' // value: the decoded string
  | 'number' // value: the literal as written
  | 'char' // a Go character constant `'a'`
  | 'leftParen'
  | 'rightParen'
  | 'pipe'
  | 'declare' // `:=`
  | 'assign' // `=`
  | 'comma';

export interface Item extends Position {
  kind: ItemKind;
  value: string;
  /** For `open`: `{{-` trims the text before. For `close`: `-}}` trims the text after. */
  trim?: boolean;
  /** Whether white space separates this item from the previous one in its action. */
  spaced?: boolean;
}

export class LexError extends Error {
  constructor(
    message: string,
    readonly at: Position,
  ) {
    super(message);
  }
}

const SPACE = /[ \t\r\n]/;
const IDENT_CHAR = /[A-Za-z0-9_]/;
const GO_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };

/** Splits a template into items; throws LexError at the first thing Go would not lex either. */
export function lex(source: string): Item[] {
  return new Lexer(source).run();
}

class Lexer {
  private pos = 0;
  private line = 1;
  private column = 1;
  private readonly items: Item[] = [];

  constructor(private readonly source: string) {}

  run(): Item[] {
    while (this.pos < this.source.length) {
      const start = this.source.indexOf('{{', this.pos);
      const end = start === -1 ? this.source.length : start;
      if (end > this.pos) this.items.push({ kind: 'text', value: this.source.slice(this.pos, end), ...this.here() });
      this.advanceTo(end);
      if (start !== -1) this.action();
    }
    return this.items;
  }

  private here(): Position {
    return { line: this.line, column: this.column };
  }

  private advanceTo(target: number): void {
    for (; this.pos < target; this.pos++) {
      if (this.source[this.pos] === '\n') {
        this.line++;
        this.column = 1;
      } else this.column++;
    }
  }

  /** At `{{`: the action up to and including its `}}`. */
  private action(): void {
    const at = this.here();
    const trim = this.source[this.pos + 2] === '-' && SPACE.test(this.source[this.pos + 3] ?? '');
    this.advanceTo(this.pos + (trim ? 4 : 2)); // Go's trim marker is the dash and one space
    if (this.comment(at, trim)) return;
    this.items.push({ kind: 'open', value: '{{', trim, ...at });
    let spaced = false;
    for (;;) {
      if (this.pos >= this.source.length) throw new LexError('unclosed action', at);
      const char = this.source[this.pos]!;
      if (SPACE.test(char)) {
        if (this.closeAfterSpace()) return;
        this.advanceTo(this.pos + 1);
        spaced = true;
        continue;
      }
      if (this.source.startsWith('}}', this.pos)) {
        this.items.push({ kind: 'close', value: '}}', trim: false, ...this.here() });
        this.advanceTo(this.pos + 2);
        return;
      }
      this.token(spaced);
      spaced = false;
    }
  }

  /** The match of a sticky pattern at the current position (no slicing: templates may be large). */
  private matchHere(pattern: RegExp): RegExpExecArray | null {
    pattern.lastIndex = this.pos;
    return pattern.exec(this.source);
  }

  /** ` -}}`: a right trim marker needs the space before its dash. */
  private closeAfterSpace(): boolean {
    const match = this.matchHere(/[ \t\r\n]+-}}/y);
    if (!match) return false;
    const at = this.here();
    this.advanceTo(this.pos + match[0].length);
    this.items.push({ kind: 'close', value: '}}', trim: true, ...at });
    return true;
  }

  /** `{{/* … *\/}}`, with optional trim markers on both sides. */
  private comment(at: Position, trimLeft: boolean): boolean {
    if (!this.source.startsWith('/*', this.pos)) return false;
    const end = this.source.indexOf('*/', this.pos + 2);
    if (end === -1) throw new LexError('unclosed comment', at);
    this.advanceTo(end + 2);
    const closing = this.matchHere(/( -)?}}/y);
    if (!closing) throw new LexError('comment ends before closing delimiter', this.here());
    this.advanceTo(this.pos + closing[0].length);
    this.items.push({ kind: 'comment', value: '', ...at, trim: trimLeft });
    this.items.push({ kind: 'close', value: '}}', trim: closing[1] !== undefined, ...at });
    return true;
  }

  private token(spaced: boolean): void {
    const at = { ...this.here(), spaced };
    const char = this.source[this.pos]!;
    const push = (kind: ItemKind, length: number, value = this.source.slice(this.pos, this.pos + length)): void => {
      this.items.push({ kind, value, ...at });
      this.advanceTo(this.pos + length);
    };
    const simple: Record<string, ItemKind> = { '(': 'leftParen', ')': 'rightParen', '|': 'pipe', ',': 'comma' };
    if (simple[char]) return push(simple[char], 1);
    if (this.source.startsWith(':=', this.pos)) return push('declare', 2);
    if (char === '=') return push('assign', 1);
    if (char === '"') return push('string', ...this.quoted(at));
    if (char === '`') return push('string', ...this.raw(at));
    if (char === "'") return push('char', ...this.quotedChar(at));
    if (char === '.' && !/[0-9]/.test(this.source[this.pos + 1] ?? '')) {
      const name = this.word(this.pos + 1);
      return name ? push('field', name.length + 1, name) : push('dot', 1);
    }
    if (char === '$') {
      const name = this.word(this.pos + 1);
      return push('variable', name.length + 1, name);
    }
    const number = this.matchHere(/[+-]?(0[xX][0-9a-fA-F_]+|[0-9][0-9_]*(\.[0-9_]*)?([eE][+-]?[0-9]+)?|\.[0-9]+([eE][+-]?[0-9]+)?)/y);
    if (number) return push('number', number[0].length);
    const name = this.word(this.pos);
    if (name) return push('identifier', name.length);
    throw new LexError(`unexpected ${JSON.stringify(char)} in action`, at);
  }

  private word(from: number): string {
    let end = from;
    while (end < this.source.length && IDENT_CHAR.test(this.source[end]!)) end++;
    return this.source.slice(from, end);
  }

  /** A Go interpreted string: its length in the source and its decoded value. */
  private quoted(at: Position): [number, string] {
    let value = '';
    for (let i = this.pos + 1; i < this.source.length; i++) {
      const char = this.source[i]!;
      if (char === '"') return [i + 1 - this.pos, value];
      if (char === '\n') break;
      if (char !== '\\') {
        value += char;
        continue;
      }
      const [decoded, length] = decodeEscape(this.source, i + 1, at);
      value += decoded;
      i += length;
    }
    throw new LexError('unterminated quoted string', at);
  }

  private raw(at: Position): [number, string] {
    const end = this.source.indexOf('`', this.pos + 1);
    if (end === -1) throw new LexError('unterminated raw quoted string', at);
    return [end + 1 - this.pos, this.source.slice(this.pos + 1, end)];
  }

  private quotedChar(at: Position): [number, string] {
    const match = this.matchHere(/'(\\.[^']*|[^'\\])'/y);
    if (!match) throw new LexError('unterminated character constant', at);
    return [match[0].length, match[0]];
  }
}

/** Decodes the escape after a backslash at `from`: the character(s) and how many source characters it used. */
function decodeEscape(source: string, from: number, at: Position): [string, number] {
  const char = source[from] ?? '';
  if (GO_ESCAPES[char] !== undefined) return [GO_ESCAPES[char]!, 1];
  const forms: Array<[string, number, number]> = [['x', 2, 16], ['u', 4, 16], ['U', 8, 16]];
  for (const [prefix, digits, radix] of forms) {
    if (char !== prefix) continue;
    const hex = source.slice(from + 1, from + 1 + digits);
    if (hex.length === digits && /^[0-9a-fA-F]+$/.test(hex)) return [String.fromCodePoint(parseInt(hex, radix)), digits + 1];
  }
  const octal = source.slice(from, from + 3);
  if (/^[0-7]{3}$/.test(octal)) return [String.fromCharCode(parseInt(octal, 8)), 3];
  throw new LexError(`unknown escape sequence \\${char}`, at);
}
