// The static layout (issue 12, docs/static.md): a build's plan rewritten so that a host knowing
// nothing about bootcfg (an object store, a CDN, plain nginx) can boot the fleet from it. Pure.
//
// - The chain script becomes a per-revision walk over the build's iPXE shapes in the order
//   `bootcfg serve` tries them, each candidate a plain path built from iPXE settings in
//   URI-safe form, so a 404 from any host falls through to the next candidate.
// - Kernel arguments that point at a machine's own config (`cloud-config-url=http://…/cloud?…`,
//   `ignition.config.url=…/ignition?…`, /generic, /metadata) are resolved here to the one static
//   file the dynamic server would answer that machine with: the compiler knows every answer, so
//   no query routing is needed after the first script. When the answer depends on something the
//   compiler cannot know, the build fails naming the data file instead of guessing.
// - Kernels and initrds under /images/ become absolute URLs under the base URL.
// - GRUB answers get the same kernels and URLs; there is no static GRUB walk (docs/static.md).
// - Pixiecore answers are left out: Pixiecore asks an API (`/v1/boot/<mac>`, falling back to a
//   default) that a static host cannot answer, so they stay with bootcfg serve.
// The revision's own directory is not known until its contents are (it is named for them), so
// resolved URLs carry REVISION_PLACEHOLDER, which tree.ts replaces.

import { LoadError, TemplateError, type BootcfgError } from '../compile/errors.js';
import type { BootConfig, Model } from '../compile/load.js';
import { CHAIN_FILE, KIND_DIRS } from '../compile/outputs.js';
import type { Plan } from '../compile/resolve.js';
import { answerPath, compareShapes, isLabel, keysOf, parseSelectorValue, shapeDir, sortShapes, type ShapeKeys } from '../compile/shapes.js';
import { IMAGES_PREFIX } from '../compile/image-paths.js';
import { METADATA_JSON, QUERY_ROUTES, type AnswerKind } from '../serve/answers.js';
import { queryArg } from '../serve/route.js';

/** Stands for the revision's directory name in resolved URLs until the tree is sealed. */
export const REVISION_PLACEHOLDER = '@@bootcfg-revision@@';
/** Where each revision lives under the published tree. */
export const REVS_DIR = 'revs';
/** The name the chain gives the answer it found, so that only a missing file falls through. */
const ANSWER_IMAGE = 'bootcfg-answer';

type Values = Record<string, string>;


export interface LayoutResult {
  plan: Plan;
  errors: BootcfgError[];
  warnings: BootcfgError[];
}

/**
 * The static layout of a build for a tree published at `baseUrl` (http(s), no trailing
 * slash): compile()'s plan hook. `templates` are the data directory's template overrides.
 * Every file under the images directory that an answer boots is added to `images`.
 */
export function staticLayout(baseUrl: string, images = new Set<string>()): (plan: Plan, model: Pick<Model, 'templates'>) => LayoutResult {
  return (plan, model) => {
    const errors: BootcfgError[] = [];
    const warnings: BootcfgError[] = [];
    const chainOverride = model.templates.get(CHAIN_FILE);
    if (chainOverride) {
      errors.push(new TemplateError(`static publishing writes its own chain script, so it cannot follow ${chainOverride.file}`, {
        file: chainOverride.file,
        hint: 'the published boot.ipxe walks the same shapes as bootcfg serve (docs/static.md); remove the override to publish, or keep serving this data with bootcfg serve',
      }));
    }
    const index = new AnswerIndex(plan);
    const resolver = new UrlResolver(index, baseUrl);
    const out: Plan = new Map();
    for (const [path, planned] of plan) {
      if (planned.kind === 'chain') {
        out.set(path, { kind: 'text', source: '', content: chainScript(index.shapes(KIND_DIRS.ipxe)) });
      } else if (planned.kind === 'pixiecore') {
        continue;
      } else if (planned.kind === 'ipxe' || planned.kind === 'grub') {
        const walk = walkOf(path, planned.source);
        for (const ref of planned.boot.images ?? []) images.add(ref.file);
        out.set(path, { ...planned, boot: staticBoot(planned.boot, baseUrl, (url) => resolver.resolve(url, walk, errors, warnings)) });
      } else out.set(path, planned);
    }
    return { plan: out, errors: dedupe(errors), warnings: dedupe(warnings) };
  };
}

// ---------------------------------------------------------------- the chain

/** How the chain reads each selector key from iPXE: a setting, tested with isset, and its URI-safe form. */
function settingOf(key: string): { isset: string; value: string } {
  switch (key) {
    case 'uuid':
      return { isset: '${uuid}', value: '${uuid}' }; // iPXE formats a UUID as lowercase 8-4-4-4-12
    case 'mac':
      return { isset: '${net0/mac}', value: '${net0/mac:hexhyp}' };
    case 'arch':
      return { isset: '${buildarch}', value: '${buildarch:uristring}' };
    default: // hostname, serial and labels: iPXE settings of the same name
      return { isset: `\${${key}}`, value: `\${${key}:uristring}` };
  }
}

/**
 * The per-revision chain: fetch the first of the machine's candidates that exists, in bootcfg
 * serve's order (shapes with more keys first, uuid before mac, the default last), then run it.
 * Fetching and running are separate steps so that a script that fails once it runs (a kernel
 * that does not download) stops the boot, as under bootcfg serve, instead of falling through
 * to the next candidate.
 */
export function chainScript(ipxeShapes: readonly ShapeKeys[]): string {
  const lines = [
    '#!ipxe',
    `# bootcfg static chain, revision ${REVISION_PLACEHOLDER}: this machine's iPXE answer, tried in bootcfg serve's order (docs/static.md)`,
  ];
  for (const shape of sortShapes(ipxeShapes)) {
    const guards = shape.map((key) => `isset ${settingOf(key).isset} && `).join('');
    const path = shape.length === 0 ? `${KIND_DIRS.ipxe}/default` : [KIND_DIRS.ipxe, shapeDir(shape), ...shape.map((key) => settingOf(key).value)].join('/');
    lines.push(`${guards}imgfetch --name ${ANSWER_IMAGE} ${path} && goto bootcfg-found ||`);
  }
  lines.push('echo bootcfg: no iPXE config for this machine and no default', 'exit 1', ':bootcfg-found', `chain --autofree ${ANSWER_IMAGE}`, '');
  return lines.join('\n');
}

/** The tiny script at the root of a published tree, naming the live revision (written last). */
export function entryScript(revisionDir: string): string {
  return `#!ipxe\n# bootcfg: the live revision (docs/static.md); rollback rewrites only this file\nchain --autofree ${REVS_DIR}/${revisionDir}/${CHAIN_FILE}\n`;
}

/** The revision directory an entry script names, or undefined when it is not one of ours. */
export function parseEntryScript(text: string): string | undefined {
  return /^chain --autofree revs\/([0-9A-Za-z_.-]+)\/boot\.ipxe$/m.exec(text)?.[1];
}

// ---------------------------------------------------------------- boot configs

/** A boot config with /images/ made absolute under the base URL and bootcfg URLs resolved. */
function staticBoot(boot: BootConfig, baseUrl: string, resolveUrl: (url: string) => string | undefined): BootConfig {
  const image = (path: string) => (path.startsWith(IMAGES_PREFIX) ? `${baseUrl}${path}` : path);
  const args = boot.args.map((arg) => {
    const m = /^([^=]*=)?(https?:\/\/.*)$/is.exec(arg);
    const resolved = m ? resolveUrl(m[2]!) : undefined;
    return resolved === undefined ? arg : `${m![1] ?? ''}${resolved}`;
  });
  return { ...boot, kernel: image(boot.kernel), initrd: boot.initrd.map(image), args };
}

/** Which iPXE answer a machine walked to: its shape and values, and the data file it came from. */
interface Walk {
  shape: ShapeKeys;
  values: Values;
  source: string;
}

function walkOf(path: string, source: string): Walk {
  const { shape, values } = parseAnswerPath(path)!;
  return { shape, values, source };
}

/** `<kind>/<k1.k2>/<v1>/<v2>` → its parts (the inverse of answerPath); undefined for other files. */
export function parseAnswerPath(path: string): { kind: string; shape: ShapeKeys; values: Values } | undefined {
  const [kind, dir, ...rest] = path.split('/');
  if (!kind || !dir) return undefined;
  if (dir === 'default') return rest.length === 0 ? { kind, shape: [], values: {} } : undefined;
  const shape = dir.split('.');
  if (rest.length !== shape.length) return undefined;
  return { kind, shape, values: Object.fromEntries(shape.map((key, i) => [key, rest[i]!])) };
}

/** Every answer of the plan by kind and shape, for lookups while resolving. */
class AnswerIndex {
  private readonly byKind = new Map<string, Map<string, { shape: ShapeKeys; values: Values[] }>>();

  constructor(readonly plan: Plan) {
    for (const path of plan.keys()) {
      const answer = parseAnswerPath(path);
      if (!answer) continue;
      let shapes = this.byKind.get(answer.kind);
      if (!shapes) this.byKind.set(answer.kind, (shapes = new Map()));
      const dir = shapeDir(answer.shape);
      let entry = shapes.get(dir);
      if (!entry) shapes.set(dir, (entry = { shape: answer.shape, values: [] }));
      entry.values.push(answer.values);
    }
  }

  private readonly sorted = new Map<string, ShapeKeys[]>();

  /** A kind's shapes in try order. */
  shapes(kind: string): ShapeKeys[] {
    let shapes = this.sorted.get(kind);
    if (!shapes) this.sorted.set(kind, (shapes = sortShapes([...(this.byKind.get(kind)?.values() ?? [])].map((entry) => entry.shape))));
    return shapes;
  }

  /** Every shape of every kind: what a server reads from the query (shapes.json). */
  allShapes(): ShapeKeys[] {
    return sortShapes([...this.byKind.values()].flatMap((shapes) => [...shapes.values()].map((entry) => entry.shape)));
  }

  answers(kind: string, shape: ShapeKeys): readonly Values[] {
    return this.byKind.get(kind)?.get(shapeDir(shape))?.values ?? [];
  }

  has(kind: string, shape: ShapeKeys, values: Values): boolean {
    const path = answerPath(kind, shape, values);
    return path !== undefined && this.plan.has(path);
  }
}

// ---------------------------------------------------------------- URLs to bootcfg

/** What a query parameter's value is, as far as the compiler can tell. */
type Param =
  /** The same for every machine that walks to this answer. */
  | { type: 'known'; value: string; consistent: boolean }
  /** An iPXE setting the compiler does not know for these machines; `from` is the key the chain reads it as. */
  | { type: 'runtime'; from: string | undefined };

const MAC_SETTING = /^(?:net0\/)?mac(?::(?:hex|hexhyp|hexraw))?$/;
const ROUTE_URL = /^(https?:\/\/[^/?#]+)(\/[a-z]+)(?:\?([^#]*))?$/i;

class UrlResolver {
  private readonly keys: string[];
  private readonly memo = new Map<string, string | LoadError>();

  constructor(private readonly index: AnswerIndex, private readonly baseUrl: string) {
    this.keys = keysOf(index.allShapes());
  }

  /** The static URL for a bootcfg URL, or undefined when `url` is not one (left as written). */
  resolve(url: string, walk: Walk, errors: BootcfgError[], warnings: BootcfgError[]): string | undefined {
    const m = ROUTE_URL.exec(url);
    if (!m || !Object.hasOwn(QUERY_ROUTES, m[2]!)) return undefined;
    const query = m[3] ?? '';
    let kind: AnswerKind = QUERY_ROUTES[m[2] as keyof typeof QUERY_ROUTES];
    const fail = (message: string, hint: string) => {
      errors.push(new LoadError(`${url} cannot be published statically: ${message}`, { file: walk.source, hint }));
      return url;
    };
    if (kind.dir === KIND_DIRS.metadata) {
      const format = queryArg(query, 'format');
      if (format !== undefined && format.toLowerCase() !== 'json') return fail(`bootcfg serve answers format=${format} with 400`, 'write format=json, or leave format out');
      if (format !== undefined) kind = METADATA_JSON;
    }
    const params = this.params(query, walk);
    if (typeof params === 'string') return fail(params, 'a literal selector value must be valid, as bootcfg serve checks it');
    const memoKey = `${kind.dir}\0${shapeDir(walk.shape)}\0${JSON.stringify(params)}`;
    let found = this.memo.get(memoKey);
    if (found === undefined) this.memo.set(memoKey, (found = this.find(kind, params, walk)));
    if (found instanceof LoadError) {
      errors.push(new LoadError(`${url} cannot be published statically: ${found.message}`, { file: walk.source, hint: found.hint }));
      return url;
    }
    if (found === '') {
      const path = `${kind.dir}/default`;
      warnings.push(new LoadError(`${url} has no answer for the machines this file answers (bootcfg serve says 404); published as ${path}, which does not exist either`, { file: walk.source, hint: `add a ${kind.dir} config for them, or drop the argument` }));
      return `${this.baseUrl}/${REVS_DIR}/${REVISION_PLACEHOLDER}/${path}`;
    }
    return `${this.baseUrl}/${REVS_DIR}/${REVISION_PLACEHOLDER}/${found}`;
  }

  /** Each selector parameter the query carries: known for these machines, or read at run time. */
  private params(query: string, walk: Walk): Record<string, Param> | string {
    const params: Record<string, Param> = {};
    for (const key of this.keys) {
      const raw = queryArg(query, key);
      if (raw === undefined) continue;
      const setting = /^\$\{([A-Za-z0-9_./-]+(?::[a-z]+)?)\}$/.exec(raw)?.[1];
      if (setting === undefined) {
        if (raw.includes('${')) {
          params[key] = { type: 'runtime', from: undefined };
          continue;
        }
        const value = parseSelectorValue(key, key === 'uuid' || key === 'mac' ? raw.replace(/%3a/gi, ':') : raw);
        if (value === undefined) return `${key}=${raw} is not a valid ${key}`;
        params[key] = { type: 'known', value, consistent: walk.values[key] === value };
        continue;
      }
      const from = settingKey(setting);
      if (from !== undefined && walk.shape.includes(from)) {
        const value = parseSelectorValue(key, walk.values[from]!);
        if (value === undefined) return `${key}=${raw} is ${walk.values[from]} for these machines, not a valid ${key}`;
        params[key] = { type: 'known', value, consistent: from === key };
      } else params[key] = { type: 'runtime', from };
    }
    return params;
  }

  /**
   * The answer path bootcfg serve gives every machine that walked to `walk` and asks this
   * query; '' when it gives none (404); an error when machines could get different answers.
   * A candidate shape whose answers depend on a value only known at boot is skipped only when
   * each such answer belongs to a group the machine's own walk would have chosen first.
   */
  private find(kind: AnswerKind, params: Record<string, Param>, walk: Walk): string | LoadError {
    const present = new Set(Object.keys(params));
    for (const shape of this.index.shapes(kind.dir)) {
      if (!kind.accepts(shape) || !shape.every((key) => present.has(key))) continue;
      const known: Values = {};
      for (const key of shape) {
        const param = params[key]!;
        if (param.type === 'known') known[key] = param.value;
      }
      if (Object.keys(known).length === shape.length) {
        if (this.index.has(kind.dir, shape, known)) return answerPath(kind.dir, shape, known)!;
        continue;
      }
      const reachable = this.index.answers(kind.dir, shape).filter((values) =>
        Object.entries(known).every(([key, value]) => values[key] === value) && !this.walkedPast(shape, values, params, walk));
      if (reachable.length > 0) {
        const example = answerPath(kind.dir, shape, reachable[0]!)!;
        return new LoadError(`the machines it is written for could get ${example}${reachable.length > 1 ? ` (or ${reachable.length - 1} more like it)` : ''} or another answer, depending on a value only known at boot`, {
          hint: `give those machines a group (or boot file) of their own whose URL names them, or point the URL at values every machine of this group shares (docs/static.md, "Resolved URLs")`,
        });
      }
    }
    return '';
  }

  /**
   * Whether a machine whose values are `values` on `shape` never walks to `walk`: the chain
   * would answer it earlier, from an iPXE answer of a shape tried before the walk's, on keys the
   * chain reads from the same place as this URL (so the machine's values are these).
   */
  private walkedPast(shape: ShapeKeys, values: Values, params: Record<string, Param>, walk: Walk): boolean {
    const same = new Set(shape.filter((key) => {
      const param = params[key]!;
      return param.type === 'known' ? param.consistent : param.from === key;
    }));
    return this.index.shapes(KIND_DIRS.ipxe).some((earlier) =>
      compareShapes(earlier, walk.shape) < 0 && earlier.every((key) => same.has(key)) && this.index.has(KIND_DIRS.ipxe, earlier, values));
  }
}

/** The selector key an iPXE setting stands for, as the chain reads it; undefined for any other setting. */
function settingKey(setting: string): string | undefined {
  if (MAC_SETTING.test(setting)) return 'mac';
  const [name, type] = setting.split(':');
  if (type !== undefined && type !== 'uristring') return undefined;
  if (name === 'uuid') return type === undefined ? 'uuid' : undefined;
  if (name === 'buildarch') return 'arch';
  return name === 'hostname' || name === 'serial' || isLabel(name!) ? name : undefined;
}

function dedupe(errors: BootcfgError[]): BootcfgError[] {
  const seen = new Set<string>();
  return errors.filter((error) => {
    const key = `${error.file}\0${error.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
