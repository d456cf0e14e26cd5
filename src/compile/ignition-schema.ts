// The JSON schema of each Ignition spec version, generated from the table in ignition-spec.ts,
// and its ajv validator. Stricter than Ignition's own schema in one way on purpose: unknown keys
// are errors (additionalProperties: false), where Ignition only warns "unused key" and boots
// without the setting the operator thought they made.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { fieldsOf, OBJECTS, versionWith, type FieldType, type IgnitionVersion, type ObjectName } from './ignition-spec.js';
import { closest } from './json.js';

type Schema = Record<string, unknown>;

/** The draft-07 schema of one spec version: one definition per object of the table. */
export function ignitionSchema(version: IgnitionVersion): Schema {
  const definitions: Record<string, Schema> = {};
  for (const name of Object.keys(OBJECTS) as ObjectName[]) definitions[name] = objectSchema(name, version);
  return { $schema: 'http://json-schema.org/draft-07/schema#', title: `Ignition ${version}`, $ref: '#/definitions/root', definitions };
}

function objectSchema(name: ObjectName, version: IgnitionVersion): Schema {
  const fields = fieldsOf(name, version);
  const properties: Record<string, Schema> = {};
  for (const field of fields) properties[field.name] = typeSchema(field.type, !field.required);
  const required = fields.filter((field) => field.required).map((field) => field.name);
  // The title names the table's object: ajv inlines $refs, so error paths cannot tell it.
  return { title: name, type: 'object', properties, additionalProperties: false, ...(required.length ? { required } : {}) };
}

// Ignition accepts null for every optional scalar (Go's pointer fields): so does the schema.
function typeSchema(type: FieldType, nullable: boolean): Schema {
  if (typeof type === 'string') return { type: nullable ? [type, 'null'] : type };
  if ('list' in type) return { type: 'array', items: typeSchema(type.list, false) };
  return { $ref: `#/definitions/${type.object}` };
}

const validators = new Map<IgnitionVersion, ValidateFunction>();

function validatorFor(version: IgnitionVersion): ValidateFunction {
  let validate = validators.get(version);
  if (!validate) {
    validate = new Ajv({ allErrors: true, strict: true, verbose: true }).compile(ignitionSchema(version));
    validators.set(version, validate);
  }
  return validate;
}

export interface SchemaProblem {
  /** JSON pointer of the offending value (or of the object missing a key / holding an unknown one). */
  pointer: string;
  /** The key at fault, for unknown and missing keys. */
  key?: string;
  message: string;
  hint?: string;
}

/** Every schema violation of a config, in document order, worded for an operator. */
export function schemaProblems(config: unknown, version: IgnitionVersion): SchemaProblem[] {
  const validate = validatorFor(version);
  if (validate(config)) return [];
  return (validate.errors ?? []).filter((error) => error.keyword !== '$ref').map((error) => describe(error, version));
}

function describe(error: ErrorObject, version: IgnitionVersion): SchemaProblem {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties') {
    const key = String(params.additionalProperty);
    const parent = error.parentSchema as { properties?: object; title?: ObjectName } | undefined;
    const allowed = Object.keys(parent?.properties ?? {});
    const object = parent?.title;
    const later = object && versionWith(object, key);
    if (later) return { pointer: error.instancePath, key, message: `"${key}" is not in Ignition ${version}`, hint: `it needs "version": "${later}" or later` };
    const guess = closest(key, allowed);
    return { pointer: error.instancePath, key, message: `unknown key "${key}"`, hint: `${guess ? `did you mean "${guess}"? ` : ''}allowed here: ${allowed.join(', ')}` };
  }
  if (error.keyword === 'required') {
    const key = String(params.missingProperty);
    return { pointer: error.instancePath, key, message: `missing "${key}"` };
  }
  if (error.keyword === 'type') {
    const wanted = [params.type].flat().filter((type) => type !== 'null').join(' or ');
    const name = error.instancePath.split('/').pop() ?? '';
    const what = name === '' ? 'the config' : /^\d+$/.test(name) ? `item ${Number(name) + 1}` : `"${name}"`;
    return { pointer: error.instancePath, message: `${what} must be ${wanted === 'array' ? 'a list' : `a${/^[aeiou]/.test(wanted) ? 'n' : ''} ${wanted}`}` };
  }
  return { pointer: error.instancePath, message: error.message ?? error.keyword };
}
