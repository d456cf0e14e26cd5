// Runs cases against a server and says, per case, how an answer differs from the expectation
// or from another server's answer. Failures list every differing case at once.

import type { Case } from './cases.js';
import { send, sendRaw, type RawResponse } from './http.js';

export type Answers = Map<string, RawResponse>;

/** Asks every case of the list, a few at a time (bounded: the machine is shared). */
export async function ask(url: string, cases: readonly Case[], concurrency = 4): Promise<Answers> {
  const answers: Answers = new Map();
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++]!;
      const head = c.method === 'HEAD';
      const answer = c.raw !== undefined ? sendRaw(url, c.raw, head) : send(url, { method: c.method, target: c.target, headers: c.request });
      await answer.then((a) => answers.set(c.name, a), () => {}); // no answer: reported per case
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return answers;
}

/** One line per way `answer` departs from what `c` expects (of `server`, where they differ). */
export function departures(c: Case, answer: RawResponse | undefined, server?: 'nginx'): string[] {
  if (!answer) return ['no answer'];
  if (server === 'nginx' && c.nginx) c = { ...c, ...c.nginx };
  const out: string[] = [];
  const body = Buffer.isBuffer(c.body) ? c.body : Buffer.from(c.body);
  if (answer.status !== c.status) out.push(`status ${answer.status}, expected ${c.status}`);
  if (!answer.body.equals(body)) out.push(`body ${show(answer.body)}, expected ${show(body)}`);
  if (c.type !== undefined && answer.headers['content-type'] !== c.type) out.push(`content-type ${JSON.stringify(answer.headers['content-type'])}, expected ${JSON.stringify(c.type)}`);
  if (c.status === 0) return out; // HTTP/0.9: a body and nothing else
  if (answer.headers['cache-control'] !== 'no-cache') out.push(`cache-control ${JSON.stringify(answer.headers['cache-control'])}, expected "no-cache"`);
  if (answer.headers['x-bootcfg-revision'] !== c.tree) out.push(`x-bootcfg-revision ${JSON.stringify(answer.headers['x-bootcfg-revision'])}, expected "${c.tree}"`);
  for (const [name, value] of Object.entries(c.headers ?? {})) {
    if (answer.headers[name] !== value) out.push(`${name} ${JSON.stringify(answer.headers[name])}, expected ${JSON.stringify(value)}`);
  }
  return out;
}

/** Cases where two servers gave a different status, body or content type. */
export function disagreements(cases: readonly Case[], a: Answers, b: Answers, names: [string, string]): string[] {
  const out: string[] = [];
  for (const c of cases) {
    const x = a.get(c.name);
    const y = b.get(c.name);
    if (!x || !y || c.nginx) continue; // a documented difference: each server is held to its own expectation
    const same = x.status === y.status && x.body.equals(y.body) && (c.type === undefined || x.headers['content-type'] === y.headers['content-type']);
    if (!same) out.push(`${c.name} (${c.method ?? 'GET'} ${c.target.slice(0, 80)}): ${names[0]} ${x.status} ${show(x.body)} vs ${names[1]} ${y.status} ${show(y.body)}`);
  }
  return out;
}

/** Every case's departures, as a report; empty when all pass. */
export function report(server: string, cases: readonly Case[], answers: Answers): string[] {
  return cases.flatMap((c) => {
    const found = departures(c, answers.get(c.name), server === 'nginx' ? 'nginx' : undefined);
    return found.length ? [`${server}: ${c.name} (${c.method ?? 'GET'} ${c.target.slice(0, 80)}): ${found.join('; ')}`] : [];
  });
}

function show(body: Buffer): string {
  const text = body.toString('utf8');
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}
