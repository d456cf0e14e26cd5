// What `bootcfg images fetch` prints once a release is in images/: a boot config (the seed
// layout's data/boot/default, the default), or a profile and a Butane starter naming the very
// files it fetched (--print profile, --print butane), so a data directory that boots the
// release with Ignition is two redirects away (docs/images.md). Pure.

import type { FetchResult } from './fetch.js';
import { BUILDARCH, type Release } from './release.js';

export const PRINTS = ['boot', 'profile', 'butane'] as const;
export type Print = (typeof PRINTS)[number];

/** Where the printed profile tells machines to fetch their Ignition config; edit it to bootcfg's address. */
export const BOOTCFG_URL = 'http://bootcfg.example:8080';

export interface BootConfigJson {
  kernel: string;
  initrd: string[];
  cmdline: Record<string, string>;
}

/** A data/boot file for this release, with URLs as bootcfg serve answers them. */
export function bootConfig(release: Release, result: FetchResult): BootConfigJson {
  const url = (name: string): string => `/images/${release.os}/${release.version}/${name}`;
  const named = (role: string): string[] => result.files.filter((f) => f.role === role).map((f) => url(f.name));
  return {
    kernel: named('kernel')[0] ?? '',
    initrd: [...named('initrd'), ...named('rootfs')],
    cmdline: release.cmdline,
  };
}

/** The profile's id, and its Butane file's name under ignition/: `fedora-coreos-aarch64`. */
export function starterId(release: Release): string {
  return `${release.os.replace(/-arm64$/, '')}-${release.arch}`;
}

/** A profiles/<id>.json booting the fetched files and pointing Ignition at bootcfg's /ignition. */
export function profile(release: Release, result: FetchResult): object {
  const boot = bootConfig(release, result);
  const id = starterId(release);
  return {
    id,
    name: `${release.name} ${release.version} (${release.arch}), fetched by bootcfg images fetch`,
    boot: {
      kernel: boot.kernel,
      initrd: boot.initrd,
      cmdline: {
        ...boot.cmdline,
        'ignition.config.url': `${BOOTCFG_URL}/ignition?mac=\${net0/mac:hexhyp}&arch=\${buildarch}`,
        console: release.arch === 'aarch64' ? 'ttyAMA0' : 'ttyS0',
      },
    },
    ignition_id: `${id}.bu`,
  };
}

/** A Butane config that compiles as it is (docs/ignition.md), with what to fill in marked. */
export function butaneStarter(release: Release): string {
  const id = starterId(release);
  return `# Butane starter for ${release.name} ${release.version} (${release.arch}, iPXE arch ${BUILDARCH[release.arch]}).
# Save as data/ignition/${id}.bu: the profile that \`--print profile\` prints names it.
# Groups select the profile with "selector": {"arch": "${BUILDARCH[release.arch]}"}. docs/ignition.md lists
# every Butane feature bootcfg compiles; the file is rendered with handlebars first, so the
# group's metadata is available in double braces.
variant: ${release.variant}
version: ${release.variant === 'fcos' ? '1.4.0' : '1.0.0'}
passwd:
  users:
    - name: core
      # Uncomment and put your own public key here to log in with ssh:
      # ssh_authorized_keys:
      #   - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA… you@example.com
storage:
  files:
    - path: /etc/bootcfg/release
      mode: 0644
      contents:
        inline: |
          ${release.name} ${release.version} (${release.arch}), provisioned by bootcfg
`;
}
