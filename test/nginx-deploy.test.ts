// The deployment files under deploy/, checked with the tools that will read them: systemd's
// own verifier and offline security review for the units, dockerfile-utils for the Dockerfile
// (no Docker engine here), and the Dockerfile's COPY sources against the repository.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { validate, ValidationSeverity } from 'dockerfile-utils';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEPLOY = join(ROOT, 'deploy');
const UNITS = ['bootcfg.service', 'bootcfg-build.service', 'bootcfg-build.timer', 'bootcfg-follow.service'];
/** systemd-analyze security's 0–10 exposure scale; 2 is well inside its "OK" band. */
const MAX_EXPOSURE = 2;

function systemdSkip(): string | undefined {
  const found = spawnSync('systemd-analyze', ['--version']).status === 0;
  if (found || process.env.CI) return undefined;
  return 'systemd-analyze is not installed (make nginx-deps installs systemd); under CI=true this fails instead';
}

/** The units in a temp dir, with /usr/bin/node pointed at this machine's node (verify checks ExecStart exists). */
async function unitsDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bootcfg-units-'));
  for (const unit of UNITS) {
    const text = await readFile(join(DEPLOY, unit), 'utf8');
    await writeFile(join(dir, unit), text.replaceAll('/usr/bin/node ', `${process.execPath} `));
  }
  return dir;
}

test('systemd-analyze verify accepts the units without a single warning', { skip: systemdSkip() }, async () => {
  const dir = await unitsDir();
  try {
    const result = spawnSync('systemd-analyze', ['verify', ...UNITS], { cwd: dir, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr.trim(), '', 'verify prints problems as warnings and still exits 0');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test(`the services are hardened: exposure at most ${MAX_EXPOSURE} in systemd-analyze security`, { skip: systemdSkip() }, async () => {
  const dir = await unitsDir();
  try {
    for (const unit of UNITS.filter((u) => u.endsWith('.service'))) {
      const result = spawnSync('systemd-analyze', ['security', '--offline=true', `--threshold=${MAX_EXPOSURE * 10}`, '--no-pager', unit], { cwd: dir, encoding: 'utf8' });
      const overall = /Overall exposure level for \S+: ([\d.]+)/.exec(result.stdout)?.[1];
      assert.ok(overall !== undefined, result.stdout + result.stderr);
      assert.ok(Number(overall) <= MAX_EXPOSURE, `${unit}: exposure ${overall}`);
      assert.equal(result.status, 0, result.stderr);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the units keep the promises docs/scale-out.md makes', async () => {
  const serve = await readFile(join(DEPLOY, 'bootcfg.service'), 'utf8');
  for (const line of ['DynamicUser=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/bootcfg', 'NoNewPrivileges=yes', 'PrivateTmp=yes', 'ProtectHome=yes', 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX', 'CapabilityBoundingSet=']) {
    assert.match(serve, new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), line);
  }
  for (const unit of ['bootcfg-build.service', 'bootcfg-follow.service']) {
    const text = await readFile(join(DEPLOY, unit), 'utf8');
    assert.match(text, /^User=bootcfg$/m, unit);
    assert.match(text, /^ReadWritePaths=\/srv\/bootcfg\/dist$/m, unit);
    assert.match(text, /^UMask=0022$/m, `${unit}: nginx must be able to read what the build writes`);
  }
  const sysusers = await readFile(join(DEPLOY, 'bootcfg.sysusers.conf'), 'utf8');
  assert.match(sysusers, /^u bootcfg /m);
});

test('systemd-tmpfiles and systemd-sysusers parse their files', { skip: systemdSkip() }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'bootcfg-sysroot-'));
  try {
    // Into an empty root of its own: the user lands in root/etc/passwd, where tmpfiles then finds it.
    await mkdir(join(root, 'etc'));
    const users = spawnSync('systemd-sysusers', ['--root', root, join(DEPLOY, 'bootcfg.sysusers.conf')], { encoding: 'utf8' });
    assert.equal(users.status, 0, users.stderr);
    assert.match(await readFile(join(root, 'etc', 'passwd'), 'utf8'), /^bootcfg:x:\d+:\d+:[^:]*:\/var\/lib\/bootcfg:/m);
    const tmpfiles = spawnSync('systemd-tmpfiles', ['--create', '--root', root, join(DEPLOY, 'bootcfg.tmpfiles.conf')], { encoding: 'utf8' });
    assert.equal(tmpfiles.status, 0, tmpfiles.stderr);
    assert.ok(existsSync(join(root, 'srv/bootcfg/dist')));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('the Dockerfile lints clean', async () => {
  const text = await readFile(join(DEPLOY, 'Dockerfile'), 'utf8');
  const strict = ValidationSeverity.ERROR;
  const problems = validate(text, {
    deprecatedMaintainer: strict,
    emptyContinuationLine: strict,
    instructionCasing: strict,
    instructionCmdMultiple: strict,
    instructionEntrypointMultiple: strict,
    instructionHealthcheckMultiple: strict,
    instructionJSONInSingleQuotes: strict,
    instructionWorkdirRelative: strict,
  });
  assert.deepEqual(problems.map((p) => `line ${p.range.start.line + 1}: ${p.message}`), []);
});

test('the Dockerfile copies files that exist and starts the real entry point', async () => {
  const text = await readFile(join(DEPLOY, 'Dockerfile'), 'utf8');
  const fromContext = [...text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
  assert.ok(fromContext.length >= 5);
  for (const path of fromContext) assert.ok(existsSync(join(ROOT, path)), `COPY ${path}: not in the repository`);
  assert.match(text, /^ENTRYPOINT \["node", "\/opt\/bootcfg\/bin\/bootcfg\.js"\]$/m);
  assert.ok(existsSync(join(ROOT, 'bin', 'bootcfg.js')));
  const compiled = JSON.parse(await readFile(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string } };
  assert.equal(compiled.compilerOptions.outDir, 'lib', 'the runtime stage copies lib/src');
});
