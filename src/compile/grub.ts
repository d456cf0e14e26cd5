// GRUB's answer (`/grub`): a grub.cfg that loads a boot config's kernel and initrds and boots,
// for UEFI HTTP boot and GRUB network boot, as `/ipxe` is iPXE's. Pure.
//
// What it fixes compared with matchbox's /grub (docs/matchbox-migration.md):
// - Every word is double-quoted with GRUB's escapes, so `&` in a URL argument (which GRUB's
//   parser reads as a syntax error) and `;` (a command separator) stay one argument.
// - iPXE settings in arguments (`${net0/mac:hexhyp}`, `${buildarch}`, …) mean nothing to GRUB; the
//   few GRUB knows too become GRUB's variables (GRUB_SETTINGS), every other one is passed to
//   the kernel as written instead of expanding to nothing.
// - `linux`/`initrd`, which upstream GRUB has on every platform (EFI included); `linuxefi` is
//   a Fedora patch.
// - Kernel and initrd locations become GRUB file names: `/images/…` stays relative to `$root`
//   (the bootcfg server the GRUB stub set, docs/grub.md), `http://host:port/p` becomes
//   `(http,host:port)/p`, `tftp://host/p` `(tftp,host)/p`. GRUB speaks neither https nor
//   relative names: such a config compiles to a grub.cfg that says so and boots nothing, and
//   the build warns (grubUnreachable).

import type { BootConfig } from './load.js';

/** iPXE setting → the GRUB variable holding the same thing (GRUB's net and cpu variables). */
const GRUB_SETTINGS: Readonly<Record<string, string>> = {
  mac: 'net_default_mac',
  ip: 'net_default_ip',
  buildarch: 'grub_cpu',
  uuid: 'bootcfg_uuid',
};

/**
 * The SMBIOS system UUID as GRUB reads it (type 1, offset 8, byte order as dmidecode prints
 * it), for configs whose arguments name `${uuid}`; the `smbios` command is on x86 and arm64 EFI.
 */
const UUID_LINE = 'smbios --type 1 --get-uuid 8 --set bootcfg_uuid';

/** The grub.cfg for one boot config. */
export function grubConfig(boot: BootConfig): string {
  const unreachable = grubUnreachable(boot);
  if (unreachable) {
    return `# bootcfg: GRUB cannot load this machine's boot config\necho ${quote(`bootcfg: GRUB cannot fetch ${unreachable}: it loads http:// and tftp:// URLs and /images/ paths only`)}\n`;
  }
  const args = boot.args.map(grubArgument);
  const lines = ['# bootcfg: kernel and initrds for this machine (GRUB network boot)'];
  if (args.some((arg) => arg.includes('${bootcfg_uuid}'))) lines.push(UUID_LINE);
  lines.push(
    `echo ${quote(`Loading ${boot.kernel}`)}`,
    ['linux', quote(grubFile(boot.kernel)!), ...args].join(' '),
  );
  if (boot.initrd.length > 0) {
    lines.push(`echo ${quote(`Loading ${boot.initrd.length === 1 ? 'the initrd' : `${boot.initrd.length} initrds`}`)}`, ['initrd', ...boot.initrd.map((file) => quote(grubFile(file)!))].join(' '));
  }
  lines.push('boot');
  return `${lines.join('\n')}\n`;
}

/** The first kernel or initrd GRUB cannot fetch (https, a relative name), or undefined. */
export function grubUnreachable(boot: BootConfig): string | undefined {
  return [boot.kernel, ...boot.initrd].find((location) => grubFile(location) === undefined);
}

/** A kernel or initrd location as a GRUB file name, or undefined when GRUB cannot fetch it. */
function grubFile(location: string): string | undefined {
  const url = /^(https?|tftp):\/\/([^/?#]+)(\/[^#]*)?$/i.exec(location);
  if (url) {
    const scheme = url[1]!.toLowerCase();
    if (scheme === 'https') return undefined;
    return `(${scheme},${url[2]})${url[3] ?? '/'}`;
  }
  return location.startsWith('/') && !location.startsWith('//') ? location : undefined;
}

/** A kernel argument as one GRUB word, iPXE settings GRUB knows turned into GRUB variables. */
function grubArgument(arg: string): string {
  if (!arg.includes('${')) return `"${escape(arg)}"`; // most arguments name no setting
  let out = '';
  let last = 0;
  for (const match of arg.matchAll(/\$\{([^}]*)\}/g)) {
    const variable = GRUB_SETTINGS[ipxeSettingName(match[1]!)];
    if (!variable) continue;
    out += escape(arg.slice(last, match.index)) + `\${${variable}}`;
    last = match.index! + match[0].length;
  }
  return `"${out}${escape(arg.slice(last))}"`;
}

/** `net0/mac:hexhyp` → `mac`: iPXE's settings block prefix and type suffix dropped. */
function ipxeSettingName(reference: string): string {
  return reference.replace(/:[a-z0-9]+$/i, '').replace(/^(?:net\d+(?:\.dhcp)?|netX)\//, '');
}

/** A word in GRUB double quotes: only `$`, `"` and `\` are special there. */
function quote(word: string): string {
  return `"${escape(word)}"`;
}

const SPECIAL = /[$"\\]/;

function escape(text: string): string {
  return SPECIAL.test(text) ? text.replace(/[$"\\]/g, (c) => `\\${c}`) : text;
}
