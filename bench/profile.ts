// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time,
// and the most total time per bootcfg source function, so BENCHMARKS.md can quote what bounds
// a figure. Usage: node lib/bench/profile.js FILE.cpuprofile [TOP]

import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Entry {
  name: string;
  ms: number;
  share: number;
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*\/lib\/src\//, 'src/');
  return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
}

/** Self time per function label, and inclusive time per label (each sample counted once per label). */
export function summarize(profile: Profile): { totalMs: number; self: Entry[]; inclusive: Entry[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    total += ms;
    const node = byId.get(id)!;
    self.set(label(node), (self.get(label(node)) ?? 0) + ms);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = label(byId.get(at)!);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
    }
  });
  const entries = (m: Map<string, number>) => [...m].map(([name, ms]) => ({ name, ms, share: ms / total })).sort((a, b) => b.ms - a.ms);
  return { totalMs: total, self: entries(self), inclusive: entries(inclusive) };
}

function main(): void {
  const [file, top = '25'] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile.js FILE.cpuprofile [TOP]');
  const { totalMs, self, inclusive } = summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile);
  const row = (e: Entry) => `${e.ms.toFixed(0).padStart(8)} ms ${(e.share * 100).toFixed(1).padStart(5)}%  ${e.name}`;
  console.log(`total ${totalMs.toFixed(0)} ms sampled\n\nself time:`);
  for (const e of self.slice(0, Number(top))) console.log(row(e));
  console.log('\ninclusive time, bootcfg functions:');
  for (const e of inclusive.filter((e) => e.name.includes('src/')).slice(0, Number(top))) console.log(row(e));
}

if (import.meta.url === `file://${process.argv[1]}`) main();
