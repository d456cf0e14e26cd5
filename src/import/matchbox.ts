// `bootcfg import matchbox`, the pure part: a matchbox data directory's files → a bootcfg data
// directory's files, plus every problem (with file, line, column and a fix) and every change
// the user should know about. It reads what matchbox v0.9.0 reads, the way it reads it:
// groups are `groups/*.json` (the id is inside the file; sub-directories are not read), a
// profile is the file `profiles/<group.profile>.json`, and templates are `cloud/<cloud_id>`,
// `generic/<generic_id>` and `ignition/<ignition_id>`. Go templates become handlebars
// (gotemplate.ts); profiles and groups stay as they are, but for `/assets/` → `/images/`.

import jsonc from 'jsonc-parser';
import type { ParseError as JsonParseError } from 'jsonc-parser';
import { LoadError } from '../compile/errors.js';
import { KEY_HINT, invalidValueMessage, isSelectorKey, parseSelectorValue, valueHint } from '../compile/shapes.js';
import { translateGoTemplate } from './gotemplate.js';

export interface ImportOptions {
  /** Keep `/assets/` paths as they are (bootcfg serves kernels under /images/). */
  keepAssets: boolean;
}

export interface ImportResult {
  /** Output path (relative to DEST) → contents. */
  files: Map<string, string | Buffer>;
  /** Everything that stops a faithful import. */
  problems: LoadError[];
  /** What changed on the way, for the user to read (never a silent change). */
  notes: string[];
  counts: { profiles: number; groups: number; translated: number; copied: number };
}

type Json = Record<string, unknown>;
const TEMPLATE_KINDS = [
  { field: 'cloud_id', dir: 'cloud' },
  { field: 'generic_id', dir: 'generic' },
  { field: 'ignition_id', dir: 'ignition' },
] as const;
/** matchbox serves these Ignition files as they are; every other ignition/ file is a Go template. */
const RAW_IGNITION = /\.(ign|ignition)$/;
const SAFE_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
const ASSETS = /(^|[\s="'(]|\/\/[^/\s"']+)\/assets(?=\/|$|[\s"')?])/g;

export function importMatchbox(source: ReadonlyMap<string, Buffer>, options: ImportOptions): ImportResult {
  const result: ImportResult = { files: new Map(), problems: [], notes: [], counts: { profiles: 0, groups: 0, translated: 0, copied: 0 } };
  const importer = new Importer(source, options, result);
  importer.run();
  return result;
}

interface Group {
  file: string;
  text: string;
  json: Json;
  selectorKeys: Set<string>;
}

class Importer {
  /** Template path → groups that render it (to check `.request.query.<key>` against their selectors). */
  private readonly templateUsers = new Map<string, Group[]>();
  private readonly profiles = new Map<string, Json | undefined>();

  constructor(
    private readonly source: ReadonlyMap<string, Buffer>,
    private readonly options: ImportOptions,
    private readonly result: ImportResult,
  ) {}

  run(): void {
    const groups = this.groups();
    for (const group of groups) this.useProfile(group);
    for (const [path, users] of this.templateUsers) this.template(path, users);
    this.unused();
    if (groups.length === 0) this.problem('groups', 'no groups/*.json: matchbox would answer nothing', 'point SRC at the matchbox data directory (the one holding profiles/ and groups/), or pass --groups DIR');
  }

  private problem(file: string, message: string, hint: string, at: { line?: number; column?: number } = {}): void {
    this.result.problems.push(new LoadError(message, { file, hint, ...at }));
  }

  /** What matchbox's GroupList reads: every groups/<name>.json (sub-directories are not groups). */
  private groups(): Group[] {
    const groups: Group[] = [];
    const ids = new Map<string, string>();
    for (const [file, content] of this.source) {
      const [root, name, ...deeper] = file.split('/');
      if (root !== 'groups') continue;
      if (deeper.length > 0 || !name!.endsWith('.json')) {
        this.result.notes.push(`${file}: not imported (matchbox reads only groups/*.json; to import an example's groups, pass --groups SRC/${[root, name].join('/')})`);
        continue;
      }
      const text = content.toString('utf8');
      const json = this.parse(file, text);
      if (!json) continue;
      const group = this.group(file, text, json);
      if (!group) continue;
      const id = String(json.id);
      if (ids.has(id)) {
        this.problem(file, `group id "${id}" is also the id of ${ids.get(id)}`, 'matchbox would serve one of them by chance; give each group its own id', this.at(text, ['id']));
        continue;
      }
      ids.set(id, file);
      groups.push(group);
    }
    return groups;
  }

  private group(file: string, text: string, json: Json): Group | undefined {
    if (typeof json.id !== 'string' || !SAFE_ID.test(json.id)) {
      this.problem(file, `group id ${JSON.stringify(json.id)} cannot name a file`, 'use letters, digits, ".", "_" and "-" (bootcfg stores the group as groups/<id>.json)', this.at(text, ['id']));
      return undefined;
    }
    if (typeof json.profile !== 'string' || json.profile === '') {
      this.problem(file, 'group has no "profile"', 'name the profile this group boots: "profile": "<profile id>"', this.at(text, []));
      return undefined;
    }
    const selector = (json.selector ?? {}) as Json;
    if (!this.selector(file, text, selector)) return undefined;
    const metadata = this.metadata(file, text, (json.metadata ?? {}) as Json);
    if (!metadata) return undefined;
    const out: Json = { ...json, selector, metadata };
    if (json.selector === undefined) delete out.selector;
    this.result.files.set(`groups/${json.id}.json`, `${JSON.stringify(out, null, 2)}\n`);
    if (file !== `groups/${json.id}.json`) this.result.notes.push(`${file}: written as groups/${json.id}.json (bootcfg names a group's file by its id)`);
    this.result.counts.groups++;
    return { file, text, json, selectorKeys: new Set(Object.keys(selector).map((key) => key.toLowerCase())) };
  }

  /** Keys and values bootcfg can select on (the same checks requests get), or a problem at each one. */
  private selector(file: string, text: string, selector: Json): boolean {
    let ok = true;
    for (const [key, value] of Object.entries(selector)) {
      const at = this.at(text, ['selector', key]);
      if (!isSelectorKey(key)) {
        this.problem(file, `selector key "${key}" cannot be selected on`, KEY_HINT, at);
        ok = false;
      } else if (typeof value !== 'string' || parseSelectorValue(key, value) === undefined) {
        this.problem(file, `selector ${invalidValueMessage(key)}`, `matchbox compares values as text; bootcfg needs ${valueHint(key)}`, at);
        ok = false;
      } else if (key === 'uuid' && value !== value.toLowerCase()) {
        this.result.notes.push(`${file}: uuid ${value} is matched in any case by bootcfg (matchbox compared it as written, and iPXE sends lowercase)`);
      }
    }
    return ok;
  }

  /** Metadata as matchbox's templates see it: `request` is shadowed there, `bootcfg` is ours. */
  private metadata(file: string, text: string, metadata: Json): Json | undefined {
    if ('bootcfg' in metadata) {
      this.problem(file, 'metadata key "bootcfg" is reserved in bootcfg', 'rename the key (and its uses in templates): bootcfg puts its own group/profile data under it', this.at(text, ['metadata', 'bootcfg']));
      return undefined;
    }
    const out = this.rewriteAssets(file, metadata) as Json;
    if ('request' in out) {
      delete out.request;
      this.result.notes.push(`${file}: metadata "request" dropped (matchbox replaces it with the request's query before any template sees it)`);
    }
    return out;
  }

  /** The group's profile, imported once; its templates are registered with the group as a user. */
  private useProfile(group: Group): void {
    const id = group.json.profile as string;
    if (!this.profiles.has(id)) this.profiles.set(id, this.profile(id, group));
    const profile = this.profiles.get(id);
    if (!profile) return;
    for (const { field, dir } of TEMPLATE_KINDS) {
      const name = profile[field];
      if (typeof name !== 'string' || name === '') continue;
      const path = `${dir}/${name}`;
      this.templateUsers.set(path, [...(this.templateUsers.get(path) ?? []), group]);
    }
  }

  private profile(id: string, group: Group): Json | undefined {
    const file = `profiles/${id}.json`;
    const content = SAFE_ID.test(id) ? this.source.get(file) : undefined;
    if (!content) {
      this.problem(group.file, `profile "${id}" not found (no ${file})`, 'matchbox reads a group\'s profile from profiles/<profile>.json: add it, or fix "profile"', this.at(group.text, ['profile']));
      return undefined;
    }
    const text = content.toString('utf8');
    const json = this.parse(file, text);
    if (!json) return undefined;
    if (json.id !== id) this.result.notes.push(`${file}: id ${JSON.stringify(json.id)} written as "${id}" (matchbox finds a profile by its file name; bootcfg wants the two equal)`);
    const boot = this.boot(file, text, json.boot);
    if (!boot) return undefined;
    for (const { field, dir } of TEMPLATE_KINDS) {
      const name = json[field];
      if (name === undefined || name === '') continue;
      if (typeof name !== 'string' || !this.source.has(`${dir}/${name}`)) {
        this.problem(file, `${field} ${JSON.stringify(name)}: no template ${dir}/${String(name)}`, `add ${dir}/${String(name)} to the matchbox directory, or remove "${field}"`, this.at(text, [field]));
        return undefined;
      }
    }
    const out: Json = { ...json, id, boot };
    this.result.files.set(file, `${JSON.stringify(out, null, 2)}\n`);
    this.result.counts.profiles++;
    return out;
  }

  /** matchbox v0.9.0 renders kernel, initrd and args; `cmdline` reaches no script it serves. */
  private boot(file: string, text: string, boot: unknown): Json | undefined {
    if (typeof boot !== 'object' || boot === null || typeof (boot as Json).kernel !== 'string') {
      this.problem(file, 'profile has no boot.kernel', 'add "boot": {"kernel": "…", "initrd": […], "args": […]}', this.at(text, ['boot']));
      return undefined;
    }
    const out = this.rewriteAssets(file, boot) as Json;
    if (out.cmdline !== undefined) {
      delete out.cmdline;
      this.result.notes.push(`${file}: boot.cmdline dropped (matchbox v0.9.0 ignores it: its iPXE and GRUB scripts render only boot.args; move what you need into "args")`);
    }
    return out;
  }

  /** `/assets/…` (matchbox's asset route) → `/images/…` (bootcfg's), in every string. */
  private rewriteAssets(file: string, value: unknown): unknown {
    if (this.options.keepAssets) return value;
    let count = 0;
    const walk = (item: unknown): unknown => {
      if (typeof item === 'string') {
        return item.replace(ASSETS, (_, before: string) => {
          count++;
          return `${before}/images`;
        });
      }
      if (Array.isArray(item)) return item.map(walk);
      if (item !== null && typeof item === 'object') return Object.fromEntries(Object.entries(item).map(([key, entry]) => [key, walk(entry)]));
      return item;
    };
    const out = walk(value);
    if (count > 0) this.result.notes.push(`${file}: ${count} /assets/ path${count === 1 ? '' : 's'} rewritten to /images/ (--keep-assets keeps them)`);
    return out;
  }

  private template(path: string, users: Group[]): void {
    const content = this.source.get(path)!;
    if (path.startsWith('ignition/') && RAW_IGNITION.test(path)) {
      this.result.files.set(path, content);
      this.result.counts.copied++;
      return;
    }
    const translation = translateGoTemplate(content.toString('utf8'));
    for (const problem of translation.problems) this.problem(path, problem.message, problem.hint, problem);
    // A read the group's selector does not fix renders nothing bootcfg can know: the build fails there too.
    for (const read of translation.requestKeys) {
      const lacking = users.filter((group) => !group.selectorKeys.has(read.key)).map((group) => String(group.json.id));
      if (lacking.length === 0) continue;
      this.problem(path, `.request.query.${read.key} is known only when a request arrives, and group${lacking.length === 1 ? '' : 's'} ${lacking.join(', ')} do${lacking.length === 1 ? 'es' : ''} not select on "${read.key}"`, `bootcfg compiles answers ahead of requests: add "${read.key}" to the selector of ${lacking.join(', ')}, or read a metadata value instead`, read);
    }
    this.result.files.set(path, translation.text);
    if (translation.problems.length === 0) this.result.counts.translated++;
  }

  /** Templates no profile uses are not imported: say so rather than drop them quietly. */
  private unused(): void {
    for (const file of this.source.keys()) {
      const [root, name] = file.split('/');
      if (root === 'profiles' && !this.profiles.has(name!.replace(/\.json$/, ''))) this.result.notes.push(`${file}: not imported (no group uses it)`);
      if (!TEMPLATE_KINDS.some(({ dir }) => dir === root) || this.templateUsers.has(file)) continue;
      this.result.notes.push(`${file}: not imported (no imported profile uses it)`);
    }
    const ignition = [...this.templateUsers.keys()].filter((path) => path.startsWith('ignition/'));
    if (ignition.length > 0) this.result.notes.push(`ignition/: ${ignition.length} template${ignition.length === 1 ? '' : 's'} imported; bootcfg compiles them at build time and takes Butane and Ignition 3.0–3.3 only, so a Container Linux Config or a spec 2 .ign needs converting (docs/ignition.md)`);
  }

  private parse(file: string, text: string): Json | undefined {
    const errors: JsonParseError[] = [];
    const json = jsonc.parse(text, errors, { allowTrailingComma: false, disallowComments: true }) as unknown;
    if (errors.length > 0) {
      this.problem(file, `invalid JSON: ${jsonc.printParseErrorCode(errors[0]!.error)}`, 'matchbox skips a file it cannot parse (and logs it); fix the JSON so it is imported', position(text, errors[0]!.offset));
      return undefined;
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      this.problem(file, 'not a JSON object', 'a matchbox profile or group is one JSON object');
      return undefined;
    }
    return json as Json;
  }

  /** Line and column of the value at `path` in a JSON text (the start of the file if absent). */
  private at(text: string, path: Array<string | number>): { line: number; column: number } {
    const tree = jsonc.parseTree(text);
    const node = tree && jsonc.findNodeAtLocation(tree, path);
    return position(text, node?.offset ?? 0);
  }
}

function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}
