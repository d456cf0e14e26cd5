// The semantic rules a schema cannot say and that bite in practice: the config is well-formed
// JSON of the right shape, yet Ignition fails at first boot (relative or duplicate paths, a link
// and a file at one path, a bad source URL or hash) or the machine comes up other than meant
// (mode 644 written in decimal, a password pasted where its hash goes, a unit enabled that the OS
// does not have). Each problem carries the JSON pointer of the value at fault; the caller turns
// it into the source line. Runs only on configs that passed the schema.

import type { ButaneVariant, Problem } from './butane.js';
import { minorOf, type IgnitionVersion } from './ignition-spec.js';

type Obj = Record<string, unknown>;

/** `spelledOctal(pointer)`: the source wrote that number in octal (Butane `0644`), so it is not a decimal slip. */
export function semanticProblems(
  config: Obj,
  version: IgnitionVersion,
  variant: ButaneVariant | undefined,
  spelledOctal: (pointer: string) => boolean = () => false,
): Problem[] {
  const problems: Problem[] = [];
  const storage = (config.storage ?? {}) as Obj;
  checkNodes(storage, version, problems, spelledOctal);
  checkFilesystems(storage, problems);
  checkDevices(storage, problems);
  forEachResource(config, (resource, pointer) => checkResource(resource, pointer, version, problems));
  checkUnits(config, variant, problems);
  checkPasswd((config.passwd ?? {}) as Obj, problems);
  checkKernelArguments((config.kernelArguments ?? {}) as Obj, problems);
  return problems;
}

function items(parent: Obj, key: string): Array<[Obj, string]> {
  const list = (parent[key] ?? []) as Obj[];
  return list.map((item, index) => [item, `${key}/${index}`]);
}

// ---- files, directories, links --------------------------------------------------------------

const KINDS = { files: 'file', directories: 'directory', links: 'link' } as const;

function checkNodes(storage: Obj, version: IgnitionVersion, problems: Problem[], spelledOctal: (pointer: string) => boolean): void {
  const seen = new Map<string, { kind: string; pointer: string }>();
  for (const [key, kind] of Object.entries(KINDS)) {
    for (const [node, at] of items(storage, key)) {
      const pointer = `/storage/${at}`;
      const path = String(node.path);
      if (!checkPath(path, `${pointer}/path`, `${kind} path`, problems)) continue;
      const before = seen.get(path);
      if (before) {
        problems.push({
          pointer: `${pointer}/path`,
          message: before.kind === kind ? `duplicate ${kind} path "${path}"` : `a ${kind} and a ${before.kind} at one path "${path}"`,
          hint: `Ignition refuses a config that names one path twice (the other is ${before.pointer.replace('/storage/', 'storage.').replace(/\/(\d+)/g, '[$1]')}); keep one`,
        });
      } else seen.set(path, { kind, pointer });
      for (const owner of ['user', 'group'] as const) {
        const who = (node[owner] ?? {}) as Obj;
        if (who.id != null && who.name != null) problems.push({ pointer: `${pointer}/${owner}`, message: `${owner} of "${path}" has both id and name`, hint: 'Ignition takes one: keep id or name' });
      }
      if (node.mode !== undefined && node.mode !== null) checkMode(node.mode as number, kind, version, `${pointer}/mode`, spelledOctal(`${pointer}/mode`), problems);
      if (kind === 'link') checkLink(node, pointer, problems);
    }
  }
}

/** Absolute and clean: Ignition rejects relative paths, and a "/./" or "//" hides duplicates. */
function checkPath(path: string, pointer: string, what: string, problems: Problem[]): boolean {
  if (!path.startsWith('/')) {
    problems.push({ pointer, message: `${what} "${path}" is not absolute`, hint: `write "/${path.replace(/^\.?\/*/, '')}"` });
    return false;
  }
  const clean = cleanPath(path);
  if (clean !== path) {
    problems.push({ pointer, message: `${what} "${path}" is not clean`, hint: `write "${clean}"` });
    return false;
  }
  return true;
}

function cleanPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

function checkMode(mode: number, kind: string, version: IgnitionVersion, pointer: string, octal: boolean, problems: Problem[]): void {
  if (mode < 0 || mode > 0o7777) {
    problems.push({ pointer, message: `mode ${mode} is out of range`, hint: 'a mode is at most 07777 (4095); write it in octal in Butane (0644) or decimal in Ignition JSON (420)' });
    return;
  }
  // 644 written where 0644 was meant sets the sticky bit and gives the owner write-only access.
  const digits = String(mode);
  if (!octal && mode > 0o777 && /^[0-7]{3,4}$/.test(digits)) {
    problems.push({
      pointer,
      message: `mode ${mode} is decimal (octal ${mode.toString(8).padStart(4, '0')}): did you mean octal 0${digits.padStart(3, '0')}?`,
      hint: `in Butane write 0${digits}; in Ignition JSON write ${parseInt(digits, 8)}`,
    });
    return;
  }
  // Before spec 3.4.0 Ignition applies only the permission bits (ignition-validate warns "not
  // supported"): a sticky /tmp-like directory or a setuid binary would come up without the bit.
  if ((mode & 0o7000) !== 0 && minorOf(version) < 4) {
    const bits = [[0o4000, 'setuid'], [0o2000, 'setgid'], [0o1000, 'sticky']].filter(([bit]) => (mode & (bit as number)) !== 0).map(([, name]) => name);
    problems.push({
      pointer,
      message: `mode 0${mode.toString(8)} sets the ${bits.join(' and ')} bit${bits.length > 1 ? 's' : ''}, which Ignition ${version} does not apply`,
      hint: `Ignition before spec 3.4.0 sets only the permission bits (0${(mode & 0o777).toString(8).padStart(3, '0')} here); set the others with a systemd unit or tmpfiles.d`,
    });
    return;
  }
  if (kind === 'directory' && (mode & 0o100) === 0 && (mode & 0o400) !== 0) {
    problems.push({ pointer, message: `directory mode 0${mode.toString(8)} lets its owner read but not enter it`, hint: 'directories need the x bit to be used: 0755 or 0700' });
  }
}

function checkLink(link: Obj, pointer: string, problems: Problem[]): void {
  const target = link.target;
  if (typeof target !== 'string' || target === '') {
    problems.push({ pointer, message: `link "${String(link.path)}" has no target`, hint: 'add target: the path the link points to' });
    return;
  }
  if (link.hard === true && !target.startsWith('/')) {
    problems.push({ pointer: `${pointer}/target`, message: `hard link target "${target}" is not absolute`, hint: 'a hard link names an absolute path of a file this config or the OS creates' });
  }
}

function checkFilesystems(storage: Obj, problems: Problem[]): void {
  for (const [filesystem, at] of items(storage, 'filesystems')) {
    const pointer = `/storage/${at}`;
    checkPath(String(filesystem.device), `${pointer}/device`, 'filesystem device', problems);
    if (typeof filesystem.path === 'string') checkPath(filesystem.path, `${pointer}/path`, 'filesystem path', problems);
    const needsFormat = ['path', 'label', 'uuid', 'wipeFilesystem', 'options', 'mountOptions'].filter((key) => filesystem[key] !== undefined && filesystem[key] !== null);
    if (!filesystem.format && needsFormat.length > 0) {
      problems.push({ pointer, message: `filesystem on "${String(filesystem.device)}" has ${needsFormat.join(', ')} but no format`, hint: 'add format: xfs, ext4, vfat, btrfs, swap or none (Ignition refuses it without)' });
    }
  }
}

/** Devices, RAID arrays and LUKS volumes: what Ignition requires of each and refuses twice. */
function checkDevices(storage: Obj, problems: Problem[]): void {
  const unique = (key: string, field: string, what: string) => {
    const seen = new Set<unknown>();
    for (const [item, at] of items(storage, key)) {
      if (seen.has(item[field])) problems.push({ pointer: `/storage/${at}/${field}`, message: `${what} "${String(item[field])}" is defined twice`, hint: 'Ignition refuses duplicate entries; merge them' });
      seen.add(item[field]);
    }
  };
  unique('disks', 'device', 'disk');
  unique('raid', 'name', 'RAID array');
  unique('luks', 'name', 'LUKS volume');
  unique('filesystems', 'device', 'filesystem device');
  for (const [raid, at] of items(storage, 'raid')) {
    if (!raid.level) problems.push({ pointer: `/storage/${at}`, message: `RAID array "${String(raid.name)}" has no level`, hint: 'add level: raid1 (or raid0, raid5, …)' });
    if (!((raid.devices ?? []) as unknown[]).length) problems.push({ pointer: `/storage/${at}`, message: `RAID array "${String(raid.name)}" has no devices`, hint: 'list its member devices' });
  }
  for (const [luks, at] of items(storage, 'luks')) {
    if (!luks.device) problems.push({ pointer: `/storage/${at}`, message: `LUKS volume "${String(luks.name)}" has no device`, hint: 'add device: the partition to encrypt, e.g. /dev/disk/by-partlabel/data' });
  }
  for (const [disk, at] of items(storage, 'disks')) checkPartitions(disk, `/storage/${at}`, problems);
}

function checkPartitions(disk: Obj, pointer: string, problems: Problem[]): void {
  const numbers = new Set<number>();
  const labels = new Set<string>();
  for (const [partition, at] of items(disk, 'partitions')) {
    const number = partition.number as number | undefined;
    const label = partition.label as string | undefined;
    if (number && numbers.has(number)) problems.push({ pointer: `${pointer}/${at}/number`, message: `partition number ${number} is used twice on "${String(disk.device)}"`, hint: 'give each partition its own number' });
    if (label && labels.has(label)) problems.push({ pointer: `${pointer}/${at}/label`, message: `partition label "${label}" is used twice on "${String(disk.device)}"`, hint: 'give each partition its own label' });
    if (label?.includes(':')) problems.push({ pointer: `${pointer}/${at}/label`, message: `partition label "${label}" contains ":"`, hint: 'sgdisk would cut the label at the colon' });
    if (number) numbers.add(number);
    if (label) labels.add(label);
  }
}

// ---- resources (contents, append, merge, CAs, key files) --------------------------------------

function forEachResource(config: Obj, visit: (resource: Obj, pointer: string) => void): void {
  const ignition = (config.ignition ?? {}) as Obj;
  const merge = ((ignition.config ?? {}) as Obj).merge as Obj[] | undefined;
  merge?.forEach((resource, i) => visit(resource, `/ignition/config/merge/${i}`));
  const replace = ((ignition.config ?? {}) as Obj).replace as Obj | undefined;
  if (replace) visit(replace, '/ignition/config/replace');
  const cas = (((ignition.security ?? {}) as Obj).tls as Obj | undefined)?.certificateAuthorities as Obj[] | undefined;
  cas?.forEach((resource, i) => visit(resource, `/ignition/security/tls/certificateAuthorities/${i}`));
  const storage = (config.storage ?? {}) as Obj;
  for (const [file, at] of items(storage, 'files')) {
    if (file.contents) visit(file.contents as Obj, `/storage/${at}/contents`);
    ((file.append ?? []) as Obj[]).forEach((resource, i) => visit(resource, `/storage/${at}/append/${i}`));
  }
  for (const [luks, at] of items(storage, 'luks')) if (luks.keyFile) visit(luks.keyFile as Obj, `/storage/${at}/keyFile`);
}

const SCHEMES: Array<[scheme: string, since: number]> = [['http', 0], ['https', 0], ['tftp', 0], ['s3', 0], ['data', 0], ['gs', 1], ['arn', 2]];

function checkResource(resource: Obj, pointer: string, version: IgnitionVersion, problems: Problem[]): void {
  const source = resource.source;
  if (typeof source === 'string' && source !== '') {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(source)?.[1]?.toLowerCase();
    const known = SCHEMES.filter(([, since]) => since <= minorOf(version)).map(([name]) => name);
    if (!scheme || !known.includes(scheme)) {
      problems.push({ pointer: `${pointer}/source`, message: scheme ? `source scheme "${scheme}:" is not one Ignition ${version} fetches` : `source "${source.slice(0, 40)}" is not a URL`, hint: `use ${known.join(', ')} URLs` });
    } else if (scheme === 'data' && !/^data:[^,]*,/.test(source)) {
      problems.push({ pointer: `${pointer}/source`, message: 'data: URL without a comma', hint: 'write data:,<percent-encoded text> or data:;base64,<base64>' });
    }
  }
  const headers = (resource.httpHeaders ?? []) as unknown[];
  if (headers.length > 0 && !(typeof source === 'string' && /^https?:/i.test(source))) {
    problems.push({ pointer: `${pointer}/httpHeaders`, message: 'HTTP headers on a source that is not http or https', hint: 'Ignition sends headers only with http(s) sources; drop them or change the source' });
  }
  const compression = resource.compression;
  if (typeof compression === 'string' && compression !== '' && compression !== 'gzip') {
    problems.push({ pointer: `${pointer}/compression`, message: `compression "${compression}" is not supported by Ignition`, hint: 'the only compression Ignition decodes is "gzip"' });
  }
  const hash = ((resource.verification ?? {}) as Obj).hash;
  if (typeof hash === 'string') checkHash(hash, `${pointer}/verification/hash`, version, problems);
}

function checkHash(hash: string, pointer: string, version: IgnitionVersion, problems: Problem[]): void {
  const lengths: Record<string, number> = minorOf(version) >= 2 ? { sha512: 128, sha256: 64 } : { sha512: 128 };
  const [, name, hex] = /^([a-z0-9]+)-(.*)$/.exec(hash) ?? [];
  const length = name === undefined ? undefined : lengths[name];
  if (length === undefined || !new RegExp(`^[0-9a-f]{${length}}$`).test(hex ?? '')) {
    problems.push({ pointer, message: `hash "${hash.slice(0, 20)}…" is not ${Object.keys(lengths).join(' or ')}-<lowercase hex digest>`, hint: `write e.g. sha512-$(sha512sum file | cut -d' ' -f1)${minorOf(version) < 2 ? ' (sha256 needs Ignition 3.2.0)' : ''}` });
  }
}

// ---- systemd ---------------------------------------------------------------------------------

const UNIT_SUFFIX = /\.(service|socket|target|timer|mount|automount|path|slice|scope|device|swap)$/;

// Units each OS image ships, for "enabled: true" with neither contents nor dropins: such a unit
// must already exist on the machine or enabling it fails first boot. Standard systemd units come
// with both; the rest are what the images' docs tell operators to enable.
const SYSTEMD_UNITS = [
  'systemd-networkd.service', 'systemd-networkd-wait-online.service', 'systemd-resolved.service', 'systemd-timesyncd.service',
  'fstrim.timer', 'fstrim.service', 'getty@.service', 'serial-getty@.service', 'systemd-journald.service', 'tmp.mount',
  'multi-user.target', 'network-online.target', 'remote-fs.target', 'local-fs.target', 'basic.target', 'default.target',
  'graphical.target', 'sysinit.target', 'timers.target', 'sockets.target', 'paths.target', 'emergency.target', 'rescue.target',
  'iscsid.service', 'iscsid.socket', 'multipathd.service', 'multipathd.socket', 'nfs-server.service', 'rpcbind.service', 'rpcbind.socket',
];
const VARIANT_UNITS: Record<ButaneVariant, string[]> = {
  fcos: [
    'sshd.service', 'docker.service', 'docker.socket', 'containerd.service', 'podman.service', 'podman.socket',
    'podman-auto-update.service', 'podman-auto-update.timer', 'podman-restart.service', 'zincati.service', 'chronyd.service',
    'NetworkManager.service', 'NetworkManager-wait-online.service', 'rpm-ostreed.service', 'rpm-ostree-countme.timer',
    'logrotate.timer', 'crond.service', 'nftables.service', 'iptables.service', 'ip6tables.service', 'firewalld.service',
    'tpm2-abrmd.service', 'clevis-luks-askpass.path', 'stratisd.service', 'usbguard.service', 'kdump.service', 'auditd.service',
  ],
  flatcar: [
    'sshd.socket', 'sshd.service', 'sshd@.service', 'docker.service', 'docker.socket', 'containerd.service', 'etcd-member.service',
    'flanneld.service', 'locksmithd.service', 'update-engine.service', 'ntpd.service', 'chronyd.service', 'nvidia.service',
    'systemd-sysext.service', 'iptables-restore.service', 'ip6tables-restore.service', 'iptables-store.service', 'ip6tables-store.service',
    'etcd.service', 'fleet.service', 'oem-cloudinit.service', 'coreos-metadata.service', 'coreos-metadata-sshkeys@.service', 'user-configdrive.service',
  ],
};

function checkUnits(config: Obj, variant: ButaneVariant | undefined, problems: Problem[]): void {
  const systemd = (config.systemd ?? {}) as Obj;
  const names = new Map<string, string>();
  const files = new Set(((((config.storage ?? {}) as Obj).files ?? []) as Obj[]).map((file) => String(file.path)));
  for (const [unit, at] of items(systemd, 'units')) {
    const pointer = `/systemd/${at}`;
    const name = String(unit.name);
    if (!UNIT_SUFFIX.test(name) || name.includes('/')) {
      problems.push({ pointer: `${pointer}/name`, message: `"${name}" is not a systemd unit name`, hint: 'a unit name ends in .service, .socket, .timer, .mount, .target, .path, .slice, …' });
      continue;
    }
    const before = names.get(name);
    if (before) problems.push({ pointer: `${pointer}/name`, message: `unit "${name}" is defined twice`, hint: 'Ignition refuses duplicate units; merge the two entries' });
    else names.set(name, pointer);
    checkDropins(unit, pointer, problems);
    if (typeof unit.contents === 'string') checkUnitText(unit.contents, `${pointer}/contents`, `unit "${name}"`, problems);
    if (unit.enabled === true) checkEnabled(unit, name, pointer, variant, files, problems);
  }
}

function checkDropins(unit: Obj, pointer: string, problems: Problem[]): void {
  const seen = new Set<string>();
  for (const [dropin, at] of items(unit, 'dropins')) {
    const name = String(dropin.name);
    if (!name.endsWith('.conf') || name.includes('/')) {
      problems.push({ pointer: `${pointer}/${at}/name`, message: `dropin "${name}" must be a file name ending in .conf`, hint: 'systemd reads only *.conf from a unit\'s .d directory' });
    } else if (seen.has(name)) {
      problems.push({ pointer: `${pointer}/${at}/name`, message: `dropin "${name}" is defined twice`, hint: 'merge the two entries' });
    }
    seen.add(name);
    if (typeof dropin.contents === 'string') checkUnitText(dropin.contents, `${pointer}/${at}/contents`, `dropin "${name}"`, problems);
  }
}

/** Section headers close: Ignition parses unit text and refuses "[Service" without its "]". */
function checkUnitText(text: string, pointer: string, what: string, problems: Problem[]): void {
  const bad = text.split('\n').findIndex((line) => line.trimStart().startsWith('[') && !line.trimEnd().endsWith(']'));
  if (bad !== -1) problems.push({ pointer, message: `${what}: line ${bad + 1} of its contents opens a section without closing it`, hint: 'write the section header as [Unit], [Service], [Install]' });
}

function checkEnabled(unit: Obj, name: string, pointer: string, variant: ButaneVariant | undefined, files: Set<string>, problems: Problem[]): void {
  if (typeof unit.contents === 'string') {
    if (!/^\s*\[Install\]\s*$/m.test(unit.contents)) {
      problems.push({ pointer: `${pointer}/enabled`, message: `unit "${name}" is enabled but has no [Install] section, so enabling does nothing`, hint: 'add [Install] with WantedBy=multi-user.target (or drop "enabled")' });
    }
    return;
  }
  if (((unit.dropins ?? []) as Obj[]).length > 0 || files.has(`/etc/systemd/system/${name}`)) return;
  const template = name.replace(/@[^.]*\./, '@.');
  const known = [...SYSTEMD_UNITS, ...(variant ? VARIANT_UNITS[variant] : [...VARIANT_UNITS.fcos, ...VARIANT_UNITS.flatcar])];
  if (!known.includes(name) && !known.includes(template)) {
    problems.push({
      pointer: `${pointer}/enabled`,
      message: `unit "${name}" is enabled but has no contents, and ${variant ? `the ${variant} image` : 'the OS image'} does not ship it as far as bootcfg knows`,
      hint: 'give the unit its contents; if the image does ship it, add a dropin to it (an enabled unit with a dropin is taken as the image\'s own)',
    });
  }
}

// ---- passwd ----------------------------------------------------------------------------------

// crypt(3) hashes ($1$ md5 … $y$ yescrypt), or "!"/"*" (locked), or empty (no password).
const CRYPT = /^(|[!*].*|\$(1|2[abxy]?|5|6|7|y|gy|sha1|md5)\$[^\s:]+)$/;
const SSH_KEY = /(^|\s)(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com|ssh-(rsa|ed25519)-cert-v01@openssh\.com)\s+[A-Za-z0-9+/]+=*(\s|$)/;

function checkPasswd(passwd: Obj, problems: Problem[]): void {
  const users = new Set<string>();
  for (const [user, at] of items(passwd, 'users')) {
    const pointer = `/passwd/${at}`;
    const name = String(user.name);
    if (users.has(name)) problems.push({ pointer: `${pointer}/name`, message: `user "${name}" is defined twice`, hint: 'merge the two entries' });
    users.add(name);
    if (typeof user.passwordHash === 'string' && !CRYPT.test(user.passwordHash)) {
      problems.push({ pointer: `${pointer}/passwordHash`, message: `password hash of "${name}" is not a crypt(3) hash (was the password itself pasted?)`, hint: 'generate one with `mkpasswd --method=yescrypt` and paste its output ($y$…)' });
    }
    ((user.sshAuthorizedKeys ?? []) as string[]).forEach((key, i) => {
      if (!SSH_KEY.test(key)) problems.push({ pointer: `${pointer}/sshAuthorizedKeys/${i}`, message: `SSH key ${i + 1} of "${name}" is not an OpenSSH public key`, hint: 'paste one line of ~/.ssh/id_ed25519.pub: "ssh-ed25519 AAAA… comment"' });
    });
  }
  const groups = new Set<string>();
  for (const [group, at] of items(passwd, 'groups')) {
    const name = String(group.name);
    if (groups.has(name)) problems.push({ pointer: `/passwd/${at}/name`, message: `group "${name}" is defined twice`, hint: 'merge the two entries' });
    groups.add(name);
  }
}

function checkKernelArguments(kernelArguments: Obj, problems: Problem[]): void {
  const wanted = new Set((kernelArguments.shouldExist ?? []) as string[]);
  ((kernelArguments.shouldNotExist ?? []) as string[]).forEach((argument, i) => {
    if (wanted.has(argument)) problems.push({ pointer: `/kernelArguments/shouldNotExist/${i}`, message: `kernel argument "${argument}" should both exist and not exist`, hint: 'keep it in one of the two lists' });
  });
}
