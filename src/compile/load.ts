// Stage 1, load: the data directory's files → a typed model, or every problem found, each
// with its file, line, column and a fix. Pure: it sees file contents, never the disk. A file
// bootcfg cannot understand fails the build here, rather than becoming "no matching config"
// when a machine boots. Two layouts live side by side: the 2015 seed's (boot/ and cloud/ by
// uuid, mac or default) and matchbox's profiles/ and groups/ with data templates under cloud/,
// generic/ and ignition/ (parsed by profiles.ts and groups.ts).

import { checkCloudConfig } from './cloud-config.js';
import { LoadError } from './errors.js';
import { imageLocation } from './image-paths.js';
import { describe, objectProperties, parseJsonObject, rejectUnknownKeys, Strings, type JsonNode, type JsonReporter } from './json.js';
import { parseGroup, type Group } from './groups.js';
import { parseProfile, SEED_NAMES, type Profile } from './profiles.js';
import { KEY_PARSERS, type Selector, type SelectorKey } from './selectors.js';
import type { TemplateSource } from './templates.js';
import { tokenProblem, WHITESPACE_OR_CONTROL as UNSAFE, type TokenRole } from './tokens.js';

export interface BootConfig {
  kernel: string;
  initrd: string[];
  /** Kernel arguments in order: `cmdline` entries (`key=value`, or a bare `key`), then `args`. */
  args: string[];
  /** The kernel and initrds that are files under /images/, where they are written (for --images-path). */
  images?: ImageRef[];
}

export interface ImageRef {
  /** Path relative to the images directory. */
  file: string;
  line: number;
  column: number;
}

export interface Sourced<T> {
  /** Data-directory-relative path of the file it came from. */
  file: string;
  selector: Selector;
  value: T;
}

export interface Model {
  boot: Sourced<BootConfig>[];
  cloud: Sourced<Buffer>[];
  /** Template overrides from the data directory: template name → source. */
  templates: Map<string, TemplateSource>;
  /** profiles/<id>.json by id. */
  profiles: Map<string, Profile>;
  groups: Group[];
  /** Data templates by path: `cloud/<cloud_id>`, `generic/<generic_id>`, `ignition/<ignition_id>`. */
  dataTemplates: Map<string, TemplateSource>;
  /** files/ by path below it: what Butane's `contents.local` may name (never parsed). */
  localFiles: Map<string, Buffer>;
}

export interface LoadResult {
  model: Model;
  errors: LoadError[];
}

const BOOT_KEYS = ['kernel', 'initrd', 'cmdline', 'args'] as const;
const BOOT_EXAMPLE = '{"kernel": "/images/…", "initrd": ["…"], "cmdline": {"key": "value"}}';
const LAYOUT_HINT = 'files live at <boot|cloud>/default, <boot|cloud>/uuid/<uuid>, <boot|cloud>/mac/<mac>, profiles/<id>.json, groups/<id>.json, cloud/<template>, generic/<template>, ignition/<template> or files/<file> (for Butane\'s contents.local)';

/** Data-directory-relative POSIX path → file contents: what build/source.ts read. */
export type SourceFiles = ReadonlyMap<string, Buffer>;

/** Checks one seed cloud config (cloud-config.ts); a full build may check them apart, in another thread. */
export type CloudCheck = (file: string, content: Buffer) => LoadError[];

export function load(files: SourceFiles, templateNames: readonly string[], checkCloud: CloudCheck = checkCloudConfig): LoadResult {
  const model: Model = { boot: [], cloud: [], templates: new Map(), profiles: new Map(), groups: [], dataTemplates: new Map(), localFiles: new Map() };
  const errors: LoadError[] = [];
  const strings = new Strings();
  for (const [file, content] of files) {
    const [root, ...rest] = file.split('/');
    switch (root) {
      case 'templates':
        loadTemplate(file, rest, content, templateNames, model, errors);
        break;
      case 'profiles':
        loadProfile(file, rest, content, model, errors, strings);
        break;
      case 'groups':
        loadGroup(file, rest, content, model, errors, strings);
        break;
      case 'files':
        model.localFiles.set(rest.join('/'), content);
        break;
      case 'generic':
      case 'ignition':
        model.dataTemplates.set(file, { file, text: content.toString('utf8') });
        break;
      case 'cloud':
        if (!(SEED_NAMES as readonly string[]).includes(rest[0]!)) model.dataTemplates.set(file, { file, text: content.toString('utf8') });
        else loadSeed(file, root, rest, content, model, errors, checkCloud, strings);
        break;
      default:
        loadSeed(file, root!, rest, content, model, errors, checkCloud, strings);
    }
  }
  if (files.size === 0) {
    errors.push(new LoadError('no boot or cloud configs found', { hint: `is --data-path right? ${LAYOUT_HINT}` }));
  }
  return { model, errors };
}

function loadSeed(file: string, root: string, rest: string[], content: Buffer, model: Model, errors: LoadError[], checkCloud: CloudCheck, strings: Strings): void {
  const selector = parseSelectorPath(file, rest, errors);
  if (!selector) return;
  if (root === 'cloud') {
    errors.push(...checkCloud(file, content));
    model.cloud.push({ file, selector, value: content });
  } else {
    const config = parseBootConfig(file, content.toString('utf8'), errors, strings);
    if (config) model.boot.push({ file, selector, value: config });
  }
}

/** `<id>.json` directly under profiles/ or groups/: the id the file name gives. */
function jsonFileId(file: string, rest: string[], what: string, errors: LoadError[]): string | undefined {
  if (rest.length === 1 && rest[0]!.endsWith('.json') && rest[0]!.length > '.json'.length) return rest[0]!.slice(0, -'.json'.length);
  errors.push(new LoadError(`unexpected file under ${file.split('/')[0]}/`, { file, hint: `${what} live at ${file.split('/')[0]}/<id>.json, one per file` }));
  return undefined;
}

function loadProfile(file: string, rest: string[], content: Buffer, model: Model, errors: LoadError[], strings: Strings): void {
  const id = jsonFileId(file, rest, 'profiles', errors);
  if (id === undefined) return;
  const profile = parseProfile(file, id, content.toString('utf8'), errors, bootFromNode, strings);
  if (profile) model.profiles.set(profile.id, profile);
}

function loadGroup(file: string, rest: string[], content: Buffer, model: Model, errors: LoadError[], strings: Strings): void {
  const id = jsonFileId(file, rest, 'groups', errors);
  if (id === undefined) return;
  const group = parseGroup(file, id, content.toString('utf8'), errors, strings);
  if (group) model.groups.push(group);
}

/** `default`, `uuid/<uuid>`, `mac/<mac>` → the selector; anything else is a layout error. */
function parseSelectorPath(file: string, segments: string[], errors: LoadError[]): Selector | undefined {
  if (segments.length === 1 && segments[0] === 'default') return {};
  const [key, name] = segments;
  const parser = key !== undefined && Object.hasOwn(KEY_PARSERS, key) ? KEY_PARSERS[key as SelectorKey] : undefined;
  if (segments.length !== 2 || !parser || name === undefined) {
    errors.push(new LoadError('unexpected file in the data directory', { file, hint: LAYOUT_HINT }));
    return undefined;
  }
  const value = parser.parse(name);
  if (value === undefined) {
    errors.push(new LoadError(`file name "${name}" is not a ${key === 'uuid' ? 'UUID' : 'MAC address'}`, { file, hint: `name the file after the machine's ${key}: ${parser.hint}` }));
    return undefined;
  }
  return { [key as SelectorKey]: value } as Selector;
}

function loadTemplate(file: string, rest: string[], content: Buffer, known: readonly string[], model: Model, errors: LoadError[]): void {
  const name = rest.length === 1 ? rest[0]!.replace(/\.hbs$/, '') : undefined;
  if (!name || !rest[0]!.endsWith('.hbs') || !known.includes(name)) {
    errors.push(new LoadError('unknown template', { file, hint: `a data directory may override ${known.map((n) => `templates/${n}.hbs`).join(', ')}` }));
    return;
  }
  model.templates.set(name, { file, text: content.toString('utf8') });
}

// ---- boot configs -------------------------------------------------------------------------

function parseBootConfig(file: string, text: string, errors: LoadError[], strings: Strings): BootConfig | undefined {
  const parsed = parseJsonObject(file, text, errors, 'a boot config', BOOT_EXAMPLE, strings);
  return parsed && bootFromNode(parsed.root, parsed.report);
}

/** A boot config from its JSON object: a seed file's root, or a profile's "boot". */
export function bootFromNode(root: JsonNode, report: JsonReporter): BootConfig | undefined {
  const before = report.count;
  const properties = objectProperties(root, report);
  const kernel = properties.get('kernel');
  if (!kernel) report.at(root.offset, 'missing "kernel"', 'add "kernel": "/images/<os>/<version>/vmlinuz" (a URL or a path under /images)');
  const config: BootConfig = {
    kernel: kernel ? word(kernel, report, '"kernel"') ?? '' : '',
    initrd: stringList(properties.get('initrd'), report, '"initrd"'),
    args: cmdline(properties.get('cmdline'), report).concat(stringList(properties.get('args'), report, '"args"', 'argument')),
  };
  rejectUnknownKeys(properties, BOOT_KEYS, report);
  const images: ImageRef[] = [];
  imageFile(kernel, report, images);
  for (const initrd of properties.get('initrd')?.children ?? []) imageFile(initrd, report, images);
  if (images.length > 0) config.images = images.slice(); // its own length: push leaves room for 16 more, and a fleet keeps 100k
  return report.count === before ? config : undefined;
}

/** Adds the /images/ file `node` names to `images`, or refuses a path bootcfg will not serve. */
function imageFile(node: JsonNode | undefined, report: JsonReporter, images: ImageRef[]): void {
  if (node?.type !== 'string') return;
  const location = imageLocation(node.value as string);
  if (location.kind === 'refused') report.at(node.offset, location.message, location.hint);
  else if (location.kind === 'image') {
    const { line, column } = report.position(node.offset);
    images.push({ file: report.kept(location.file), line, column });
  }
}

function word(node: JsonNode, report: JsonReporter, what: string, role: TokenRole = 'image'): string | undefined {
  if (node.type !== 'string' || node.value === '') {
    report.at(node.offset, `${what} must be a non-empty string, not ${describe(node)}`, 'write it in double quotes');
    return undefined;
  }
  const problem = tokenProblem(node.value, role); // src/compile/tokens.ts: what iPXE reads as syntax
  if (problem) {
    report.at(node.offset, `${what} ${problem.message}`, problem.hint);
    return undefined;
  }
  return report.kept(node.value as string);
}

function stringList(node: JsonNode | undefined, report: JsonReporter, what: string, role: TokenRole = 'image'): string[] {
  if (!node) return [];
  if (node.type !== 'array') {
    report.at(node.offset, `${what} must be a list of strings, not ${describe(node)}`, `write ${what}: ["…", "…"]`);
    return [];
  }
  // slice(): its own length, as images above (filter leaves room for more)
  return (node.children ?? []).map((item) => word(item, report, `each item of ${what}`, role)).filter((v): v is string => v !== undefined).slice();
}

function cmdline(node: JsonNode | undefined, report: JsonReporter): string[] {
  if (!node) return [];
  if (node.type !== 'object') {
    report.at(node.offset, `"cmdline" must be an object of strings, not ${describe(node)}`, 'write "cmdline": {"console": "ttyS0", "quiet": ""} (an empty string renders a bare key)');
    return [];
  }
  const args: string[] = [];
  for (const [key, value] of objectProperties(node, report)) {
    if (key === '' || /[\s=]/.test(key) || UNSAFE.test(key)) {
      report.at(value.parent!.offset, `"cmdline" key "${key}" is not a kernel argument name`, 'keys must be non-empty and hold no spaces or "="');
      continue;
    }
    if (value.type !== 'string') {
      report.at(value.offset, `"cmdline" value of "${key}" must be a string, not ${describe(value)}`, `write "${key}": "${value.type === 'number' || value.type === 'boolean' ? String(value.value) : 'value'}" (an empty string renders a bare "${key}")`);
      continue;
    }
    const token = value.value === '' ? key : `${key}=${value.value}`;
    const problem = tokenProblem(token, 'argument');
    if (UNSAFE.test(value.value)) report.at(value.offset, `"cmdline" value of "${key}" contains whitespace or a control character`, 'iPXE splits the kernel line on spaces; use separate keys');
    else if (problem) report.at(value.parent!.offset, `"cmdline" entry ${problem.message}`, problem.hint);
    else args.push(report.kept(token)); // most machines share most of their arguments
  }
  return args;
}
