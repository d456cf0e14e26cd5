// The fleet of the Ignition boots (ignition.test.ts): the same three machines as the iPXE boots
// (by uuid, by MAC, unknown), each with a Butane config of its own (different files, contents,
// modes, owners, a directory, links, units and dropins). One description per machine gives both
// what the data directory says (Butane YAML, written as an operator would) and what Ignition must
// leave in the guest's root, so the expected listing does not come from bootcfg's compiler.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { guestHosts, ignitionInitrdFile, kernelFile } from './config.js';
import { dataName, initrdName, initrdPath, kernelPath, type Machine } from './machines.js';

interface Owned {
  path: string;
  mode: number;
  uid?: number;
  gid?: number;
}

interface IgnFile extends Owned {
  /** What the file holds once written (after handlebars, for `template`). */
  contents: string;
  /** The Butane `inline` text, when it is a template rather than `contents` itself. */
  template?: string;
  /** Written as `contents.local`: the file's path below the data directory's files/. */
  local?: string;
}

interface IgnLink {
  path: string;
  target: string;
  hard?: boolean;
}

interface IgnUnit {
  name: string;
  contents?: string;
  enabled?: boolean;
  mask?: boolean;
  dropins?: { name: string; contents: string }[];
}

export interface IgnSpec {
  /** The group's metadata: the hostname template reads it. */
  hostname: string;
  files: IgnFile[];
  directories: Owned[];
  links: IgnLink[];
  units: IgnUnit[];
}

/** Text that gzip shrinks a lot, so bootcfg emits it as gzip+base64 (docs/ignition.md). */
function report(name: string): string {
  return Array.from({ length: 64 }, (_, i) => `${name} line ${i}: the quick brown fox jumps over the lazy dog\n`).join('');
}

function unit(name: string, what: string): string {
  return `[Unit]\nDescription=${what}\n[Service]\nType=oneshot\nExecStart=/usr/bin/echo ${name}\n[Install]\nWantedBy=multi-user.target\n`;
}

function hostnameFile(name: string): IgnFile {
  return { path: '/etc/hostname', mode: 0o644, contents: `ign-${name}`, template: '{{hostname}}' };
}

/** Each machine's config; they differ in every kind of entry, so a swapped answer shows. */
export function ignitionSpec(m: Machine): IgnSpec {
  const name = dataName(m);
  if (m.known === 'uuid') {
    return {
      hostname: `ign-${name}`,
      files: [
        hostnameFile(name),
        { path: '/etc/e2e/by-uuid.conf', mode: 0o640, contents: 'machine=by-uuid\nselected=uuid\n' },
        { path: '/var/lib/e2e/state', mode: 0o600, uid: 1000, gid: 1000, contents: 'owned by 1000:1000\n' },
        { path: '/opt/e2e/report.txt', mode: 0o755, contents: report(name), local: 'e2e/by-uuid-report.txt' },
      ],
      directories: [{ path: '/var/lib/e2e', mode: 0o750, uid: 1000, gid: 1000 }],
      links: [{ path: '/etc/e2e/current', target: '/etc/e2e/by-uuid.conf' }],
      units: [
        { name: 'e2e-by-uuid.service', enabled: true, contents: unit(name, 'by uuid'), dropins: [{ name: '10-by-uuid.conf', contents: '[Service]\nEnvironment=E2E=uuid\n' }] },
        { name: 'e2e-masked.service', mask: true },
      ],
    };
  }
  if (m.known === 'mac') {
    return {
      hostname: `ign-${name}`,
      files: [
        hostnameFile(name),
        { path: '/etc/e2e/by-mac.conf', mode: 0o600, uid: 500, gid: 500, contents: 'machine=by-mac\nnaïve café ☃\n' },
        { path: '/opt/e2e/report.txt', mode: 0o644, contents: report(name), local: 'e2e/by-mac-report.txt' },
      ],
      directories: [{ path: '/var/cache/e2e-mac', mode: 0o700 }],
      links: [
        { path: '/etc/e2e/current', target: 'by-mac.conf' },
        { path: '/opt/e2e/report.hard', target: '/opt/e2e/report.txt', hard: true },
      ],
      units: [
        {
          name: 'e2e-by-mac.service',
          enabled: true,
          contents: unit(name, 'by MAC'),
          dropins: [
            { name: '10-by-mac.conf', contents: '[Service]\nEnvironment=E2E=mac\n' },
            { name: '20-more.conf', contents: '[Unit]\nAfter=network.target\n' },
          ],
        },
        { name: 'e2e-disabled.service', enabled: false, contents: unit('disabled', 'disabled by MAC') },
      ],
    };
  }
  return {
    hostname: `ign-${name}`,
    files: [
      hostnameFile(name),
      { path: '/etc/e2e/default.conf', mode: 0o644, contents: 'machine=default\n' },
      { path: '/etc/e2e/empty', mode: 0o444, contents: '' },
    ],
    directories: [{ path: '/srv/e2e', mode: 0o775 }],
    links: [{ path: '/etc/e2e/current', target: '/etc/e2e/default.conf' }],
    units: [
      { name: 'e2e-default.service', enabled: true, contents: unit(name, 'the default') },
      { name: 'systemd-journald.service', dropins: [{ name: '10-e2e.conf', contents: '[Journal]\nStorage=volatile\n' }] },
    ],
  };
}

const octal = (mode: number): string => `0${mode.toString(8)}`;

function owner(e: Owned, indent: string): string[] {
  const out: string[] = [];
  if (e.uid !== undefined) out.push(`${indent}user: {id: ${e.uid}}`);
  if (e.gid !== undefined) out.push(`${indent}group: {id: ${e.gid}}`);
  return out;
}

/** A YAML block scalar (`|`) of text ending in one newline. */
function block(text: string, indent: string): string[] {
  return ['|', ...text.replace(/\n$/, '').split('\n').map((l) => `${indent}${l}`)];
}

/** The machine's Butane config, as an operator writes it (octal modes, block scalars). */
export function butane(spec: IgnSpec): string {
  const y: string[] = ['variant: fcos', 'version: 1.4.0', 'storage:', '  directories:'];
  for (const d of spec.directories) y.push(`    - path: ${d.path}`, `      mode: ${octal(d.mode)}`, ...owner(d, '      '));
  y.push('  files:');
  for (const f of spec.files) {
    y.push(`    - path: ${f.path}`, `      mode: ${octal(f.mode)}`, ...owner(f, '      '), '      contents:');
    // JSON strings are YAML double-quoted scalars; `{{hostname}}` is left for handlebars.
    y.push(f.local ? `        local: ${f.local}` : `        inline: ${JSON.stringify(f.template ?? f.contents)}`);
  }
  y.push('  links:');
  for (const l of spec.links) y.push(`    - path: ${l.path}`, `      target: ${l.target}`, ...(l.hard ? ['      hard: true'] : []));
  y.push('systemd:', '  units:');
  for (const u of spec.units) {
    y.push(`    - name: ${u.name}`);
    if (u.enabled !== undefined) y.push(`      enabled: ${u.enabled}`);
    if (u.mask) y.push('      mask: true');
    if (u.contents) {
      const [bar, ...lines] = block(u.contents, '        ');
      y.push(`      contents: ${bar}`, ...lines);
    }
    if (u.dropins?.length) {
      y.push('      dropins:');
      for (const d of u.dropins) {
        const [bar, ...lines] = block(d.contents, '            ');
        y.push(`        - name: ${d.name}`, `          contents: ${bar}`, ...lines);
      }
    }
  }
  return `${y.join('\n')}\n`;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** What the guest writes into /sysroot/etc/selinux/config before Ignition runs (ignition-init). */
const selinuxConfig = 'SELINUXTYPE=e2e\n';
/** Ignition's own record of the run: its contents hold the boot id and the time. */
export const resultFile = '/etc/.ignition-result.json';

/**
 * Ignition (2.14, util.SetPermissions) gives a symlink without user/group the owner os.Stat finds
 * at its path, which follows the link: a relative target resolves inside the new root and lends
 * the link its owner; an absolute one resolves against the initramfs, where it is absent (root).
 */
function symlinkOwner(spec: IgnSpec, l: IgnLink): { uid: number; gid: number } {
  if (l.target.startsWith('/')) return { uid: 0, gid: 0 };
  const at = posix.join(posix.dirname(l.path), l.target);
  const node = [...spec.files, ...spec.directories].find((n) => n.path === at);
  return { uid: node?.uid ?? 0, gid: node?.gid ?? 0 };
}

/**
 * The listing the guest must print (ignition-init's format: `file MODE UID GID PATH SHA256
 * links=N`, `dir MODE UID GID PATH`, `link 777 UID GID PATH -> TARGET`), sorted by path: every
 * entry the config names, the parent directories Ignition creates (0755, root), the unit files
 * and the preset file it writes, its result file, and the guest's SELinux config.
 */
export function expectedListing(spec: IgnSpec): string[] {
  const entries = new Map<string, string>();
  const file = (path: string, mode: number, contents: string, uid = 0, gid = 0, links = 1): void => {
    entries.set(path, `file ${mode.toString(8)} ${uid} ${gid} ${path} ${sha256(contents)} links=${links}`);
  };
  for (const d of spec.directories) entries.set(d.path, `dir ${d.mode.toString(8)} ${d.uid ?? 0} ${d.gid ?? 0} ${d.path}`);
  for (const f of spec.files) {
    const links = 1 + spec.links.filter((l) => l.hard && l.target === f.path).length;
    file(f.path, f.mode, f.contents, f.uid, f.gid, links);
  }
  for (const l of spec.links) {
    if (l.hard) entries.set(l.path, entries.get(l.target)!.replace(` ${l.target} `, ` ${l.path} `));
    else {
      const { uid, gid } = symlinkOwner(spec, l);
      entries.set(l.path, `link 777 ${uid} ${gid} ${l.path} -> ${l.target}`);
    }
  }
  const presets: string[] = [];
  for (const u of spec.units) {
    const at = `/etc/systemd/system/${u.name}`;
    if (u.contents) file(at, 0o644, u.contents);
    for (const d of u.dropins ?? []) file(`${at}.d/${d.name}`, 0o644, d.contents);
    if (u.mask) entries.set(at, `link 777 0 0 ${at} -> /dev/null`);
    if (u.enabled !== undefined) presets.push(`${u.enabled ? 'enable' : 'disable'} ${u.name}\n`);
  }
  // Sorted: Ignition writes the lines in Go map order, and the guest hashes them sorted (ignition-init).
  if (presets.length) file('/etc/systemd/system-preset/20-ignition.preset', 0o644, presets.sort().join(''));
  file('/etc/selinux/config', 0o644, selinuxConfig);
  entries.set(resultFile, `file 600 0 0 ${resultFile} (varies) links=1`);
  for (const path of [...entries.keys()]) {
    for (let p = path.slice(0, path.lastIndexOf('/')); p; p = p.slice(0, p.lastIndexOf('/'))) {
      if (!entries.has(p)) entries.set(p, `dir 755 0 0 ${p}`);
    }
  }
  return [...entries.keys()].sort().map((p) => entries.get(p)!);
}

/** Where the booted machine fetches its Ignition config: bootcfg (or nginx) through guestfwd. */
export const ignitionUrl = `http://${guestHosts.bootcfg}/ignition?uuid=\${uuid}&mac=\${net0/mac:hexhyp}`;

function json(value: object): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** The selector that picks this machine: its uuid, its MAC, or none (the default group). */
function selector(m: Machine): Record<string, string> {
  if (m.known === 'uuid') return { uuid: m.uuid };
  if (m.known === 'mac') return { mac: m.mac };
  return {};
}

/**
 * Writes data/ (a profile, a group and a Butane template per machine, and the local files) and
 * images/ (the kernel, and the Ignition initramfs under the name the iPXE boots use, so the
 * shared checks of expect.ts apply unchanged); returns their paths.
 */
export async function ignitionFixture(root: string, fleet: readonly Machine[]): Promise<{ dataPath: string; imagesPath: string }> {
  const dataPath = join(root, 'data');
  const imagesPath = join(root, 'images');
  const put = async (path: string, text: string): Promise<void> => {
    await mkdir(join(dataPath, path, '..'), { recursive: true });
    await writeFile(join(dataPath, path), text);
  };
  for (const m of fleet) {
    const name = dataName(m);
    const spec = ignitionSpec(m);
    const boot = {
      kernel: kernelPath,
      initrd: [initrdPath],
      args: ['console=ttyS0', `e2e.machine=${name}`, `ignition.config.url=${ignitionUrl}`],
    };
    await put(`profiles/ign-${name}.json`, json({ id: `ign-${name}`, boot, ignition_id: `${name}.bu` }));
    await put(`groups/${name}.json`, json({ id: name, profile: `ign-${name}`, selector: selector(m), metadata: { hostname: spec.hostname } }));
    await put(`ignition/${name}.bu`, butane(spec));
    for (const f of spec.files) if (f.local) await put(join('files', f.local), f.contents);
  }
  await mkdir(imagesPath, { recursive: true });
  await copyFile(kernelFile, join(imagesPath, 'vmlinuz'));
  await copyFile(ignitionInitrdFile, join(imagesPath, initrdName));
  return { dataPath, imagesPath };
}
