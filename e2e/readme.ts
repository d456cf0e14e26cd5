// The README's networking recipes, read from README.md itself, so what the network-path cases
// boot is what the README prints (docs/e2e.md). The only changes are made here, in the open:
// the TFTP folder, and what a site's own dnsmasq.conf or command line already has around the
// recipe (address pool, interface, logging) — see dnsmasqConfig() and pixiecoreArgs().
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './config.js';
import { segment } from './netns.js';

export type Recipe = 'ipxe' | 'pxe' | 'proxy';

/** The fenced blocks of the README's "Networking" section, in order. */
function networkingBlocks(): string[] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Networking');
  if (start < 0) throw new Error('README.md has no "## Networking" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
}

/** Each dnsmasq recipe is told apart by what it holds, so rewording the prose cannot shift them. */
function kindOf(block: string): Recipe | undefined {
  if (!block.startsWith('# dnsmasq.conf')) return undefined;
  if (/^dhcp-range=[^\n]*,proxy/m.test(block)) return 'proxy';
  return /^enable-tftp/m.test(block) ? 'pxe' : 'ipxe';
}

/** The README's dnsmasq.conf lines for one recipe, comments and blank lines kept. */
export function readmeRecipe(kind: Recipe): string {
  const found = networkingBlocks().filter((b) => kindOf(b) === kind);
  if (found.length !== 1) throw new Error(`README.md: expected one "${kind}" dnsmasq recipe, found ${found.length}`);
  return found[0] ?? '';
}

/** The README's Pixiecore command line, as words. */
export function readmePixiecore(): string[] {
  const line = networkingBlocks()
    .flatMap((b) => b.split('\n'))
    .find((l) => l.startsWith('pixiecore api '));
  if (!line) throw new Error('README.md: no "pixiecore api" command in the Networking section');
  return line.trim().split(/\s+/);
}

export interface DnsmasqSite {
  /** The interface dnsmasq serves (br0, or eth0 of a host namespace). */
  iface: string;
  logFile: string;
  leaseFile: string;
  /** Replaces the recipe's tftp-root. */
  tftpRoot?: string;
  /** A plain DHCP server's address pool; the iPXE and PXE recipes take dnsmasq as the DHCP server. */
  pool: boolean;
}

/** What the test changes in a recipe, line by line, for the failure report and the docs. */
export function dnsmasqConfig(recipe: string | undefined, site: DnsmasqSite): string {
  const around = [
    '# --- the site (added by e2e/readme.ts) ---',
    'port=0', // no DNS: only DHCP and TFTP are under test
    `interface=${site.iface}`,
    'bind-interfaces',
    'log-dhcp',
    `log-facility=${site.logFile}`,
    `dhcp-leasefile=${site.leaseFile}`,
  ];
  if (site.pool) around.push(`dhcp-range=${segment.poolStart},${segment.poolEnd},255.255.255.0,1h`);
  if (recipe === undefined) return around.join('\n') + '\n';
  let body = recipe;
  const root = /^tftp-root=(\S+)/m.exec(recipe);
  if (root) {
    if (!site.tftpRoot) throw new Error('the recipe has a tftp-root and the case gave none');
    around.push(`# e2e: tftp-root ${root[1]} below is replaced by the case's ${site.tftpRoot}`);
    body = recipe.replace(/^tftp-root=\S+/m, `tftp-root=${site.tftpRoot}`);
  }
  return [...around, '# --- README.md, Networking ---', body].join('\n');
}

/** The README's command, plus the listen address and Pixiecore's own debug log. */
export function pixiecoreArgs(): string[] {
  const words = readmePixiecore();
  return [...words.slice(1), '--listen-addr', segment.bridge, '--debug', '--log-timestamps'];
}
