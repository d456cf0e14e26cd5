// What the CLI prints: errors (`file:line:col: message` and a hint, no stack, for anything a
// user can fix; the stack for bugs), build summaries, progress on a terminal, and the access log.

import type { WriteStream } from 'node:tty';
import { BootcfgError, ErrorList } from '../compile/errors.js';
import type { Progress } from '../build/build.js';
import { systemReason } from '../build/source.js';
import type { AccessLogEntry } from '../serve/server.js';

type Out = NodeJS.WritableStream & Partial<Pick<WriteStream, 'isTTY' | 'columns'>>;

/** Every problem an error carries, one BootcfgError each (an ErrorList is flattened). */
export function problems(error: BootcfgError): readonly BootcfgError[] {
  return error instanceof ErrorList ? error.errors : [error];
}

export function formatError(error: unknown): string {
  if (isSystemError(error)) {
    // A file-system problem that escaped without a BootcfgError around it: it is the user's to
    // fix all the same (permissions, space, path length), so the path and a hint, no stack.
    const { reason, hint } = systemReason(error);
    return `bootcfg: cannot ${error.syscall} ${error.path}: ${reason} (${error.code})\n  hint: ${hint}`;
  }
  if (!(error instanceof BootcfgError)) {
    return `bootcfg: unexpected error (a bug; please report it):\n${error instanceof Error ? error.stack : String(error)}`;
  }
  const list = problems(error);
  const lines = list.map((p) => `${p.located}${p.hint ? `\n  hint: ${p.hint}` : ''}`);
  if (list.length > 1) lines.push(`${list.length} problems`);
  return lines.join('\n');
}

function isSystemError(error: unknown): error is NodeJS.ErrnoException & { code: string; syscall: string; path: string } {
  const e = error as NodeJS.ErrnoException | undefined;
  return e instanceof Error && typeof e.code === 'string' && typeof e.syscall === 'string' && typeof e.path === 'string';
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

/**
 * Characters per write of the access log: half of PIPE_BUF (4096 bytes on Linux, the most a
 * write to a pipe may hold and never be split), as a request's path is latin1 and each of its
 * characters at most two bytes of UTF-8.
 */
const LOG_WRITE = 2048;

/**
 * What JSON.stringify(entry) gives, and a line: its fields in the same order, a string quoted
 * as is when it holds nothing JSON escapes (the usual case), else by JSON.stringify. The
 * object's JSON.stringify was a few per cent of a boot storm's time in the profile.
 */
function jsonLine(e: AccessLogEntry): string {
  return `{"time":${str(e.time)},"client":${str(e.client)},"method":${str(e.method)},"path":${str(e.path)},"status":${e.status},"answer":${str(e.answer)},"file":${str(e.file)},"revision":${str(e.revision)},"ms":${e.ms}}\n`;
}

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
function str(value: string): string {
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
}

/** One line per request: JSON for machines, a readable line on a terminal. */
export function accessLog(out: Out): (entry: AccessLogEntry) => void {
  const line = out.isTTY
    ? (e: AccessLogEntry) => `${e.time} ${e.client} ${e.method} ${e.path} ${e.status} ${e.answer} ${e.file} rev=${e.revision} ${e.ms}ms\n`
    : jsonLine;
  // Lines of one event-loop turn go out together: under a boot storm, a write per request
  // cost 13% of serve's throughput (make bench). Each write is whole lines within LOG_WRITE
  // (unless one line is longer), so the lines of serve's worker processes, which share stdout,
  // never interleave mid-line in a pipe.
  let pending = '';
  const flush = () => {
    const text = pending;
    pending = '';
    for (let start = 0; start < text.length;) {
      const cut = start + LOG_WRITE >= text.length ? text.length : text.lastIndexOf('\n', start + LOG_WRITE - 1) + 1;
      const end = cut > start ? cut : text.indexOf('\n', start) + 1 || text.length;
      out.write(text.slice(start, end));
      start = end;
    }
  };
  return (entry) => {
    if (pending === '') setImmediate(flush);
    pending += line(entry);
  };
}
