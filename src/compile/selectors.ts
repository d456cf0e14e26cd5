// Selector shapes: how a request's machine attributes pick a compiled file. Today the shapes
// are [uuid], [mac] and [] (the default), tried in that order; each shape is a directory of
// precompiled files (`uuid/<uuid>`, `mac/<mac>`, `default`). Profiles and label selectors
// later add shapes here, and the data layout, compiler and both servers follow this table.

import { type Mac, type Uuid, parseMac, parseUuid, MAC_HINT, UUID_HINT } from './ids.js';

export interface Selector {
  uuid?: Uuid;
  mac?: Mac;
}
export type SelectorKey = keyof Selector;
export type Shape = readonly SelectorKey[];

/** Every shape, most specific first. */
export const SHAPES: readonly Shape[] = [['uuid'], ['mac'], []];

export const KEY_PARSERS: Readonly<Record<SelectorKey, { parse(text: string): string | undefined; hint: string }>> = {
  uuid: { parse: parseUuid, hint: UUID_HINT },
  mac: { parse: parseMac, hint: MAC_HINT },
};

/** The file path, relative to a kind's directory, that a selector of this shape compiles to. */
export function shapePath(shape: Shape, selector: Selector): string | undefined {
  if (shape.length === 0) return 'default';
  const parts: string[] = [];
  for (const key of shape) {
    const value = selector[key];
    if (value === undefined) return undefined;
    parts.push(key, value);
  }
  return parts.join('/');
}

/** The shape a selector has (the keys it sets, in SHAPES order). */
export function shapeOf(selector: Selector): Shape {
  return SHAPES.find((shape) => shape.length === Object.keys(selector).length && shape.every((key) => selector[key] !== undefined)) ?? [];
}

/** Candidate paths for a request, most specific first, over the shapes a kind supports. */
export function candidatePaths(shapes: readonly Shape[], selector: Selector): string[] {
  return shapes.map((shape) => shapePath(shape, selector)).filter((path): path is string => path !== undefined);
}
