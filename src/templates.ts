// The built-in handlebars templates shipped in templates/, read once from the package.
// A data directory may override any of them with its own templates/<name>.hbs (see load).

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** Template name → what it renders. */
export const TEMPLATE_NAMES = ['boot.ipxe', 'ipxe'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

export interface TemplateSource {
  /** Path shown in errors: `templates/ipxe.hbs` (built-in) or the data directory's override. */
  file: string;
  text: string;
}

const BUILTIN_DIR = new URL('../../templates/', import.meta.url);

export async function readBuiltinTemplates(): Promise<Map<TemplateName, TemplateSource>> {
  const entries = await Promise.all(
    TEMPLATE_NAMES.map(async (name) => {
      const url = new URL(`${name}.hbs`, BUILTIN_DIR);
      return [name, { file: fileURLToPath(url), text: await readFile(url, 'utf8') }] as const;
    }),
  );
  return new Map(entries);
}
