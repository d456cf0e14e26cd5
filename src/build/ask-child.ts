// A child process asked one thing, answering once, then gone: serve's full builds (child.ts)
// and serve --repo's full exports (src/git/export-child.ts), whose memory serve must not keep.
// Errors cross as their fields and are made again as the same BootcfgError kinds, with their
// files, lines and hints; anything else comes back as a plain Error with the child's stack.

import { fork } from 'node:child_process';
import { BootcfgError, ErrorList, LoadError, SourceError, TemplateError, UsageError } from '../compile/errors.js';

export interface SentError {
  kind: string;
  message: string;
  file?: string;
  line?: number;
  column?: number;
  hint?: string;
  stack?: string;
  errors?: SentError[];
  warnings?: SentError[];
}

/** What the child answers: its work's value, or the error it ended in. */
type Answer<T> = { ok: true; value: T } | { ok: false; error: SentError };

export interface AskOptions {
  /** 'advanced' carries typed arrays and Maps (structured clone); 'json' is the default. */
  serialization?: 'json' | 'advanced';
  /** Kills the child (SIGTERM); the promise rejects with `stopped()`. */
  signal?: AbortSignal;
  /** What the child does, for the error when it dies without answering ("the build process ended …"). */
  what: string;
  stopped: () => Error;
  /** An open file the child gets as its descriptor SHARED_FD, for an answer too large to send whole (child.ts). */
  shared?: number;
  /** The child's young generation, in MB a semi-space, unless node was given a bound (youngGenerationGiven). */
  semiSpaceMb?: number;
}

/**
 * Node flags that bound the young generation. Given to node (its command line or NODE_OPTIONS),
 * they are the operator's choice, and bootcfg leaves the young generation to them.
 */
const YOUNG_GENERATION_FLAG = /--(max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth[-_]factor/;

/** Whether node was given a bound on its young generation (YOUNG_GENERATION_FLAG). */
export function youngGenerationGiven(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  return [...execArgv, nodeOptions].some((flag) => YOUNG_GENERATION_FLAG.test(flag));
}

/** Node's flags for a process bootcfg starts: this process's, and a young generation of `semiSpaceMb` unless they bound one. */
export function childExecArgv(semiSpaceMb: number | undefined, execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  return semiSpaceMb === undefined || youngGenerationGiven(execArgv, nodeOptions) ? [...execArgv] : [`--max-semi-space-size=${semiSpaceMb}`, ...execArgv];
}

/** The child's descriptor for the parent's `shared` file (0–2 are stdio, 3 is the IPC channel). */
export const SHARED_FD = 4;

/** Forks `main`, sends it `question`, and resolves with its answer or rejects with its error remade. */
export function askChild<T>(main: string, question: unknown, { serialization = 'json', signal, what, stopped, shared, semiSpaceMb }: AskOptions): Promise<T> {
  if (signal?.aborted) return Promise.reject(stopped());
  return new Promise((resolve, reject) => {
    const child = fork(main, [], { serialization, execArgv: childExecArgv(semiSpaceMb), stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...(shared === undefined ? [] : [shared])] });
    let answer: Answer<T> | undefined;
    const stop = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', stop, { once: true });
    child.once('message', (message) => {
      answer = message as Answer<T>;
      if (answer.ok) resolve(answer.value);
      else reject(fromSent(answer.error));
    });
    child.once('error', (error) => reject(error));
    child.once('exit', (code, by) => {
      signal?.removeEventListener('abort', stop);
      if (answer) return;
      reject(signal?.aborted ? stopped() : new SourceError(`the ${what} process ended (${by ?? `exit ${code}`}) before it answered`, { hint: 'see its output above; the last good build is still live' }));
    });
    child.send(question as object);
  });
}

/**
 * The child's side: answers the one question with `work`, then disconnects (and so exits once
 * its work is done). A parent that goes away before the answer ends the child at once (SIGTERM).
 */
export function answerParent<Q, T>(work: (question: Q) => Promise<T>): void {
  let answered = false;
  process.once('disconnect', () => {
    if (!answered) process.kill(process.pid, 'SIGTERM');
  });
  process.once('message', (question: Q) => {
    void work(question).then(
      (value) => send({ ok: true, value }),
      (error: unknown) => send({ ok: false, error: toSent(error) }),
    );
  });
  function send(answer: Answer<T>): void {
    answered = true;
    process.send!(answer, () => process.disconnect());
  }
}

const KINDS: Record<string, new (message: string, where: ConstructorParameters<typeof BootcfgError>[1]) => BootcfgError> = { BootcfgError, LoadError, TemplateError, SourceError, UsageError };

/** An error as it crosses to the parent: its kind and fields (a bug's message and stack). */
export function toSent(error: unknown): SentError {
  if (error instanceof ErrorList) return { ...fields(error), kind: 'ErrorList', errors: error.errors.map(toSent), warnings: error.warnings.map(toSent) };
  if (error instanceof BootcfgError) return { ...fields(error), kind: error.constructor.name };
  const plain = error instanceof Error ? error : new Error(String(error));
  return { kind: 'Error', message: plain.message, stack: plain.stack };
}

function fields(error: BootcfgError): SentError {
  return { kind: '', message: error.message, file: error.file, line: error.line, column: error.column, hint: error.hint };
}

/** The child's error made again in this process, of the same kind. */
export function fromSent(sent: SentError): Error {
  if (sent.kind === 'ErrorList') return new ErrorList((sent.errors ?? []).map((e) => fromSent(e) as BootcfgError), (sent.warnings ?? []).map((e) => fromSent(e) as BootcfgError));
  const Kind = KINDS[sent.kind];
  if (Kind) return new Kind(sent.message, { file: sent.file, line: sent.line, column: sent.column, hint: sent.hint });
  const error = new Error(sent.message);
  if (sent.stack) error.stack = sent.stack;
  return error;
}
