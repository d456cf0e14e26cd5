// The built-in handlebars templates shipped in the package's templates/, read from disk here so
// that compile/ stays pure. A data directory may override any of them (see compile/load.ts).

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { TEMPLATE_NAMES, type TemplateName, type TemplateSource } from '../compile/templates.js';

const BUILTIN_DIR = new URL('../../../templates/', import.meta.url);

export async function readBuiltinTemplates(): Promise<Map<TemplateName, TemplateSource>> {
  const entries = await Promise.all(
    TEMPLATE_NAMES.map(async (name) => {
      const url = new URL(`${name}.hbs`, BUILTIN_DIR);
      return [name, { file: fileURLToPath(url), text: await readFile(url, 'utf8') }] as const;
    }),
  );
  return new Map(entries);
}
