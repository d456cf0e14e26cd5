// What the CLI prints: errors (`file:line:col: message` and a hint, no stack, for anything a
// user can fix; the stack for bugs), build summaries, progress on a terminal, and the access log.

import type { WriteStream } from 'node:tty';
import { BootcfgError, ErrorList } from '../compile/errors.js';
import type { Progress } from '../build/build.js';
import type { AccessLogEntry } from '../serve/server.js';

type Out = NodeJS.WritableStream & Partial<Pick<WriteStream, 'isTTY' | 'columns'>>;

/** Every problem an error carries, one BootcfgError each (an ErrorList is flattened). */
export function problems(error: BootcfgError): readonly BootcfgError[] {
  return error instanceof ErrorList ? error.errors : [error];
}

export function formatError(error: unknown): string {
  if (!(error instanceof BootcfgError)) {
    return `bootcfg: unexpected error (a bug; please report it):\n${error instanceof Error ? error.stack : String(error)}`;
  }
  const list = problems(error);
  const lines = list.map((p) => `${p.located}${p.hint ? `\n  hint: ${p.hint}` : ''}`);
  if (list.length > 1) lines.push(`${list.length} problems`);
  return lines.join('\n');
}

/** Warnings (the build succeeds anyway), one `warning: file:line:col: message` and hint each. */
export function formatWarnings(warnings: readonly BootcfgError[]): string {
  return warnings.map((w) => `warning: ${w.located}${w.hint ? `\n  hint: ${w.hint}` : ''}\n`).join('');
}

/** The warnings an error carries, when it is a failed build's list. */
export function warningsOf(error: BootcfgError): readonly BootcfgError[] {
  return error instanceof ErrorList ? error.warnings : [];
}

/** Stage and count on one rewritten terminal line, at most every 100 ms; nothing when `out` is not a terminal. */
export function terminalProgress(out: Out): { progress: Progress | undefined; clear(): void } {
  if (!out.isTTY) return { progress: undefined, clear() {} };
  let shown = false;
  let last = { stage: '', at: 0 };
  return {
    progress: (stage, done, total) => {
      const now = Date.now();
      if (stage === last.stage && now - last.at < 100) return;
      last = { stage, at: now };
      shown = true;
      out.write(`\r\x1b[K${stage}${total ? ` ${done ? `${done}/` : ''}${total} files` : ''}…`);
    },
    clear: () => {
      if (shown) out.write('\r\x1b[K');
      shown = false;
    },
  };
}

/** One line per request: JSON for machines, a readable line on a terminal. */
export function accessLog(out: Out): (entry: AccessLogEntry) => void {
  const line = out.isTTY
    ? (e: AccessLogEntry) => `${e.time} ${e.client} ${e.method} ${e.path} ${e.status} ${e.answer} ${e.file} rev=${e.revision} ${e.ms}ms\n`
    : (e: AccessLogEntry) => `${JSON.stringify(e)}\n`;
  // Lines of one event-loop turn go out in one write: under a boot storm, a write per request
  // cost 13% of serve's throughput (make bench).
  let pending = '';
  const flush = () => {
    out.write(pending);
    pending = '';
  };
  return (entry) => {
    if (pending === '') setImmediate(flush);
    pending += line(entry);
  };
}
