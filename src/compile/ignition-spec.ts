// The Ignition 3.x config spec as one table: every object, its fields, their types and the spec
// version each field appeared in. Three things are read off it, so they cannot drift apart:
// the JSON schema that ajv checks a config against (ignition-schema.ts), the Butane field names
// (snake_case of the same fields, butane.ts) and the "did you mean" list for an unknown key.
// Written from the Ignition spec documents for 3.0.0–3.3.0; the tests prove each compiled config
// against the real `ignition-validate`, which is where a mistake in this table would show.

/** Ignition spec versions bootcfg emits and accepts: the ones Debian 12's ignition-validate (2.14) checks. */
export const IGNITION_VERSIONS = ['3.0.0', '3.1.0', '3.2.0', '3.3.0'] as const;
export type IgnitionVersion = (typeof IGNITION_VERSIONS)[number];

/** A field's value: a scalar, a list of something, or a named object from OBJECTS. */
// (An object is named by string here, not ObjectName, which is derived from the table below.)
export type FieldType = 'string' | 'integer' | 'boolean' | { list: FieldType } | { object: string };

export interface Field {
  /** The Ignition (camelCase) name. */
  name: string;
  type: FieldType;
  /** Minor version of spec 3.x that added it (0 = 3.0.0). */
  since?: number;
  required?: boolean;
}

const str = 'string' as const;
const int = 'integer' as const;
const bool = 'boolean' as const;
const list = (type: FieldType): FieldType => ({ list: type });
const obj = (object: string): FieldType => ({ object });
const f = (name: string, type: FieldType, more: Partial<Field> = {}): Field => ({ name, type, ...more });

// Files, directories and links share these (Ignition's "node").
const NODE: Field[] = [
  f('path', str, { required: true }),
  f('overwrite', bool),
  f('user', obj('nodeOwner')),
  f('group', obj('nodeOwner')),
];

export const OBJECTS = {
  root: [
    f('ignition', obj('ignition'), { required: true }),
    f('storage', obj('storage')),
    f('systemd', obj('systemd')),
    f('passwd', obj('passwd')),
    f('kernelArguments', obj('kernelArguments'), { since: 3 }),
  ],
  ignition: [
    f('version', str, { required: true }),
    f('config', obj('ignitionConfig')),
    f('timeouts', obj('timeouts')),
    f('security', obj('security')),
    f('proxy', obj('proxy'), { since: 1 }),
  ],
  ignitionConfig: [f('merge', list(obj('resource'))), f('replace', obj('resource'))],
  timeouts: [f('httpResponseHeaders', int), f('httpTotal', int)],
  security: [f('tls', obj('tls'))],
  tls: [f('certificateAuthorities', list(obj('resource')))],
  proxy: [f('httpProxy', str), f('httpsProxy', str), f('noProxy', list(str))],
  resource: [
    f('source', str),
    f('compression', str),
    f('httpHeaders', list(obj('httpHeader')), { since: 1 }),
    f('verification', obj('verification')),
  ],
  httpHeader: [f('name', str, { required: true }), f('value', str)],
  verification: [f('hash', str)],
  storage: [
    f('disks', list(obj('disk'))),
    f('raid', list(obj('raid'))),
    f('luks', list(obj('luks')), { since: 2 }),
    f('filesystems', list(obj('filesystem'))),
    f('files', list(obj('file'))),
    f('directories', list(obj('directory'))),
    f('links', list(obj('link'))),
  ],
  disk: [f('device', str, { required: true }), f('wipeTable', bool), f('partitions', list(obj('partition')))],
  partition: [
    f('label', str),
    f('number', int),
    f('sizeMiB', int),
    f('startMiB', int),
    f('typeGuid', str),
    f('guid', str),
    f('wipePartitionEntry', bool),
    f('shouldExist', bool),
    f('resize', bool, { since: 2 }),
  ],
  raid: [f('name', str, { required: true }), f('level', str), f('spares', int), f('devices', list(str)), f('options', list(str))],
  luks: [
    f('name', str, { required: true }),
    f('label', str),
    f('uuid', str),
    f('device', str),
    f('keyFile', obj('resource')),
    f('wipeVolume', bool),
    f('clevis', obj('clevis')),
    f('options', list(str)),
  ],
  clevis: [f('custom', obj('clevisCustom')), f('tpm2', bool), f('tang', list(obj('tang'))), f('threshold', int)],
  clevisCustom: [f('pin', str), f('config', str), f('needsNetwork', bool)],
  tang: [f('url', str, { required: true }), f('thumbprint', str)],
  filesystem: [
    f('device', str, { required: true }),
    f('format', str),
    f('path', str),
    f('wipeFilesystem', bool),
    f('label', str),
    f('uuid', str),
    f('options', list(str)),
    f('mountOptions', list(str), { since: 1 }),
  ],
  file: [...NODE, f('mode', int), f('contents', obj('resource')), f('append', list(obj('resource')))],
  directory: [...NODE, f('mode', int)],
  link: [...NODE, f('target', str), f('hard', bool)],
  nodeOwner: [f('id', int), f('name', str)],
  systemd: [f('units', list(obj('unit')))],
  unit: [f('name', str, { required: true }), f('enabled', bool), f('mask', bool), f('contents', str), f('dropins', list(obj('dropin')))],
  dropin: [f('name', str, { required: true }), f('contents', str)],
  passwd: [f('users', list(obj('user'))), f('groups', list(obj('group')))],
  user: [
    f('name', str, { required: true }),
    f('passwordHash', str),
    f('sshAuthorizedKeys', list(str)),
    f('uid', int),
    f('gecos', str),
    f('homeDir', str),
    f('noCreateHome', bool),
    f('primaryGroup', str),
    f('groups', list(str)),
    f('noUserGroup', bool),
    f('system', bool),
    f('noLogInit', bool),
    f('shell', str),
    f('shouldExist', bool, { since: 2 }),
  ],
  group: [f('name', str, { required: true }), f('gid', int), f('passwordHash', str), f('system', bool), f('shouldExist', bool, { since: 2 })],
  kernelArguments: [f('shouldExist', list(str)), f('shouldNotExist', list(str))],
} satisfies Record<string, Field[]>;



export type ObjectName = keyof typeof OBJECTS;

/** 3 for "3.3.0". */
export function minorOf(version: IgnitionVersion): number {
  return Number(version.split('.')[1]);
}

/** The fields an object has in one spec version. */
export function fieldsOf(object: ObjectName, version: IgnitionVersion): Field[] {
  const minor = minorOf(version);
  return (OBJECTS[object] as Field[]).filter((field) => (field.since ?? 0) <= minor);
}

/** The first spec version that has the field, for "… needs spec 3.2.0" hints. */
export function versionWith(object: ObjectName, name: string): IgnitionVersion | undefined {
  const field = (OBJECTS[object] as Field[]).find((candidate) => candidate.name === name);
  return field ? IGNITION_VERSIONS[field.since ?? 0] : undefined;
}

export function isIgnitionVersion(value: unknown): value is IgnitionVersion {
  return (IGNITION_VERSIONS as readonly unknown[]).includes(value);
}
