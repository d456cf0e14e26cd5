// Stage 3, render: the plan → the contents of every output file. Pure. iPXE scripts come from
// handlebars templates in an isolated instance with `noEscape` (HTML escaping would turn the
// `&` of an iPXE URL into `&amp;`) and `strict` (a misspelt variable is a build error naming
// the template line, not an empty string in a boot script). Pixiecore answers are built as
// JSON by code; cloud configs are copied byte for byte.

import Handlebars from 'handlebars';
import { TemplateError } from './errors.js';
import type { BootConfig } from './load.js';
import type { Plan, PlannedFile } from './resolve.js';
import type { TemplateName, TemplateSource } from './templates.js';

export type OutputFiles = Map<string, Buffer>;
type Renderer = (context: object) => string;

export function render(plan: Plan, templates: ReadonlyMap<TemplateName, TemplateSource>): { files: OutputFiles; errors: TemplateError[] } {
  const errors: TemplateError[] = [];
  const compiled = compileTemplates(templates, errors);
  const files: OutputFiles = new Map();
  if (errors.length > 0) return { files, errors };
  const failed = new Set<TemplateName>();
  for (const [path, planned] of plan) {
    try {
      files.set(path, renderFile(planned, compiled));
    } catch (error) {
      const name = planned.kind === 'chain' ? 'boot.ipxe' : 'ipxe';
      if (!failed.has(name)) errors.push(templateError(templates.get(name)!, error, 'source' in planned ? planned.source : undefined));
      failed.add(name);
    }
  }
  return { files, errors };
}

function renderFile(planned: PlannedFile, templates: Map<TemplateName, Renderer>): Buffer {
  switch (planned.kind) {
    case 'chain':
      return Buffer.from(templates.get('boot.ipxe')!({}));
    case 'ipxe':
      return Buffer.from(templates.get('ipxe')!(ipxeContext(planned.boot)));
    case 'pixiecore':
      return Buffer.from(pixiecoreAnswer(planned.boot));
    case 'cloud':
      return planned.content;
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

function compileTemplates(templates: ReadonlyMap<TemplateName, TemplateSource>, errors: TemplateError[]): Map<TemplateName, Renderer> {
  const handlebars = Handlebars.create();
  const compiled = new Map<TemplateName, Renderer>();
  for (const [name, template] of templates) {
    try {
      handlebars.parse(template.text); // compile() is lazy: parse now so syntax errors surface here
      compiled.set(name, handlebars.compile(template.text, { noEscape: true, strict: true }));
    } catch (error) {
      errors.push(templateError(template, error));
    }
  }
  return compiled;
}

function templateError(template: TemplateSource, error: unknown, renderingFor?: string): TemplateError {
  const message = error instanceof Error ? error.message : String(error);
  // Handlebars reports "Parse error on line N:" for syntax and "… - N:C" for strict lookups.
  const parse = /Parse error on line (\d+):/.exec(message);
  const lookup = /^(.*) - (\d+):(\d+)$/m.exec(message);
  const line = Number(parse?.[1] ?? lookup?.[2]) || undefined;
  const column = lookup ? Number(lookup[3]) + 1 : undefined;
  const summary = parse ? message.trim().split('\n').at(-1)! : (lookup?.[1] ?? message).replace(/ in \[object Object\]$/, '');
  return new TemplateError(`template error: ${summary}${renderingFor ? ` (rendering ${renderingFor})` : ''}`, {
    file: template.file,
    line,
    column,
    hint: 'templates see kernel, initrd (a list), initrdArgs (initrd=<name> for each), args (a list) and cmdline (args joined by spaces)',
    cause: error,
  });
}
