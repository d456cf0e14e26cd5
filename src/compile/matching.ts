// Matching, as matchbox does it and checked at build time (docs/http.md, Matching): the answer
// whose selector keys all equal the request's wins, more keys beat fewer, no keys is the
// default. Servers try a build's shapes most keys first, so an answer is a few file lookups.
// What a server cannot decide is a tie: two answers of equally many keys that one request could
// both match, where matchbox would pick one by file order. That is a build error naming both,
// except for the one rule kept from the 2015 seed (uuid beats mac), and except where a third
// answer with more keys matches every such request anyway (e.g. {arch: arm64} and
// {os: installed} are decided by {arch: arm64, os: installed}). Checked per kind: a group
// without a cloud template leaves /cloud to the next shape. Pure.

import { LoadError } from './errors.js';
import { contextValue } from './context.js';
import type { Plan } from './resolve.js';
import { answerPath, compareKeys, shapeDir, type ShapeKeys } from './shapes.js';

/** Pairs of answers examined before the check gives up (a bound on hostile or huge data). */
export const MAX_PAIR_CHECKS = 2_000_000;

interface Point {
  values: Record<string, string>;
  source: string;
}

interface ShapePair {
  kind: string;
  a: ShapeKeys;
  b: ShapeKeys;
  /** Shapes of the kind with more keys than a and b, all within a ∪ b: those that can decide. */
  deciders: ShapeKeys[];
}

export function findAmbiguities(plan: Plan, shapesByKind: ReadonlyMap<string, ReadonlyMap<string, ShapeKeys>>): LoadError[] {
  const pairs = [...shapesByKind].flatMap(([kind, shapes]) => tiedShapes(kind, [...shapes.values()]));
  if (pairs.length === 0) return [];
  const points = pointsOf(plan, new Set(pairs.flatMap(({ kind, a, b }) => [`${kind}/${shapeDir(a)}`, `${kind}/${shapeDir(b)}`])));
  const errors: LoadError[] = [];
  const reported = new Set<string>();
  let budget = MAX_PAIR_CHECKS;
  for (const pair of pairs) {
    budget = checkPair(pair, points, plan, reported, errors, budget);
    if (budget < 0) {
      errors.push(new LoadError(`too many overlapping selectors to check for ties (more than ${MAX_PAIR_CHECKS} pairs)`, { hint: 'give groups of equally many selector keys a key in common with different values' }));
      break;
    }
  }
  return errors;
}

/** Shape pairs of one kind with equally many keys, other than the seed's [uuid] and [mac]. */
export function tiedShapes(kind: string, shapes: readonly ShapeKeys[]): ShapePair[] {
  const pairs: ShapePair[] = [];
  for (let i = 0; i < shapes.length; i++) {
    for (let j = i + 1; j < shapes.length; j++) {
      const [a, b] = [shapes[i]!, shapes[j]!];
      if (a.length !== b.length || (a.length === 1 && new Set([a[0], b[0]]).size === 2 && [a[0], b[0]].every((key) => key === 'uuid' || key === 'mac'))) continue;
      const union = new Set([...a, ...b]);
      const deciders = shapes.filter((shape) => shape.length > a.length && shape.every((key) => union.has(key)));
      pairs.push({ kind, a, b, deciders });
    }
  }
  return pairs;
}

/** The answers of the wanted `<kind>/<shape-dir>` prefixes, read back from their paths. */
function pointsOf(plan: Plan, wanted: ReadonlySet<string>): Map<string, Point[]> {
  const points = new Map<string, Point[]>();
  for (const [path, planned] of plan) {
    const [kind, dir, ...values] = path.split('/');
    const prefix = `${kind}/${dir}`;
    if (!wanted.has(prefix) || !('source' in planned)) continue;
    const keys = dir!.split('.');
    const point: Point = { values: Object.fromEntries(keys.map((key, i) => [key, values[i]!])), source: planned.source };
    const list = points.get(prefix);
    if (list) list.push(point);
    else points.set(prefix, [point]);
  }
  return points;
}

function checkPair(pair: ShapePair, points: ReadonlyMap<string, Point[]>, plan: Plan, reported: Set<string>, errors: LoadError[], budget: number): number {
  const common = pair.a.filter((key) => pair.b.includes(key));
  const byCommon = new Map<string, Point[]>();
  for (const point of points.get(`${pair.kind}/${shapeDir(pair.b)}`) ?? []) {
    const key = common.map((k) => point.values[k]).join('/');
    const list = byCommon.get(key);
    if (list) list.push(point);
    else byCommon.set(key, [point]);
  }
  for (const p of points.get(`${pair.kind}/${shapeDir(pair.a)}`) ?? []) {
    for (const q of byCommon.get(common.map((k) => p.values[k]).join('/')) ?? []) {
      if (--budget < 0) return budget;
      const sources = [p.source, q.source].sort();
      const id = sources.join('\0');
      if (reported.has(id)) continue;
      const request = { ...p.values, ...q.values };
      if (pair.deciders.some((shape) => plan.has(answerPath(pair.kind, shape, request)!))) continue;
      reported.add(id);
      errors.push(tie(sources as [string, string], pair, request));
    }
  }
  return budget;
}

function tie([a, b]: [string, string], pair: ShapePair, values: Record<string, string>): LoadError {
  const request = Object.fromEntries(Object.entries(values).sort(([x], [y]) => compareKeys(x, y)));
  const query = Object.entries(request).map(([key, value]) => `${key}=${contextValue(key, value)}`).join('&');
  const keys = pair.a.length === 1 ? '1 selector key' : `${pair.a.length} selector keys`;
  return new LoadError(`${a} and ${b} both match with ${keys} (${pair.kind}: a request with ${query}); matchbox would pick one by file order`, {
    file: b,
    hint: `give them a key in common with different values, or add a group whose selector is {${Object.entries(request).map(([k, v]) => `"${k}": "${contextValue(k, v)}"`).join(', ')}} to decide (docs/http.md, Matching)`,
  });
}
