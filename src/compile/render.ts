// Stage 3, render: the plan → the contents of every output file. Pure. iPXE scripts come from
// handlebars templates in an isolated instance with `noEscape` (HTML escaping would turn the
// `&` of an iPXE URL into `&amp;`) and `strict` (a misspelt variable is a build error naming
// the template line, not an empty string in a boot script). Pixiecore answers are built as
// JSON by code; seed cloud configs are copied byte for byte. A group's data templates (cloud/,
// generic/) are handlebars too, in their own isolated instance with Go's template built-ins
// (template-helpers.ts), compiled once each and rendered once per answer with its context; a
// rendered ignition/ template is then compiled to checked Ignition JSON (ignition.ts).

import Handlebars from 'handlebars';
import { checkCloudConfig } from './cloud-config.js';
import { BootcfgError, ErrorList, LoadError, TemplateError } from './errors.js';
import { grubConfig } from './grub.js';
import { compileIgnition, ignitionSourceKind } from './ignition.js';
import type { BootConfig } from './load.js';
import type { Plan, PlannedFile } from './resolve.js';
import { registerTemplateHelpers } from './template-helpers.js';
import type { TemplateName, TemplateSource } from './templates.js';

export type OutputFiles = Map<string, Buffer>;
type Renderer = (context: object) => string;

const IPXE_HINT = 'templates see kernel, initrd (a list), initrdArgs (initrd=<name> for each), args (a list) and cmdline (args joined by spaces)';
const DATA_HINT = 'a data template sees the group\'s metadata and selector values at the top level, request.query.<selector key>, and bootcfg.group, bootcfg.profile, bootcfg.selector; use {{#if key}} for a key some groups leave out';

/**
 * Compiled templates kept between renders, for a caller that renders again and again (the
 * incremental builder: each edit renders a few answers with the same templates). A template is
 * compiled again only when its text changes; one that does not compile is not kept, so each
 * render reports it. The iPXE templates and the data templates compile in separate isolated
 * handlebars instances, as in one render.
 */
export class Compilers {
  readonly boot = new Compiler(Handlebars.create());
  readonly data = new Compiler(withHelpers(Handlebars.create()));
}

/** One handlebars instance and what it compiled, by template text (at most MAX_KEPT of them). */
class Compiler {
  private readonly renderers = new Map<string, Renderer>();

  constructor(private readonly handlebars: typeof Handlebars) {}

  /** The template's renderer, or undefined (its error pushed to `errors`) when it does not compile. */
  compile(template: TemplateSource, errors: BootcfgError[], hint: string): Renderer | undefined {
    const kept = this.renderers.get(template.text);
    if (kept) return kept;
    const renderer = compileOne(this.handlebars, template, errors, hint);
    if (!renderer) return undefined;
    if (this.renderers.size >= MAX_KEPT) this.renderers.clear(); // a repo cycling through template texts: start again
    this.renderers.set(template.text, renderer);
    return renderer;
  }
}

/** Template texts a Compiler keeps: more than a fleet's templates, few enough to bound memory. */
const MAX_KEPT = 1024;

function withHelpers(handlebars: typeof Handlebars): typeof Handlebars {
  registerTemplateHelpers(handlebars);
  return handlebars;
}

/**
 * `shared` holds the answers that more than one path has (a profile's script for all its
 * groups): a caller hashing every answer hashes those once. `compilers` keeps compiled
 * templates for the caller's next render (by default, for this one only).
 */
export function render(plan: Plan, templates: ReadonlyMap<TemplateName, TemplateSource>, dataTemplates: ReadonlyMap<string, TemplateSource> = new Map(), localFiles: ReadonlyMap<string, Buffer> = new Map(), compilers = new Compilers()): { files: OutputFiles; errors: BootcfgError[]; shared: ReadonlySet<Buffer> } {
  const rendering = new Rendering(templates, dataTemplates, localFiles, compilers);
  if (rendering.errors.length === 0) for (const [path, planned] of plan) rendering.add(path, planned);
  return { files: rendering.files, errors: rendering.errors, shared: rendering.shared };
}

/**
 * One render, an answer at a time: `render` in steps, for a caller that lets other work run
 * between them (serve --watch answering requests while an edit reaching 25k groups renders).
 * The steps share what one render shares (compiled templates, a profile's boot answers, the
 * errors reported once per template and group), so any split renders what one call does.
 * Nothing may be added when the templates did not compile (`errors` is not empty at the start).
 */
export class Rendering {
  readonly files: OutputFiles = new Map();
  readonly errors: BootcfgError[] = [];
  readonly shared = new Set<Buffer>();
  private readonly compiled: Map<TemplateName, Renderer>;
  private readonly data: DataTemplates;
  private readonly failed = new Set<string>();
  // A profile's boot config is one object for all its groups' answers: its script, grub.cfg and
  // Pixiecore answer are rendered once (at 100k machines in four profiles, 250k renders saved).
  private readonly byBoot = new Map<string, Map<BootConfig, Buffer>>();

  constructor(private readonly templates: ReadonlyMap<TemplateName, TemplateSource>, private readonly dataTemplates: ReadonlyMap<string, TemplateSource>, localFiles: ReadonlyMap<string, Buffer>, compilers: Compilers) {
    this.compiled = compileTemplates(compilers.boot, templates, this.errors);
    this.data = new DataTemplates(compilers.data, dataTemplates, this.errors, localFiles);
  }

  /** Renders one planned answer into `files`; an error goes to `errors` (once per template, and group) and its answer is left out. */
  add(path: string, planned: PlannedFile): void {
    const { errors, failed } = this;
    try {
      this.files.set(path, planned.kind === 'template' ? this.data.render(planned, failed, errors) : 'shared' in planned && planned.shared ? renderShared(planned, this.compiled, this.byBoot, this.shared) : renderFile(planned, this.compiled));
    } catch (error) {
      const name = planned.kind === 'template' ? `${planned.template}\0${planned.source}` : planned.kind === 'chain' ? 'boot.ipxe' : 'ipxe';
      if (failed.has(name)) return;
      failed.add(name);
      if (planned.kind === 'template') {
        errors.push(templateError(this.dataTemplates.get(planned.template)!, error, DATA_HINT, `for group ${planned.group} (${planned.source})`));
      } else {
        errors.push(templateError(this.templates.get(name as TemplateName)!, error, IPXE_HINT, 'source' in planned ? `rendering ${planned.source}` : undefined));
      }
    }
  }
}

/** Data templates, each compiled the first time an answer needs it and reused for every other. */
class DataTemplates {
  private readonly compiled = new Map<string, Renderer | undefined>();
  /** Rendered Ignition source text → its compiled JSON: groups rendering alike compile once. */
  private readonly ignition = new Map<string, Buffer>();

  constructor(private readonly compiler: Compiler, private readonly sources: ReadonlyMap<string, TemplateSource>, private readonly errors: BootcfgError[], private readonly localFiles: ReadonlyMap<string, Buffer>) {}

  /** The rendered answer; a rendered cloud config is checked as a seed one is (once per template and group). */
  render(planned: Extract<PlannedFile, { kind: 'template' }>, failed: Set<string>, errors: BootcfgError[]): Buffer {
    let renderer = this.compiled.get(planned.template);
    if (!this.compiled.has(planned.template)) {
      renderer = this.compiler.compile(this.sources.get(planned.template)!, this.errors, DATA_HINT);
      this.compiled.set(planned.template, renderer);
    }
    // A template that does not compile was reported once; its answers are left out.
    if (!renderer) return Buffer.alloc(0);
    const output = Buffer.from(renderer(planned.context));
    const key = `${planned.template}\0${planned.source}`;
    if (planned.template.startsWith('ignition/')) return this.compileIgnition(planned, output.toString('utf8'), key, failed, errors);
    if (planned.template.startsWith('cloud/') && !failed.has(key)) {
      const problems = checkCloudConfig(this.sources.get(planned.template)!.file, output);
      if (problems.length > 0) failed.add(key);
      for (const problem of problems) {
        errors.push(new LoadError(`${problem.message} (rendered for group ${planned.group} (${planned.source}); the line is the rendered output's)`, { file: problem.file, line: problem.line, column: problem.column, hint: problem.hint }));
      }
    }
    return output;
  }

  /** A rendered ignition/ template → checked Ignition JSON (Butane translated); errors once per template and group. */
  private compileIgnition(planned: Extract<PlannedFile, { kind: 'template' }>, text: string, key: string, failed: Set<string>, errors: BootcfgError[]): Buffer {
    const cached = this.ignition.get(text);
    if (cached) return cached;
    const file = this.sources.get(planned.template)!.file;
    try {
      const json = Buffer.from(compileIgnition({ file, text, kind: ignitionSourceKind(planned.template)! }, { local: (path) => this.localFiles.get(path) }).json);
      this.ignition.set(text, json);
      return json;
    } catch (error) {
      if (!(error instanceof BootcfgError)) throw error;
      if (!failed.has(key)) {
        failed.add(key);
        for (const problem of error instanceof ErrorList ? error.errors : [error]) {
          errors.push(new LoadError(`${problem.message} (rendered for group ${planned.group} (${planned.source}))`, { file: problem.file, line: problem.line, column: problem.column, hint: problem.hint }));
        }
      }
      return Buffer.alloc(0);
    }
  }
}

/** renderFile, once per boot config and kind: the answer is a function of those alone. */
function renderShared(planned: Extract<PlannedFile, { boot: BootConfig }>, templates: Map<TemplateName, Renderer>, byBoot: Map<string, Map<BootConfig, Buffer>>, shared: Set<Buffer>): Buffer {
  let rendered = byBoot.get(planned.kind);
  if (!rendered) byBoot.set(planned.kind, (rendered = new Map()));
  let content = rendered.get(planned.boot);
  if (content === undefined) rendered.set(planned.boot, (content = renderFile(planned, templates)));
  else shared.add(content);
  return content;
}

function renderFile(planned: Exclude<PlannedFile, { kind: 'template' }>, templates: Map<TemplateName, Renderer>): Buffer {
  switch (planned.kind) {
    case 'chain':
      return Buffer.from(templates.get('boot.ipxe')!({}));
    case 'ipxe':
      return Buffer.from(templates.get('ipxe')!(ipxeContext(planned.boot)));
    case 'pixiecore':
      return Buffer.from(pixiecoreAnswer(planned.boot));
    case 'grub':
      return Buffer.from(grubConfig(planned.boot));
    case 'cloud':
      return planned.content;
    case 'text':
      return Buffer.from(planned.content);
  }
}

/** What an iPXE template sees: the boot config with its arguments both as a list and a line. */
export function ipxeContext(boot: BootConfig): object {
  return { kernel: boot.kernel, initrd: boot.initrd, initrdArgs: initrdArgs(boot), args: boot.args, cmdline: boot.args.join(' ') };
}

/**
 * `initrd=<name>` for each initrd, which a UEFI kernel needs to find them (its EFI stub loads
 * them by name from iPXE's images; BIOS kernels ignore it). iPXE names an image after the last
 * segment of its URL. A config that names them itself, as matchbox users do, is left alone.
 */
function initrdArgs(boot: BootConfig): string[] {
  if (boot.args.some((arg) => arg.startsWith('initrd='))) return [];
  return boot.initrd.map((url) => `initrd=${url.replace(/[?#].*$/, '').split('/').pop()}`);
}

/** Pixiecore API mode's answer: kernel, initrd list and the command line as one string. */
export function pixiecoreAnswer(boot: BootConfig): string {
  return `${JSON.stringify({ kernel: boot.kernel, initrd: boot.initrd, cmdline: boot.args.join(' ') }, null, 2)}\n`;
}

function compileTemplates(compiler: Compiler, templates: ReadonlyMap<TemplateName, TemplateSource>, errors: BootcfgError[]): Map<TemplateName, Renderer> {
  const compiled = new Map<TemplateName, Renderer>();
  for (const [name, template] of templates) {
    const renderer = compiler.compile(template, errors, IPXE_HINT);
    if (renderer) compiled.set(name, renderer);
  }
  return compiled;
}

function compileOne(handlebars: typeof Handlebars, template: TemplateSource, errors: BootcfgError[], hint: string): Renderer | undefined {
  try {
    handlebars.parse(template.text); // compile() is lazy: parse now so syntax errors surface here
    return handlebars.compile(template.text, { noEscape: true, strict: true });
  } catch (error) {
    errors.push(templateError(template, error, hint));
    return undefined;
  }
}

function templateError(template: TemplateSource, error: unknown, hint: string, renderingFor?: string): TemplateError {
  const message = error instanceof Error ? error.message : String(error);
  // Handlebars reports "Parse error on line N:" for syntax and "… - N:C" for strict lookups.
  const parse = /Parse error on line (\d+):/.exec(message);
  const lookup = /^(.*) - (\d+):(\d+)$/m.exec(message);
  const line = Number(parse?.[1] ?? lookup?.[2]) || undefined;
  const column = lookup ? Number(lookup[3]) + 1 : undefined;
  const summary = parse ? message.trim().split('\n').at(-1)! : (lookup?.[1] ?? message).replace(/ in \[object Object\]$/, '');
  return new TemplateError(`template error: ${summary}${renderingFor ? ` (${renderingFor})` : ''}`, {
    file: template.file,
    line,
    column,
    hint,
    cause: error,
  });
}
