// The only module that starts git (export.ts reads through the processes it is given). It turns
// "this repo at this ref" into a plain directory holding exactly the files of one commit, byte
// for byte as committed, and names that commit by its SHA.
//
// A remote is mirrored into a bare repo under the cache (`<cache>/<hash of URL>/git`), fetched,
// and the ref resolved to a commit; the commit's tree is then exported into its own immutable
// directory (`<cache>/<hash>/trees/<sha>`, written by export.ts with plumbing only, so no
// .gitattributes or core.autocrlf changes a byte), which the build reads as its data directory. There is
// no working tree to check out, so nothing is ever half-updated while a build reads it, and two
// revisions can sit side by side (bootcfg diff).
//
// Nothing from the config repo ever runs: hooks are pointed at /dev/null, only file, ssh and
// http(s) transports are allowed (never `ext::`), URLs and refs are checked and passed after
// `--` or `--end-of-options` so git cannot read them as options, and symlinks that leave the
// tree are refused. Credentials come only from the environment or git's credential helper;
// every URL shown to a person goes through redactUrl().

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, resolve } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { SOURCE_ROOTS } from '../build/source.js';
import { BootcfgError, ErrorList, SourceError, UsageError } from '../compile/errors.js';
import { exportTree, type GitSpawn } from './export.js';

/** One commit, exported: what a build needs and what /-/status shows. */
export interface Revision {
  /** Full commit SHA: the build's revision. */
  sha: string;
  /** Committer time, ISO 8601. */
  time: string;
  /** First line of the commit message. */
  subject: string;
  /** Directory holding exactly the commit's files: the data directory. */
  dataPath: string;
}

export interface FetchOptions {
  /** Remote URL or local path of the config repo. */
  repo: string;
  /** Branch, tag or commit SHA; the remote's HEAD when absent. */
  ref?: string;
  /** Where mirrors and exported trees live; defaultCachePath() when absent. */
  cachePath?: string;
  /** Aborts a running fetch (serve shutting down). */
  signal?: AbortSignal;
}

/**
 * A fetch that prints nothing for this long is killed: a black-holed remote must not hold the
 * one build slot forever. Config repos are small; git's own low-speed limit covers http(s).
 */
const SILENT_FETCH_MS = 300_000;

/** How many exported trees to keep per repo; older ones are removed after each export. */
const KEEP_TREES = 4;

/** Config every git command runs with: no hooks, and only the transports a config repo needs. */
const SAFE_CONFIG = [
  'core.hooksPath=/dev/null',
  'protocol.allow=never',
  'protocol.file.allow=always',
  'protocol.ssh.allow=always',
  'protocol.http.allow=always',
  'protocol.https.allow=always',
  'submodule.recurse=false',
  'core.symlinks=true',
];

/** Mirror the repo, fetch, resolve the ref and export that commit's tree. */
export async function fetchRevision(options: FetchOptions): Promise<Revision> {
  const fetched = await fetchCommit(options);
  return exportRevision(fetched.git, fetched.sha, join(fetched.home, 'trees'), fetched);
}

/** A commit fetched into the mirror and not exported: serve --repo brings its one tree to it (kept.ts). */
export interface FetchedCommit {
  sha: string;
  time: string;
  subject: string;
  /** git in the mirror, with pipes (export.ts). */
  spawn: GitSpawn;
  /** The mirror's git directory: what a child process needs to run git there (export-child.ts). */
  gitDir: string;
  /** The repo's directory in the cache (mirror, trees). */
  home: string;
  git: SimpleGit;
}

/** Mirror the repo, fetch and resolve the ref. */
export async function fetchCommit(options: FetchOptions): Promise<FetchedCommit> {
  const url = checkRepo(options.repo);
  const ref = checkRef(options.ref ?? 'HEAD');
  const home = repoCacheDir(url, options.cachePath);
  const git = await mirror(url, join(home, 'git'), ref === 'HEAD', options.signal);
  const sha = await resolveRef(git, ref, url);
  const { time, subject } = await commitMeta(git, sha);
  const gitDir = await gitDirOf(git);
  return { sha, time, subject, home, git, spawn: spawnGit(gitDir), gitDir };
}

/**
 * Resolve a revision (anything `git rev-parse` takes: a branch, tag, SHA, origin/main, HEAD~1) in
 * a repository already on this machine, and export its tree under the cache. Used by
 * `bootcfg diff` on the repository CI has checked out, which needs no mirror.
 */
export async function exportLocalRevision(repoDir: string, rev: string, cachePath?: string): Promise<Revision> {
  const dir = resolve(repoDir);
  checkRef(rev);
  const git = gitIn(dir);
  const top = (await run(git, ['rev-parse', '--absolute-git-dir'], `${dir} is not a git repository`)).trim();
  const sha = await git.raw(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]).catch(() => '');
  if (!isSha(sha.trim())) {
    throw new SourceError(`revision ${rev} not found in ${dir}`, { hint: 'Name a branch, tag or commit of that repository.' });
  }
  return exportRevision(gitIn(top), sha.trim(), join(repoCacheDir(top, cachePath), 'trees'));
}

/** `./.cache/repos`, next to dist/ rather than inside it, so a clean of dist/ keeps the mirror. */
export function defaultCachePath(): string {
  return resolve('.cache', 'repos');
}

/** Hide userinfo (user, password, token) in a URL or in text that quotes one. */
export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s]*@/gi, '$1***@');
}

/**
 * The repo as git should see it: a URL with an allowed transport, or an absolute local path.
 * Throws UsageError for anything git could read as an option or as a remote helper (`ext::`).
 */
export function checkRepo(repo: string): string {
  const shown = redactUrl(repo);
  if (repo === '' || repo.startsWith('-') || /[\0\n\r]/.test(repo)) {
    throw new UsageError(`invalid repository ${JSON.stringify(shown)}`, { hint: 'Give a URL or a path that does not start with "-".' });
  }
  if (/^[a-z][a-z0-9+.-]*::/i.test(repo)) {
    throw new UsageError(`repository transport not allowed: ${shown}`, { hint: 'Use https://, ssh://, file:// or a local path.' });
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(repo)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    if (!['https', 'http', 'ssh', 'file'].includes(scheme)) {
      throw new UsageError(`repository transport not allowed: ${shown}`, { hint: 'Use https://, ssh://, file:// or a local path.' });
    }
    return repo;
  }
  if (isAbsolute(repo) || repo.startsWith('.') || existsSync(repo)) return resolve(repo);
  if (/^[^/:]+@[^/:]+:/.test(repo) || /^[a-z0-9.-]+:[^/]/i.test(repo)) return repo; // scp-like ssh
  return resolve(repo);
}

/** A ref git will take as a revision and never as an option or a range. */
export function checkRef(ref: string): string {
  const shape = /^[A-Za-z0-9_][A-Za-z0-9_./-]*(?:[~^]\d*)*$/;
  if (!shape.test(ref) || ref.includes('..') || ref.includes('//') || /(?:\/|\.lock)(?:[~^]\d*)*$/.test(ref)) {
    throw new UsageError(`invalid ref ${JSON.stringify(ref)}`, { hint: 'Give a branch, tag or commit SHA (letters, digits, "_", ".", "/", "-").' });
  }
  return ref;
}

function isSha(text: string): boolean {
  return /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(text);
}

/**
 * Credentials in an http(s) URL move from git's command line, which every user sees in `ps`,
 * to its environment, as an Authorization header (git's http.extraHeader).
 */
export function splitCredentials(url: string): { url: string; env: Record<string, string> } {
  const match = /^(https?:\/\/)([^/\s]*)@([^@]*)$/i.exec(url);
  if (!match) return { url, env: {} };
  const [user = '', ...rest] = match[2]!.split(':');
  const basic = Buffer.from(`${decodeURIComponent(user)}:${decodeURIComponent(rest.join(':'))}`).toString('base64');
  return { url: `${match[1]}${match[3]}`, env: { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}` } };
}

function repoCacheDir(url: string, cachePath?: string): string {
  // The same repo under a rotated token is the same mirror.
  const hash = createHash('sha256').update(splitCredentials(url).url).digest('hex').slice(0, 16);
  return join(resolve(cachePath ?? defaultCachePath()), hash);
}

function gitIn(dir: string, env: Record<string, string> = {}, signal?: AbortSignal): SimpleGit {
  const git = simpleGit({
    baseDir: dir,
    abort: signal,
    timeout: { block: SILENT_FETCH_MS },
    config: SAFE_CONFIG,
    // Our own -c flags set hooksPath and protocol.allow on purpose; ssh command, askpass and
    // config paths can only come from the operator's environment. Everything else stays blocked.
    unsafe: {
      allowUnsafeHooksPath: true,
      allowUnsafeProtocolOverride: true,
      allowUnsafeSshCommand: true,
      allowUnsafeAskPass: true,
      allowUnsafeConfigPaths: true,
      // Only our own GIT_CONFIG_COUNT (credentials moved out of the URL) reaches git: inheritedEnv drops the operator's.
      allowUnsafeConfigEnvCount: true,
    },
  });
  // Never prompt on a terminal: a server must fail, not hang, when credentials are missing.
  return git.env({ ...inheritedEnv(), GIT_TERMINAL_PROMPT: '0', GIT_HTTP_LOW_SPEED_LIMIT: '1000', GIT_HTTP_LOW_SPEED_TIME: '60', ...env });
}

/**
 * Variables that point git at another repository (`git rev-parse --local-env-vars`). They are
 * set when bootcfg runs inside a git hook (a post-receive hook calling `bootcfg build --repo`)
 * and would make every command below act on the hook's repository instead of the mirror.
 */
const REPO_LOCAL_VARS = [
  'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_CONFIG', 'GIT_CONFIG_PARAMETERS', 'GIT_CONFIG_COUNT', 'GIT_OBJECT_DIRECTORY',
  'GIT_DIR', 'GIT_WORK_TREE', 'GIT_IMPLICIT_WORK_TREE', 'GIT_GRAFT_FILE', 'GIT_INDEX_FILE', 'GIT_NO_REPLACE_OBJECTS',
  'GIT_REPLACE_REF_BASE', 'GIT_PREFIX', 'GIT_INTERNAL_SUPER_PREFIX', 'GIT_SHALLOW_FILE', 'GIT_COMMON_DIR', 'GIT_QUARANTINE_PATH',
];

/**
 * The environment git runs with: the operator's, which is where credentials may come from
 * (GIT_SSH_COMMAND with a deploy key, GIT_ASKPASS, a credential helper in the global config),
 * less REPO_LOCAL_VARS. Pagers and editors are dropped too: git never needs them here, and
 * simple-git refuses to run with them.
 */
function inheritedEnv(): Record<string, string> {
  const dropped = new Set(['PAGER', 'GIT_PAGER', 'EDITOR', 'VISUAL', 'GIT_EDITOR', 'GIT_SEQUENCE_EDITOR', 'GIT_EXTERNAL_DIFF', ...REPO_LOCAL_VARS]);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !dropped.has(key.toUpperCase())) env[key] = value;
  }
  return env;
}

/** Run git; turn its failure into a SourceError whose message has no credentials in it. */
async function run(git: SimpleGit, args: string[], message: string, hint?: string): Promise<string> {
  try {
    return await git.raw(args);
  } catch (cause) {
    const detail = redactUrl(String((cause as Error).message ?? cause)).trim().split('\n').filter(Boolean).slice(-2).join('; ');
    throw new SourceError(detail ? `${message}: ${detail}` : message, { hint });
  }
}

/** Make (once) a bare repo for the URL and fetch every branch and tag into it. */
async function mirror(url: string, gitDir: string, withHead: boolean, signal?: AbortSignal): Promise<SimpleGit> {
  if (!existsSync(join(gitDir, 'HEAD'))) {
    await mkdir(gitDir, { recursive: true });
    await run(gitIn(gitDir), ['init', '--bare', '--quiet'], `cannot create a mirror in ${gitDir}`);
  }
  const credentials = splitCredentials(url);
  const git = gitIn(gitDir, credentials.env, signal);
  // Forced refspecs follow force-pushes; --prune drops deleted branches so a deleted ref is an
  // error rather than a stale tip. The URL comes after `--`, never as an option. The remote's
  // HEAD is fetched only when asked for: a dangling HEAD must not fail the fetch of a branch.
  const refspecs = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*', ...(withHead ? ['+HEAD:refs/remote-head'] : [])];
  await run(git, [
    'fetch', '--quiet', '--prune', '--prune-tags', '--no-recurse-submodules', '--no-write-fetch-head', '--', credentials.url, ...refspecs,
  ], `cannot fetch ${redactUrl(url)}`, 'Check the URL, the network and the credentials (environment or git credential helper).');
  return git;
}

/** The commit a ref names in the mirror: a branch, a tag, then a (possibly short) SHA. */
async function resolveRef(git: SimpleGit, ref: string, url: string): Promise<string> {
  const candidates = ref === 'HEAD' ? ['refs/remote-head'] : [`refs/heads/${ref}`, `refs/tags/${ref}`, ref];
  for (const candidate of candidates) {
    const sha = await git.raw(['rev-parse', '--verify', '--quiet', '--end-of-options', `${candidate}^{commit}`]).catch(() => '');
    if (isSha(sha.trim())) return sha.trim();
  }
  throw new SourceError(`ref ${ref} not found in ${redactUrl(url)}`, {
    hint: 'The branch or tag may have been deleted or renamed; give an existing --ref.',
  });
}

/** Export a commit's tree into `<trees>/<sha>` (once; the directory is immutable afterwards). */
async function exportRevision(git: SimpleGit, sha: string, trees: string, meta?: { time: string; subject: string }): Promise<Revision> {
  const { time, subject } = meta ?? (await commitMeta(git, sha));
  const dataPath = join(trees, sha);
  if (existsSync(dataPath)) {
    await touch(dataPath);
  } else {
    await writeTree(git, sha, trees, dataPath);
    await pruneTrees(trees, dataPath);
  }
  return { sha, time, subject, dataPath };
}

/** Committer time (ISO 8601) and subject of a commit. */
async function commitMeta(git: SimpleGit, sha: string): Promise<{ time: string; subject: string }> {
  const meta = await run(git, ['show', '-s', '--format=%cI%n%s', sha, '--'], `cannot read commit ${sha}`);
  const [time = '', subject = ''] = meta.split('\n');
  return { time, subject };
}

/** Write the commit's files (exactly as committed: export.ts) beside, then rename the directory into place. */
async function writeTree(git: SimpleGit, sha: string, trees: string, dataPath: string): Promise<void> {
  const scratch = join(trees, `.tmp-${sha}-${process.pid}-${Date.now()}`);
  const files = join(scratch, 'files');
  await mkdir(files, { recursive: true });
  try {
    await exportTree(spawnGit(await gitDirOf(git)), sha, files, SOURCE_ROOTS);
    await rename(files, dataPath).catch(async (error: NodeJS.ErrnoException) => {
      // Another process exported the same commit first: theirs is identical.
      if (!existsSync(dataPath)) throw error;
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** git with the same config and environment as gitIn(), as a process with pipes: for byte streams. */
export function spawnGit(gitDir: string): GitSpawn {
  const config = SAFE_CONFIG.flatMap((setting) => ['-c', setting]);
  const env = { ...inheritedEnv(), GIT_TERMINAL_PROMPT: '0', GIT_DIR: gitDir };
  return (args) => spawn('git', [...config, ...args], { cwd: gitDir, env, stdio: 'pipe', timeout: SILENT_FETCH_MS, killSignal: 'SIGKILL' });
}

async function gitDirOf(git: SimpleGit): Promise<string> {
  return (await git.raw(['rev-parse', '--absolute-git-dir'])).trim();
}

/** Keep the newest few exported trees, always including the one just written. */
async function pruneTrees(trees: string, keep: string): Promise<void> {
  const names = (await readdir(trees)).filter((name) => !name.startsWith('.'));
  const aged = await Promise.all(names.map(async (name) => ({ path: join(trees, name), mtime: (await stat(join(trees, name))).mtimeMs })));
  aged.sort((a, b) => b.mtime - a.mtime);
  for (const { path } of aged.slice(KEEP_TREES)) {
    if (normalize(path) !== normalize(keep)) await rm(path, { recursive: true, force: true });
  }
}

async function touch(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now).catch(() => undefined);
}

/** True when the path is a directory (used by callers choosing between a repo and a data dir). */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A path inside an exported tree, shown as the path in the repo; anything else unchanged. */
export function repoRelative(file: string | undefined, dataPath: string): string | undefined {
  if (!file) return file;
  const inRepo = relative(dataPath, resolve(file));
  return inRepo && !inRepo.startsWith('..') && !isAbsolute(inRepo) ? inRepo : file;
}

/**
 * The same error, its files named as in the repo (not the cache) and the commit in the
 * message, so `boot/default:3: … (commit 1a2b3c4d5e6f)` can be opened in the repo as is.
 */
export function relocateError(error: BootcfgError, revision: Revision): BootcfgError {
  if (error instanceof ErrorList) return new ErrorList(error.errors.map((item) => relocateError(item, revision)));
  const Kind = error.constructor as new (message: string, where: ConstructorParameters<typeof BootcfgError>[1]) => BootcfgError;
  return new Kind(`${error.message} (commit ${revision.sha.slice(0, 12)})`, {
    file: repoRelative(error.file, revision.dataPath),
    line: error.line,
    column: error.column,
    hint: error.hint,
    cause: error.cause,
  });
}
