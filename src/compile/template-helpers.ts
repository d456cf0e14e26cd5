// Handlebars helpers for data templates (cloud/, generic/, ignition/): the comparisons and
// look-ups that Go's text/template has built in, under the same names and with the same
// meaning, so that a matchbox template translates to handlebars one construct at a time
// (`{{if eq .role "master"}}` → `{{#if (eq role "master")}}`). Pure functions; registered on the
// isolated handlebars instance that renders data templates.

/** Handlebars passes its options object as the last argument of every helper call. */
type HelperArgs = unknown[];

function values(args: HelperArgs): unknown[] {
  return args.slice(0, -1);
}

function truthy(value: unknown): boolean {
  // Go's truth: false, 0, nil, and empty strings, slices and maps are false.
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

function compare(name: string, args: HelperArgs, test: (order: number) => boolean): boolean {
  const [a, b] = values(args);
  const comparable = (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
  if (!comparable) throw new Error(`${name}: cannot compare ${typeof a} with ${typeof b}`);
  return test(a < b ? -1 : a > b ? 1 : 0);
}

export const TEMPLATE_HELPERS: Readonly<Record<string, (...args: HelperArgs) => unknown>> = {
  /** `eq a b c…`: a equals any of b, c, … (Go's eq). */
  eq: (...args) => {
    const [first, ...rest] = values(args);
    return rest.some((other) => other === first);
  },
  ne: (...args) => {
    const [a, b] = values(args);
    return a !== b;
  },
  lt: (...args) => compare('lt', args, (order) => order < 0),
  le: (...args) => compare('le', args, (order) => order <= 0),
  gt: (...args) => compare('gt', args, (order) => order > 0),
  ge: (...args) => compare('ge', args, (order) => order >= 0),
  /** Go's and/or return an operand, not a boolean: the first falsy one / the first truthy one. */
  and: (...args) => {
    const operands = values(args);
    return operands.find((value) => !truthy(value)) ?? operands[operands.length - 1];
  },
  or: (...args) => {
    const operands = values(args);
    return operands.find(truthy) ?? operands[operands.length - 1];
  },
  not: (...args) => !truthy(values(args)[0]),
  /** `index collection key…`: nested look-up by string key or array position. */
  index: (...args) => {
    const [collection, ...keys] = values(args);
    return keys.reduce<unknown>((value, key) => {
      if (value === null || value === undefined) throw new Error(`index of ${String(key)} in a missing value`);
      if (typeof key !== 'string' && typeof key !== 'number') throw new Error(`index: cannot index with ${typeof key}`);
      return (value as Record<string | number, unknown>)[key];
    }, collection);
  },
  /** Go's print: operands side by side, a space between two operands when neither is a string. */
  print: (...args) => {
    const operands = values(args);
    return operands.map((value, i) => (i > 0 && typeof value !== 'string' && typeof operands[i - 1] !== 'string' ? ' ' : '') + goFormat(value)).join('');
  },
  /** Go's printf for the verbs the importer lets through: %v, %s and %%. */
  printf: (...args) => {
    const [format, ...operands] = values(args);
    let next = 0;
    return String(format).replace(/%[%sv]/g, (verb) => (verb === '%%' ? '%' : next < operands.length ? goFormat(operands[next++]) : `%!${verb[1]}(MISSING)`));
  },
  len: (...args) => {
    const [value] = values(args);
    if (typeof value === 'string' || Array.isArray(value)) return value.length;
    if (value !== null && typeof value === 'object') return Object.keys(value).length;
    throw new Error(`len of ${typeof value}`);
  },
};

/**
 * A value as Go's fmt prints it with %v, for JSON data: numbers are float64 (shortest digits,
 * exponent form from 1e+06 and below 1e-04), lists `[a b]`, maps `map[k:v]` with sorted keys.
 */
export function goFormat(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  if (typeof value === 'number') return goFloat(value);
  if (Array.isArray(value)) return `[${value.map(goFormat).join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([key, item]) => `${key}:${goFormat(item)}`).join(' ')}]`;
  }
  return String(value);
}

function goFloat(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  if (Math.abs(value) >= 1e-4 && Math.abs(value) < 1e6) return String(value);
  const [mantissa, power] = value.toExponential().split('e') as [string, string];
  const sign = power.startsWith('-') ? '-' : '+';
  const digits = power.replace(/^[+-]/, '').padStart(2, '0');
  return `${mantissa}e${sign}${digits}`;
}

/** Registers every helper on an isolated handlebars instance. */
export function registerTemplateHelpers(instance: { registerHelper(name: string, fn: (...args: HelperArgs) => unknown): void }): void {
  for (const [name, fn] of Object.entries(TEMPLATE_HELPERS)) instance.registerHelper(name, fn);
}
