// A full build's cloud-config checks (src/compile/cloud-config.ts) on a second thread. Parsing
// every seed cloud config as YAML is ~8 s of a ~28 s build at 100k machines, and the thread that
// parses is the one that renders and writes; a worker thread runs them beside each other. The
// build waits for the verdict before its snapshot goes live (build.ts: deferChecks, write.ts:
// WriteOptions.ready), so a bad cloud config still fails the build and is never served.
//
// The files cross as one transferred buffer (a Buffer per file would each copy the pool it
// lies in), the problems come back as their fields. A worker that cannot start or dies leaves
// the checks to this thread: they are never skipped.

import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { checkCloudConfig } from '../compile/cloud-config.js';
import { LoadError } from '../compile/errors.js';
import { buildStopped } from './source.js';

/** Each checked file's problems; a file with none is absent. */
export type CloudProblems = Map<string, LoadError[]>;

/** Below this many files the checks run in this thread: a worker takes ~40 ms to start. */
export const THREAD_MIN = 2000;

/** What the worker is sent: the files' names, where each ends in `bytes`, and their contents. */
export interface CheckRequest {
  files: string[];
  ends: Uint32Array;
  bytes: Uint8Array;
}

/** What the worker answers: the problems of each file that has any, in the files' order. */
export type CheckReply = [string, SentProblem[]][];

export interface SentProblem {
  message: string;
  line?: number;
  column?: number;
  hint?: string;
}

const WORKER = fileURLToPath(new URL('./cloud-check-worker.js', import.meta.url));

/**
 * Checks the cloud configs, on a worker thread when there are THREAD_MIN or more. The signal
 * stops the worker, and the promise rejects as a stopped build does.
 */
export async function checkCloudConfigs(entries: readonly (readonly [string, Buffer])[], signal?: AbortSignal): Promise<CloudProblems> {
  if (entries.length < THREAD_MIN) return checkHere(entries);
  if (signal?.aborted) throw buildStopped();
  const { request, transfer } = pack(entries);
  let worker: Worker;
  try {
    worker = new Worker(WORKER);
  } catch {
    return checkHere(entries);
  }
  return new Promise<CloudProblems>((resolve, reject) => {
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', stop);
      void worker.terminate();
      finish();
    };
    const stop = (): void => settle(() => reject(buildStopped()));
    signal?.addEventListener('abort', stop, { once: true });
    worker.once('message', (reply: CheckReply) => settle(() => resolve(received(reply))));
    // A worker that failed (out of memory, a bug) or exited without answering: check here.
    const here = (): void => settle(() => resolve(checkHere(entries)));
    worker.once('error', here);
    worker.once('exit', here);
    worker.postMessage(request, transfer);
  });
}

/** Checks one packed request (the worker's side); exported for it and for tests. */
export function checkPacked({ files, ends, bytes }: CheckRequest): CheckReply {
  const reply: CheckReply = [];
  let start = 0;
  for (const [i, file] of files.entries()) {
    const end = ends[i]!;
    const content = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start);
    const problems = checkCloudConfig(file, content);
    if (problems.length > 0) reply.push([file, problems.map(({ message, line, column, hint }) => ({ message, line, column, hint }))]);
    start = end;
  }
  return reply;
}

function checkHere(entries: readonly (readonly [string, Buffer])[]): CloudProblems {
  const problems: CloudProblems = new Map();
  for (const [file, content] of entries) {
    const found = checkCloudConfig(file, content);
    if (found.length > 0) problems.set(file, found);
  }
  return problems;
}

function pack(entries: readonly (readonly [string, Buffer])[]): { request: CheckRequest; transfer: ArrayBuffer[] } {
  let total = 0;
  for (const [, content] of entries) total += content.length;
  const transfer = [new ArrayBuffer(total), new ArrayBuffer(entries.length * 4)] as const;
  const bytes = new Uint8Array(transfer[0]);
  const ends = new Uint32Array(transfer[1]);
  let at = 0;
  for (const [i, [, content]] of entries.entries()) {
    bytes.set(content, at);
    ends[i] = at += content.length;
  }
  return { request: { files: entries.map(([file]) => file), ends, bytes }, transfer: [...transfer] };
}

function received(reply: CheckReply): CloudProblems {
  return new Map(reply.map(([file, problems]) => [file, problems.map(({ message, ...where }) => new LoadError(message, { file, ...where }))]));
}
