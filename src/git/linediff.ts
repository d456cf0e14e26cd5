// A line diff and its unified rendering, for `bootcfg diff`. Written here rather than taken
// from npm because it is ~100 lines of a well-known algorithm (Myers 1986, O((N+M)·D)), the
// inputs are small config files, and the output must be exactly git's unified format so that
// reviewers read it as they read any pull request.

export interface Edit {
  op: ' ' | '-' | '+';
  /** The line including its '\n', except a last line that has none. */
  line: string;
}

/**
 * Inputs larger than this (in lines, both sides), or further apart than MAX_EDITS, are shown as
 * a whole replacement: the search keeps one frontier of N+M entries per edit, so memory grows
 * with (N+M)·D, and these bounds keep it under ~40 MB.
 */
const MAX_MYERS_LINES = 5_000;
const MAX_EDITS = 1_000;

/** Split keeping each line's newline, so "a" and "a\n" compare different. */
export function splitLines(text: string): string[] {
  return text === '' ? [] : text.split(/(?<=\n)/);
}

/** The shortest edit script turning a into b: common prefix, Myers on the middle, common suffix. */
export function diffLines(a: readonly string[], b: readonly string[]): Edit[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const same = (lines: readonly string[]): Edit[] => lines.map((line) => ({ op: ' ', line }));
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const middle = midA.length + midB.length > MAX_MYERS_LINES ? replaceAll(midA, midB) : myers(midA, midB);
  return [...same(a.slice(0, start)), ...middle, ...same(a.slice(endA))];
}

function replaceAll(a: readonly string[], b: readonly string[]): Edit[] {
  return [...a.map((line): Edit => ({ op: '-', line })), ...b.map((line): Edit => ({ op: '+', line }))];
}

/** Myers' greedy forward search, keeping each round's frontier to walk the path back. */
function myers(a: readonly string[], b: readonly string[]): Edit[] {
  const n = a.length;
  const m = b.length;
  const offset = n + m + 1;
  const v = new Int32Array(2 * offset + 1);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= n + m; d++) {
    if (d > MAX_EDITS) return replaceAll(a, b);
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, a, b, offset);
    }
  }
  return replaceAll(a, b); // unreachable: d = n + m always reaches the end
}

function backtrack(trace: Int32Array[], a: readonly string[], b: readonly string[], offset: number): Edit[] {
  const edits: Edit[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const v = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? k + 1 : k - 1;
    const prevX = v[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      y--;
      edits.push({ op: ' ', line: a[--x]! });
    }
    if (d > 0) edits.push(x === prevX ? { op: '+', line: b[--y]! } : { op: '-', line: a[--x]! });
  }
  return edits.reverse();
}

/**
 * git-style unified diff of two texts ("" when equal). `from`/`to` name the sides in the
 * ---/+++ header; pass undefined for a file that does not exist on that side (/dev/null).
 */
export function unifiedDiff(oldText: string, newText: string, from: string | undefined, to: string | undefined, context = 3): string {
  if (oldText === newText && from !== undefined && to !== undefined) return '';
  if (isBinary(oldText) || isBinary(newText)) return `Binary files ${from ?? '/dev/null'} and ${to ?? '/dev/null'} differ\n`;
  const edits = diffLines(splitLines(oldText), splitLines(newText));
  const hunks = hunksOf(edits, context).map((hunk) => renderHunk(edits, hunk));
  return `--- ${from ?? '/dev/null'}\n+++ ${to ?? '/dev/null'}\n${hunks.join('')}`;
}

function isBinary(text: string): boolean {
  return text.includes('\0');
}

interface Hunk {
  first: number;
  last: number; // exclusive, indexes into edits
}

/** Ranges of edits around each change with `context` lines either side; close ranges merge. */
function hunksOf(edits: readonly Edit[], context: number): Hunk[] {
  const hunks: Hunk[] = [];
  edits.forEach((edit, i) => {
    if (edit.op === ' ') return;
    const first = Math.max(0, i - context);
    const last = Math.min(edits.length, i + context + 1);
    const open = hunks[hunks.length - 1];
    if (open && first <= open.last) open.last = Math.max(open.last, last);
    else hunks.push({ first, last });
  });
  return hunks;
}

function renderHunk(edits: readonly Edit[], hunk: Hunk): string {
  let oldBefore = 0;
  let newBefore = 0;
  for (const edit of edits.slice(0, hunk.first)) {
    if (edit.op !== '+') oldBefore++;
    if (edit.op !== '-') newBefore++;
  }
  const body = edits.slice(hunk.first, hunk.last);
  const oldLen = body.filter((edit) => edit.op !== '+').length;
  const newLen = body.filter((edit) => edit.op !== '-').length;
  const lines = body.map(({ op, line }) => (line.endsWith('\n') ? `${op}${line}` : `${op}${line}\n\\ No newline at end of file\n`));
  return `@@ -${range(oldBefore, oldLen)} +${range(newBefore, newLen)} @@\n${lines.join('')}`;
}

/** `start,len` as git writes it: an empty side starts at the line before; a length of 1 is implied. */
function range(before: number, len: number): string {
  if (len === 0) return `${before},0`;
  return len === 1 ? `${before + 1}` : `${before + 1},${len}`;
}
