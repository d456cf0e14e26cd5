// The templates bootcfg renders, by name. The built-in ones ship in the package's templates/
// (read by build/builtin-templates.ts); a data directory may override any of them with its own
// templates/<name>.hbs (see load).

/** Template name → what it renders. */
export const TEMPLATE_NAMES = ['boot.ipxe', 'ipxe'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

export interface TemplateSource {
  /** Path shown in errors: `templates/ipxe.hbs` (built-in) or the data directory's override. */
  file: string;
  text: string;
}
