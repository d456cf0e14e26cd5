// Matchbox data directories of our own for the equivalence tests (import-equivalence.test.ts):
// what a fleet looks like in matchbox — labels, two stages, arch, uuid and mac groups with
// metadata, and the Go templates such fleets use.

export const U1 = '1cff2cd8-f00a-42c8-9426-f55e6a1847f6';
export const U2 = '0ad7c2f0-3b8f-4c36-8f0e-8a4a0d1e2c3b';
export const M1 = '52:54:00:89:d8:10';
export const M2 = '52:54:00:b2:2f:86';

/** How matchbox's own docs start a cloud-config template: hostname and SSH keys, trimmed blocks. */
export const CLOUD_CONFIG_HEAD = [
  '#cloud-config',
  'hostname: {{.hostname}}',
  '{{- if .ssh_authorized_keys}}',
  'ssh_authorized_keys:',
  '  {{- range $element := .ssh_authorized_keys}}',
  '  - {{$element}}',
  '  {{- end}}',
  '{{- end}}',
];

/** Fleet A: two stages (install, then os=installed) per architecture, and a default. */
export function stagesFleet(): Record<string, string> {
  const profile = (id: string, arch: string, stage: string) => JSON.stringify({
    id,
    name: `${stage} ${arch}`,
    boot: { kernel: `/assets/os/${arch}/vmlinuz`, initrd: [`/assets/os/${arch}/initrd.img`], args: ['initrd=initrd.img', `stage=${stage}`, 'console=ttyS0', 'config=http://mb.example:8080/generic?mac=${mac:hexhyp}&os=installed'] },
    cloud_id: 'stage.yaml',
    generic_id: 'stage.env',
  });
  return {
    'profiles/install-x86.json': profile('install-x86', 'x86_64', 'install'),
    'profiles/install-arm.json': profile('install-arm', 'arm64', 'install'),
    'profiles/installed-x86.json': profile('installed-x86', 'x86_64', 'installed'),
    'profiles/installed-arm.json': profile('installed-arm', 'arm64', 'installed'),
    'groups/default.json': JSON.stringify({ id: 'default', name: 'install', profile: 'install-x86', metadata: { stage: 'install', channel: 'stable', disks: ['/dev/sda'] } }),
    'groups/arm.json': JSON.stringify({ id: 'arm', profile: 'install-arm', selector: { arch: 'arm64' }, metadata: { stage: 'install', channel: 'beta', disks: ['/dev/vda', '/dev/vdb'] } }),
    'groups/x86-installed.json': JSON.stringify({ id: 'x86-installed', profile: 'installed-x86', selector: { arch: 'x86_64', os: 'installed' }, metadata: { stage: 'installed', channel: 'stable', disks: [] } }),
    'groups/arm-installed.json': JSON.stringify({ id: 'arm-installed', profile: 'installed-arm', selector: { os: 'installed', arch: 'arm64' }, metadata: { stage: 'installed', channel: 'beta', disks: [] } }),
    'cloud/stage.yaml': [
      '#cloud-config',
      '# stage {{.stage}} on {{if index . "arch"}}{{.arch}}{{else}}any arch{{end}}',
      '{{- if eq .stage "install"}}',
      'runcmd:',
      '  {{- range $i, $disk := .disks}}',
      '  - wipefs -a {{$disk}}  # disk {{$i}} of {{$.channel}}',
      '  {{- end}}',
      '{{- else}}',
      'final_message: installed from {{.channel}}',
      '{{- end}}',
      '',
    ].join('\n'),
    'generic/stage.env': 'STAGE={{.stage}}\n{{with index . "os"}}OS={{.}}\n{{end}}{{range .disks}}\nDISK={{.}}\n{{else}}\nNO_DISKS=1\n{{end}}\nCHANNEL={{printf "%s/%s" .channel .stage}}\n',
  };
}

/** Fleet B: machines by uuid and by mac (uuid beats mac), one with a second stage, metadata. */
export function machinesFleet(): Record<string, string> {
  const profile = (id: string, extra: object) => JSON.stringify({ id, boot: { kernel: `/assets/${id}/vmlinuz`, initrd: [`/assets/${id}/a.img`, `/assets/${id}/b.img`], args: ['initrd=a.img', 'initrd=b.img', `role=${id}`] }, ...extra });
  const node = (hostname: string, extra: object = {}) => ({ hostname, ssh_authorized_keys: [`ssh-ed25519 AAAA${hostname}`], net: { ip: `10.0.0.${hostname.length}`, gw: '10.0.0.1', dns: ['10.0.0.2', '10.0.0.3'] }, count: 3, pxe: true, ...extra });
  return {
    'profiles/node.json': profile('node', { cloud_id: 'node.yaml', generic_id: 'node.ipxe-info' }),
    'profiles/any.json': profile('any', { cloud_id: 'node.yaml', generic_id: 'any.env' }),
    'groups/default.json': JSON.stringify({ id: 'default', profile: 'any', metadata: node('anonymous', { pxe: false }) }),
    'groups/by-uuid.json': JSON.stringify({ id: 'u1', profile: 'any', selector: { uuid: U1 }, metadata: node('uuid-one') }),
    'groups/by-uuid-2.json': JSON.stringify({ id: 'u2', profile: 'any', selector: { uuid: U2 }, metadata: node('uuid-two', { net: { ip: '10.0.1.9', gw: '10.0.1.1', dns: [] } }) }),
    'groups/by-mac.json': JSON.stringify({ id: 'm1', profile: 'node', selector: { mac: M1.toUpperCase() }, metadata: node('mac-one') }),
    'groups/by-mac-2.json': JSON.stringify({ id: 'm2', profile: 'node', selector: { mac: M2 }, metadata: node('mac-two', { role: 'etcd' }) }),
    'groups/by-mac-installed.json': JSON.stringify({ id: 'm1-installed', profile: 'node', selector: { mac: M1, os: 'installed' }, metadata: node('mac-one-installed') }),
    'cloud/node.yaml': [
      ...CLOUD_CONFIG_HEAD,
      '{{ if .pxe }}',
      'write_files:',
      '  - path: /etc/net',
      '    content: |',
      '      IP={{.net.ip}} GW={{index .net "gw"}}{{range .net.dns}} DNS={{.}}{{end}} ({{len .net.dns}})',
      '{{ end }}',
      '{{- with .net}}{{if eq .gw "10.0.0.1"}}',
      'gateway: default{{end}}{{end}}',
      '{{- if eq (index . "role" | printf "%v") "etcd"}}',
      'etcd: true',
      '{{- end}}',
      '',
    ].join('\n'),
    'generic/any.env': 'HOST={{.hostname}}\nIP={{.net.ip}}{{range $i, $dns := .net.dns}}\nDNS{{$i}}={{$dns}}{{end}}\n',
    'generic/node.ipxe-info': 'mac={{.mac}} requested={{.request.query.mac}} host={{.hostname}}{{if index . "os"}} os={{.os}}{{end}}\n',
  };
}
