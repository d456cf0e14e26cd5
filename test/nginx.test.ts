// The generator on its own: what it refuses, what it promises structurally (no query text in a
// path), that nginx itself accepts the output, and the CLI command around it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { UsageError } from '../src/compile/errors.js';
import { nginxConfig, type NginxOptions } from '../src/serve/nginx.js';
import { FULL, IMAGES } from './conformance/cases.js';
import { makeSite, publish } from './conformance/fixture.js';
import { send } from './conformance/http.js';
import { nginxBinary, nginxSkipReason, startNginx } from './conformance/nginx.js';

const OPTIONS: NginxOptions = { distPath: '/srv/bootcfg/dist', imagesPath: '/srv/bootcfg/images', listen: '0.0.0.0:8080' };
/** A build with labels, two-key shapes and every fixed key. */
const GROUP_SHAPES: string[][] = [['uuid'], ['mac'], ['mac', 'os'], ['arch', 'os'], ['hostname', 'serial', 'rack'], []];
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'bootcfg.js');

test('try_files, root, alias and sub_filter only ever see validated variables, never $arg_ or $uri', () => {
  for (const shapes of [undefined, GROUP_SHAPES]) {
    const lines = nginxConfig({ ...OPTIONS, shapes }).split('\n').filter((line) => /^\s*(try_files|root|alias|sub_filter|rewrite)\b/.test(line));
    assert.ok(lines.length >= 6);
    for (const line of lines) {
      const variables = line.match(/\$\w+/g) ?? [];
      for (const variable of variables) assert.match(variable, /^\$(?:bootcfg_(uuid|mac|path_mac|snapshot|dollar|metadata|[qx]_[a-z][a-z0-9_]*)|bcs[ump])$/, line);
    }
  }
});

test('each label value map admits only the contract values; pass-on pieces come from them', () => {
  const text = nginxConfig({ ...OPTIONS, shapes: GROUP_SHAPES });
  assert.match(text, /^map \$arg_os \$bootcfg_q_os \{\n    "" "";\n    "~\^\[A-Za-z0-9_-\]\[A-Za-z0-9\._-\]\{0,62\}\\z" \$arg_os;\n    default "!";\n\}$/m);
  assert.match(text, /^map \$bootcfg_q_rack \$bootcfg_x_rack \{\n    "" "";\n    "!" "";\n    default "&rack=\$bootcfg_q_rack";\n\}$/m);
  // hostname and serial are selectors but not labels: /boot.ipxe sends them itself.
  assert.doesNotMatch(text, /\$bootcfg_x_(hostname|serial|arch)/);
  assert.match(text, /sub_filter "\$\{bootcfg_dollar\}\{bootcfg_query\}" "\$bootcfg_x_os\$bootcfg_x_rack";/);
});

test('try_files candidates follow the try order of the shapes, per kind', () => {
  const text = nginxConfig({ ...OPTIONS, shapes: GROUP_SHAPES });
  const ipxe = /try_files (\/ipxe\/[^;]*);/.exec(text)?.[1];
  assert.equal(ipxe, '/ipxe/hostname.serial.rack/$bootcfg_q_hostname/$bootcfg_q_serial/$bootcfg_q_rack /ipxe/mac.os/$bcsm/$bootcfg_mac/$bootcfg_q_os /ipxe/arch.os/$bootcfg_q_arch/$bootcfg_q_os /ipxe/uuid/$bcsu/$bootcfg_uuid /ipxe/mac/$bcsm/$bootcfg_mac /ipxe/default @bootcfg_ipxe_none');
  const pixiecore = /try_files (\/pixiecore\/[^;]*);/.exec(text)?.[1];
  assert.equal(pixiecore, '/pixiecore/mac/$bcsp/$bootcfg_path_mac /pixiecore/default @bootcfg_pixiecore_none');
});

test('every location that looks files up does so inside the snapshot resolved once per request', () => {
  const text = nginxConfig(OPTIONS);
  assert.match(text, /^        set \$bootcfg_snapshot \$realpath_root;$/m);
  assert.equal(text.match(/set \$bootcfg_snapshot /g)?.length, 1, 'resolved once, in the server block');
  const locations = text.split(/\n    location /).slice(1);
  const lookups = locations.filter((body) => body.includes('try_files'));
  assert.ok(lookups.length >= 6);
  for (const body of lookups) assert.match(body, /^\s+root \$bootcfg_snapshot;$/m, `location ${body.split('\n')[0]}`);
  assert.doesNotMatch(text, /open_file_cache (?!off)/);
});

test('each query key is read once, by the map that validates it', () => {
  const text = nginxConfig(OPTIONS);
  assert.deepEqual(text.match(/\$arg_\w+/g), ['$arg_uuid', '$arg_mac', '$arg_format']);
  const groups: string[] = nginxConfig({ ...OPTIONS, shapes: GROUP_SHAPES }).match(/\$arg_\w+/g) ?? [];
  assert.deepEqual(groups.filter((v, i) => groups.indexOf(v) !== i), ['$arg_hostname', '$arg_serial', '$arg_arch', '$arg_os', '$arg_rack'], 'each map reads its parameter twice: the test and the value');
  assert.match(text, /^map \$arg_uuid \$bootcfg_uuid \{$/m);
});

test('paths are quoted, made absolute by the caller, and trailing slashes dropped', () => {
  const text = nginxConfig({ ...OPTIONS, distPath: '/srv/boot cfg/dist/', imagesPath: '/srv/images/' });
  assert.match(text, /root "\/srv\/boot cfg\/dist\/current";/);
  assert.match(text, /alias "\/srv\/images\/";/);
});

test('refuses options nginx would misread', () => {
  const refused: Partial<NginxOptions>[] = [
    { distPath: 'dist' },
    { imagesPath: './images' },
    { distPath: '/srv/$x' },
    { distPath: '/srv/"x' },
    { distPath: '/srv/x\ny' },
    { imagesPath: '/srv/a\\b' },
    { listen: 'localhost' },
    { listen: '0.0.0.0:99999' },
    { listen: '1.2.3.4:80; deny all' },
    { serverName: 'a;b' },
    { serverName: '' },
  ];
  for (const bad of refused) assert.throws(() => nginxConfig({ ...OPTIONS, ...bad }), UsageError, JSON.stringify(bad));
  for (const listen of ['8080', '127.0.0.1:8080', '[::]:8080', '*:80', 'boot.example.com:80']) assert.doesNotThrow(() => nginxConfig({ ...OPTIONS, listen }));
  assert.match(nginxConfig({ ...OPTIONS, serverName: 'boot.example.com boot' }), /server_name boot\.example\.com boot;/);
});

test('nginx -t accepts the block inside a minimal http { }', { skip: nginxSkipReason() }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bootcfg-nginx-t-'));
  try {
    await writeFile(join(dir, 'bootcfg.conf'), nginxConfig({ ...OPTIONS, distPath: join(dir, 'dist'), imagesPath: join(dir, 'images'), listen: '127.0.0.1:8080', shapes: GROUP_SHAPES }));
    await writeFile(join(dir, 'nginx.conf'), `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n    include ${dir}/bootcfg.conf;\n}\n`);
    const result = spawnSync(nginxBinary()!, ['-t', '-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /syntax is ok/);
    assert.doesNotMatch(result.stderr, /\[warn\]/, 'no warnings, e.g. about the variables hash');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a dist path with a space works, and an empty dist answers 503 until the first build', { skip: nginxSkipReason() }, async () => {
  const site = await makeSite(IMAGES);
  const spaced = join(site.root, 'boot cfg');
  try {
    const nginx = await startNginx({ distPath: spaced, imagesPath: site.imagesPath });
    try {
      const before = await send(nginx.url, { target: '/boot.ipxe' });
      assert.equal(before.status, 503);
      assert.equal(before.headers['cache-control'], 'no-cache');
      await mkdir(join(spaced, 'revs'), { recursive: true });
      await publish(spaced, 'r1', FULL);
      const after = await send(nginx.url, { target: '/boot.ipxe' });
      assert.equal(after.status, 200);
      assert.equal(after.body.toString(), FULL.get('boot.ipxe'));
    } finally {
      await nginx.stop();
    }
  } finally {
    await site.remove();
  }
});

test('bootcfg nginx prints the block; a bad flag exits 2 with a hint', () => {
  const ok = spawnSync(process.execPath, [BIN, 'nginx', '--dist-path', 'dist', '--images-path', '/srv/images', '--listen', '127.0.0.1:9000', '--server-name', 'boot.example'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`root "${process.cwd()}/dist/current";`));
  assert.match(ok.stdout, /listen 127\.0\.0\.1:9000;/);
  assert.match(ok.stdout, /server_name boot\.example;/);
  const env = spawnSync(process.execPath, [BIN, 'nginx'], { encoding: 'utf8', env: { ...process.env, BOOTCFG_LISTEN: '[::1]:81' } });
  assert.match(env.stdout, /listen \[::1\]:81;/);
  const bad = spawnSync(process.execPath, [BIN, 'nginx', '--listen', 'nowhere'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--listen "nowhere" is not HOST:PORT\n\s+hint: /);
});
