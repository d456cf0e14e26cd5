// The /metadata answers of a group: matchbox's env-file form (http/metadata.go
// renderAsEnvFile: `KEY=value` lines, keys upper-cased, nested keys joined by `_`; strings,
// numbers and booleans only — lists and null are left out, as matchbox leaves them out) in a
// stable order (sorted by key, where matchbox's order is random), and the same data as one
// JSON object with sorted keys for `?format=json`. Pure.

export interface MetadataText {
  text: string;
  /** Keys left out because their value holds a newline, which would start another line. */
  omitted: string[];
  /** Keys two entries flatten to (`a_b` and `a: {b}`, or `role` and `ROLE`). */
  duplicates: string[];
}

export function metadataText(data: Readonly<Record<string, unknown>>): MetadataText {
  const lines = new Map<string, string>();
  const result: MetadataText = { text: '', omitted: [], duplicates: [] };
  flatten(data, '', lines, result);
  const keys = [...lines.keys()].sort();
  result.text = keys.map((key) => `${key}=${lines.get(key)}\n`).join('');
  return result;
}

function flatten(object: Readonly<Record<string, unknown>>, prefix: string, lines: Map<string, string>, result: MetadataText): void {
  for (const [key, value] of Object.entries(object)) {
    const name = `${prefix}${key}`.toUpperCase();
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      flatten(value as Record<string, unknown>, `${prefix}${key}_`, lines, result);
      continue;
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
    const text = String(value);
    if (/[\r\n]/.test(text)) result.omitted.push(name);
    else if (lines.has(name)) result.duplicates.push(name);
    else lines.set(name, text);
  }
}

export function metadataJson(data: Readonly<Record<string, unknown>>): string {
  return `${JSON.stringify(sortKeys(data), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}
