// The request log of a server under test, one JSON object per line on its stdout, read into a
// form the assertions can search. The field names are read in one place (entry()), so a change
// in the server's log format is one edit here.

export interface LoggedRequest {
  method: string;
  /** Path and query, as the client sent them. */
  url: string;
  status: number;
  /** The dist/ file (or image) that answered, when the server says. */
  file?: string;
  revision?: string;
  /** The line as logged, for failure reports. */
  line: string;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function entry(line: string): LoggedRequest | undefined {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const url = text(o.path) ?? text(o.url);
  if (url === undefined || typeof o.status !== 'number') return undefined;
  return { method: text(o.method) ?? 'GET', url, status: o.status, file: text(o.file), revision: text(o.revision), line };
}

export class AccessLog {
  readonly requests: LoggedRequest[] = [];
  /** Every line, parsed or not: a line we cannot read still belongs in a failure report. */
  readonly lines: string[] = [];
  private partial = '';

  /** Feed raw stdout; complete lines are parsed. */
  write(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.add(line);
  }

  add(line: string): void {
    if (!line.trim()) return;
    this.lines.push(line);
    const e = entry(line);
    if (e) this.requests.push(e);
  }

  /** Requests whose path (before any query) is `path`. */
  to(path: string): LoggedRequest[] {
    return this.requests.filter((r) => r.url.split('?')[0] === path);
  }

  toString(): string {
    return this.lines.join('\n');
  }
}

/** The query of a logged URL as a map (first occurrence wins, values not decoded, as nginx reads them). */
export function queryOf(url: string): Map<string, string> {
  const q = new Map<string, string>();
  const i = url.indexOf('?');
  if (i < 0) return q;
  for (const pair of url.slice(i + 1).split('&')) {
    const eq = pair.indexOf('=');
    const k = (eq < 0 ? pair : pair.slice(0, eq)).toLowerCase();
    if (!q.has(k)) q.set(k, eq < 0 ? '' : pair.slice(eq + 1));
  }
  return q;
}
