// An rclone remote as a publish destination: S3, GCS, Azure, R2, WebDAV, SFTP and the rest,
// through Debian's `rclone` (bootcfg writes no storage client of its own). The destination is
// rclone's own syntax (`name:bucket/prefix`, `:s3,provider=AWS:bucket`), configured as rclone
// is (RCLONE_CONFIG, rclone.conf, RCLONE_* variables). `rclone copy --checksum` skips what is
// already there with the same hash and checks what it uploads, which makes a publish resumable.

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SourceError } from '../compile/errors.js';
import { forEachYielding } from '../build/pool.js';
import type { CopyOptions, CopyResult, Destination, PutOptions } from './destination.js';

/** How long one rclone run may take: a copy of many images is slow, a listing is not. */
const COPY_TIMEOUT_MS = 12 * 3600_000;
const SMALL_TIMEOUT_MS = 600_000;
/** What is kept of rclone's output (a listing of a large revision is a few MB). */
const MAX_OUTPUT = 256 * 1024 * 1024;
/** The end of rclone's log that is kept: its last errors are there. */
const MAX_STDERR = 1024 * 1024;
/** rclone's exit codes for a directory or file that does not exist. */
const NOT_FOUND = [3, 4];

interface Run {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export class RcloneDestination implements Destination {
  readonly description: string;

  constructor(private readonly remote: string) {
    this.description = remote;
  }

  async copy(localDir: string, prefix: string, options: CopyOptions): Promise<CopyResult> {
    return this.copyFrom(localDir, prefix, options, false);
  }

  /** Files written to a scratch directory, then copied by checksum: what is already there is skipped. */
  async put(prefix: string, files: ReadonlyMap<string, Buffer>, options: PutOptions): Promise<CopyResult> {
    const stage = await mkdtemp(join(tmpdir(), 'bootcfg-publish-'));
    try {
      const dirs = new Set([...files.keys()].map((path) => dirname(join(stage, path))));
      for (const dir of [...dirs].sort()) mkdirSync(dir, { recursive: true });
      await forEachYielding(files, ([path, content]) => writeFileSync(join(stage, path), content));
      return await this.copyFrom(stage, prefix, { ...options, files: [...files.keys()].sort() }, true);
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
  }

  private async copyFrom(localDir: string, prefix: string, options: CopyOptions, checksum: boolean): Promise<CopyResult> {
    if (options.files.length === 0) return { copied: 0, skipped: 0 };
    // Images are compared by size and time (hashing gigabytes each time would be slow) and may be
    // reached through symlinks (`current -> 3975.2.0`), which rclone otherwise skips.
    const args = ['copy', '-v', localDir, this.at(prefix), checksum ? '--checksum' : '--copy-links'];
    if (options.dryRun) args.push('--dry-run');
    if (options.cacheControl) args.push('--header-upload', `Cache-Control: ${options.cacheControl}`);
    if (options.progress) args.push('--stats', '10s', '--stats-one-line');
    const work = await mkdtemp(join(tmpdir(), 'bootcfg-rclone-'));
    try {
      await writeFile(join(work, 'files'), options.files.map((file) => `${file}\n`).join(''));
      args.push('--files-from-raw', join(work, 'files'), '--no-traverse');
      const run = await this.rclone(args, COPY_TIMEOUT_MS, undefined, options.progress && statsLines(options.progress));
      this.check(run, `copy ${localDir} to ${this.at(prefix)}`);
      const copied = run.stderr.split('\n').filter((line) => /: (Copied \(|Skipped copy as --dry-run)/.test(line)).length;
      return { copied, skipped: options.files.length - copied };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /**
   * One small file replaced whole: uploaded under a temporary name beside it, then moved over it.
   * rclone 1.60 writes a local or SFTP file in place (a reader at that instant would find it short
   * or empty); its move is a rename there, and a server-side copy on an object store, which
   * replaces an object whole either way. On rclone's local and SFTP backends the move deletes
   * the old file first, so a reader at that instant finds none (a 404, never a wrong answer).
   * --ignore-times: without it rclone skips the move when the size and modification time match
   * (every entry point has one size; SFTP keeps whole seconds) and deletes the new file instead.
   */
  async writeFile(path: string, content: Buffer, cacheControl?: string): Promise<void> {
    const headers = cacheControl ? ['--header-upload', `Cache-Control: ${cacheControl}`] : [];
    const temporary = `${path}.bootcfg-${process.pid}-${Date.now().toString(36)}.tmp`;
    this.check(await this.rclone(['rcat', ...headers, this.at(temporary)], SMALL_TIMEOUT_MS, content), `write ${this.at(temporary)}`);
    this.check(await this.rclone(['moveto', '--ignore-times', this.at(temporary), this.at(path)], SMALL_TIMEOUT_MS), `move ${this.at(temporary)} to ${this.at(path)}`);
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    const run = await this.rclone(['cat', '--max-depth', '1', this.at(path)], SMALL_TIMEOUT_MS);
    if (NOT_FOUND.includes(run.code)) return undefined;
    this.check(run, `read ${this.at(path)}`);
    return run.stdout;
  }

  async listDirs(prefix: string): Promise<string[]> {
    return (await this.list(['--dirs-only'], prefix)).map((name) => name.replace(/\/$/, ''));
  }

  async listFiles(prefix: string): Promise<string[]> {
    return this.list(['--files-only', '-R'], prefix);
  }

  async deleteFiles(prefix: string, files: readonly string[]): Promise<void> {
    if (files.length === 0) return;
    const work = await mkdtemp(join(tmpdir(), 'bootcfg-rclone-'));
    try {
      await writeFile(join(work, 'files'), files.map((file) => `${file}\n`).join(''));
      const run = await this.rclone(['delete', this.at(prefix), '--files-from-raw', join(work, 'files'), '--no-traverse'], SMALL_TIMEOUT_MS);
      if (!NOT_FOUND.includes(run.code)) this.check(run, `delete files under ${this.at(prefix)}`);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  async deleteTree(prefix: string): Promise<void> {
    const run = await this.rclone(['purge', '--retries', '1', this.at(prefix)], SMALL_TIMEOUT_MS);
    if (!NOT_FOUND.includes(run.code)) this.check(run, `delete ${this.at(prefix)}`);
  }

  private async list(flags: string[], prefix: string): Promise<string[]> {
    const run = await this.rclone(['lsf', ...flags, this.at(prefix)], SMALL_TIMEOUT_MS);
    if (NOT_FOUND.includes(run.code)) return [];
    this.check(run, `list ${this.at(prefix)}`);
    return run.stdout.toString('utf8').split('\n').filter((line) => line !== '');
  }

  /** `remote:path` + `/prefix`, keeping rclone's `remote:` root form. */
  private at(prefix: string): string {
    if (prefix === '') return this.remote;
    return /[:/]$/.test(this.remote) ? `${this.remote}${prefix}` : `${this.remote}/${prefix}`;
  }

  private check(run: Run, what: string): void {
    if (run.code === 0) return;
    const said = run.stderr.split('\n').filter((line) => /ERROR|Failed/.test(line)).slice(-3).join('\n  ') || run.stderr.trim().split('\n').slice(-3).join('\n  ');
    throw new SourceError(`rclone could not ${what} (exit ${run.code}): ${said}`, { hint: 'check the remote with `rclone lsf <remote>` and its configuration (rclone config, RCLONE_CONFIG); a publish run again resumes where this one stopped' });
  }

  private rclone(args: string[], timeout: number, input?: Buffer, onStderr?: (chunk: string) => void): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn('rclone', args, { stdio: ['pipe', 'pipe', 'pipe'] });
      // Our own timer rather than spawn's `timeout`, which outlives a spawn that failed and
      // would keep the process alive after it said why.
      const timer = setTimeout(() => child.kill('SIGTERM'), timeout);
      const stdout: Buffer[] = [];
      let size = 0;
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_OUTPUT) stdout.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        onStderr?.(chunk.toString('utf8'));
        stderr = (stderr + chunk.toString('utf8')).slice(-MAX_STDERR);
      });
      child.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(error.code === 'ENOENT'
          ? new SourceError('rclone is not installed, so bootcfg cannot publish to a remote', { hint: 'install it (apt-get install rclone), or publish to a local directory' })
          : error);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (size > MAX_OUTPUT) return reject(new SourceError(`rclone ${args[0]} said more than ${MAX_OUTPUT} bytes`, { hint: 'point --to at the tree bootcfg publishes, not a larger one' }));
        resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(stdout), stderr });
      });
      child.stdin.on('error', () => {}); // rclone may exit before reading it all; its exit code says why
      child.stdin.end(input);
    });
  }
}

/** Picks rclone's one-line stats (`1.2 GiB / 2 GiB, 60%, 100 MiB/s, ETA 8s`) out of its log as it comes. */
function statsLines(report: (line: string) => void): (chunk: string) => void {
  let pending = '';
  return (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!.slice(-4096);
    for (const line of lines) {
      const stats = /INFO\s+:\s+(\S+ \S+ \/ \S+ \S+, \d+%.*)$/.exec(line);
      if (stats) report(stats[1]!.trim());
    }
  };
}
