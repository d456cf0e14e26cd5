// The seed layout's selectors: a boot/ or cloud/ file named by uuid, by mac, or the default,
// and how those file names are parsed. Shapes in general (labels, several keys, the try order
// both servers use) are compile/shapes.ts; a seed file is the one-key or empty shape there.

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

/** The shape a selector has (the keys it sets, in SHAPES order). */
export function shapeOf(selector: Selector): Shape {
  return SHAPES.find((shape) => shape.length === Object.keys(selector).length && shape.every((key) => selector[key] !== undefined)) ?? [];
}
