// What a group's data templates (cloud/, generic/, ignition/) and its /metadata answer see, for
// one compiled answer (one value of each selector key). matchbox builds the same data at
// request time (http/parse.go collectVariables): the group's metadata at the top level, then
// its selector values (selector wins), and `request.query` holding the request's parameters,
// which at build time are exactly the selector's values. bootcfg's own extras live under the
// one reserved key `bootcfg`. Pure.

import type { Group } from './groups.js';
import type { Profile } from './profiles.js';

/** One compiled answer's selector: key → canonical value, in the group's shape order. */
export type Values = Readonly<Record<string, string>>;

/**
 * A selector value as matchbox hands it to templates: a MAC lowercase and colon-separated
 * (Go's net.HardwareAddr.String()), where paths and requests use the hyphenated form.
 */
export function contextValue(key: string, value: string): string {
  return key === 'mac' ? value.replaceAll('-', ':') : value;
}

function selectorView(values: Values): Record<string, string> {
  const view: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) view[key] = contextValue(key, value);
  return view;
}

/** matchbox's data for one answer: metadata, selector values over it, and `request.query`. */
export function answerData(group: Group, values: Values): Record<string, unknown> {
  const selector = selectorView(values);
  return { ...group.metadata, ...selector, request: { query: selector } };
}

/** The handlebars context of a data template: answerData plus `bootcfg.{group, profile, selector}`. */
export function templateContext(group: Group, profile: Profile, values: Values): Record<string, unknown> {
  return {
    ...answerData(group, values),
    bootcfg: { group: { id: group.id, name: group.name }, profile: profile.view, selector: selectorView(values) },
  };
}
