// The one place the pipeline's stages are chained: read → load → resolve → render (pure) →
// write. compile() stops before writing (validate and diff use it); build() writes a snapshot.

import { createHash } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import { BootcfgError, ErrorList, LoadError, TemplateError } from '../compile/errors.js';
import { load, type Model } from '../compile/load.js';
import { render, type OutputFiles } from '../compile/render.js';
import { resolve, type Plan } from '../compile/resolve.js';
import { buildStopped, readSource } from './source.js';
import { readBuiltinTemplates } from './builtin-templates.js';
import { TEMPLATE_NAMES, type TemplateName, type TemplateSource } from '../compile/templates.js';
import { writeSnapshot, type SnapshotMeta, type WriteResult } from './write.js';
import { checkImages } from './images-check.js';

/** Reports a long build's progress: `done` of `total` items of a stage (total 0: not known yet). */
export type Progress = (stage: string, done: number, total: number) => void;

export interface CompileOptions {
  /** The revision to stamp; defaults to a hash of the output (a plain directory has no commit). */
  revision?: string;
  progress?: Progress;
  /** Stops the build (serve shutting down): it fails, and the last good build stays live. */
  signal?: AbortSignal;
  /** When given, every /images/ kernel and initrd must be a file here (validate and build --images-path). */
  imagesPath?: string;
  /** Rewrites the plan before it is rendered (bootcfg publish's static layout); its errors fail the build. */
  layout?: (plan: Plan, model: Model) => { plan: Plan; errors: BootcfgError[]; warnings: BootcfgError[] };
}

export interface Compiled {
  revision: string;
  files: OutputFiles;
  /** Data files compiled (boot and cloud configs, profiles, groups, data templates). */
  inputs: number;
  /** Problems that do not fail the build (unused profiles and templates, …); build and validate print them. */
  warnings: BootcfgError[];
  /** Answer path → the data file it was compiled from (a group's or a seed file's path), for diff. */
  origins: Map<string, string>;
  /** Every group: its file (as in origins), id, name and profile, for the fleet view. */
  groups: { file: string; id: string; name: string; profile: string }[];
}

export interface BuildOptions extends CompileOptions {
  dataPath: string;
  distPath: string;
  /** Where the data came from, for the manifest; defaults to the data path. */
  source?: string;
}

export interface BuildResult extends WriteResult {
  revision: string;
  inputs: number;
  warnings: BootcfgError[];
  ms: number;
}

export async function compile(dataPath: string, options: CompileOptions = {}): Promise<Compiled> {
  const progress = options.progress ?? (() => {});
  progress('read', 0, 0);
  const [files, builtins] = await Promise.all([
    readSource(dataPath, { signal: options.signal }).catch((error: unknown) => {
      if (error instanceof ErrorList) throw new ErrorList(error.errors.map((e) => locate(e, dataPath)));
      throw error instanceof BootcfgError ? locate(error, dataPath) : error;
    }),
    readBuiltinTemplates(),
  ]);
  progress('load', 0, files.size);
  const loaded = load(files, TEMPLATE_NAMES);
  const resolved = resolve(loaded.model);
  const errors: BootcfgError[] = [...loaded.errors, ...resolved.errors];
  if (options.imagesPath !== undefined) errors.push(...(await checkImages(loaded.model, options.imagesPath)));
  let output: OutputFiles = new Map();
  let plan = resolved.plan;
  const layoutWarnings: BootcfgError[] = [];
  if (errors.length === 0 && options.layout) {
    const laid = options.layout(plan, loaded.model);
    plan = laid.plan;
    errors.push(...laid.errors);
    layoutWarnings.push(...laid.warnings);
  }
  if (errors.length === 0) {
    progress('render', 0, plan.size);
    const rendered = render(plan, withOverrides(builtins, loaded.model.templates), loaded.model.dataTemplates, loaded.model.localFiles);
    errors.push(...rendered.errors);
    output = rendered.files;
  }
  const warnings = [...resolved.warnings, ...layoutWarnings].map((warning) => locate(warning, dataPath));
  if (errors.length > 0) throw new ErrorList(errors.map((error) => locate(error, dataPath)), warnings);
  const { model } = loaded;
  return {
    revision: options.revision ?? contentRevision(output),
    files: output,
    inputs: model.boot.length + model.cloud.length + model.profiles.size + model.groups.length + model.dataTemplates.size,
    warnings,
    origins: originsOf(resolved.plan),
    groups: model.groups.map(({ file, id, name, profile }) => ({ file, id, name, profile })),
  };
}

function originsOf(plan: Plan): Map<string, string> {
  const origins = new Map<string, string>();
  for (const [path, planned] of plan) if ('source' in planned && planned.source) origins.set(path, planned.source);
  return origins;
}

export async function build(options: BuildOptions): Promise<BuildResult> {
  const started = performance.now();
  const compiled = await compile(options.dataPath, options);
  if (options.signal?.aborted) throw buildStopped();
  const written = await writeSnapshot(options.distPath, compiled.files, { revision: compiled.revision, source: options.source ?? options.dataPath, ...describeFleet(compiled) }, options.progress);
  return { revision: compiled.revision, inputs: compiled.inputs, warnings: compiled.warnings, ...written, ms: Math.round(performance.now() - started) };
}

/**
 * What the manifest keeps for `bootcfg machines --dist-path` and /-/machines: where each iPXE
 * answer came from (one per machine or group, not one per file, so the manifest grows little)
 * and each group's profile.
 */
function describeFleet(compiled: Compiled): Pick<SnapshotMeta, 'origins' | 'groups'> {
  return { origins: Object.fromEntries([...compiled.origins].filter(([path]) => path.startsWith('ipxe/'))), groups: compiled.groups };
}

function withOverrides(builtins: Map<TemplateName, TemplateSource>, overrides: ReadonlyMap<string, TemplateSource>): Map<TemplateName, TemplateSource> {
  const merged = new Map(builtins);
  for (const [name, source] of overrides) merged.set(name as TemplateName, source);
  return merged;
}

/** A plain directory's revision: the first 12 hex digits of a hash over every output file. */
export function contentRevision(files: OutputFiles): string {
  const hash = createHash('sha256');
  for (const path of [...files.keys()].sort()) hash.update(path).update('\0').update(files.get(path)!).update('\0');
  return hash.digest('hex').slice(0, 12);
}

/** Makes a data-relative error path one the user can open from where they ran bootcfg. */
function locate(error: BootcfgError, dataPath: string): BootcfgError {
  if (!error.file || isAbsolute(error.file) || !(error instanceof LoadError || error instanceof TemplateError)) return error;
  const file = join(dataPath, error.file);
  const Kind = error instanceof TemplateError ? TemplateError : LoadError;
  return new Kind(error.message, { file, line: error.line, column: error.column, hint: error.hint, cause: error.cause });
}

/** The one line every build logs, whoever started it (build, serve, a watcher, a repo follower). */
export function formatBuild(result: BuildResult): string {
  const warned = result.warnings.length ? `; ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'} (bootcfg validate lists them)` : '';
  return `built revision ${result.revision}: ${result.inputs} configs → written ${result.written}, unchanged ${result.unchanged}, removed ${result.removed} in ${result.ms} ms${warned}`;
}
