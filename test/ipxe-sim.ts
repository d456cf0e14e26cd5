// A model of what iPXE does with a boot script, for tests that walk the static chain and the
// dynamic one the same way: settings expanded token by token (`${name}`, `${name:hexhyp}`,
// `${name:uristring}`), `&&` / `||` / `;` decided by the last command run (src/core/exec.c),
// a script stopping at its first failing line, `goto`, `exit`, named images (`imgfetch
// --name`, then `chain <name>` runs that image), relative URLs resolved against the running
// script's URL, and any answer but 200 a failure. It ends at `boot`, with the kernel line.
// Real iPXE guests boot from the same trees in static-e2e's QEMU tests.

export type Fetch = (url: string) => Promise<{ status: number; body: string }>;

export interface Booted {
  kernel: string;
  initrds: string[];
  /** Kernel arguments after iPXE expanded them. */
  args: string[];
  /** The URL of the script that ran `boot`. */
  scriptUrl: string;
  /** Every URL fetched, in order. */
  fetched: string[];
}

export type BootResult = { booted: Booted } | { failed: string; fetched: string[] };

/** A machine's iPXE settings: uuid, `net0/mac` (colon form), buildarch, hostname, serial, any label. */
export type Settings = Readonly<Record<string, string>>;

interface Image {
  url: string;
  body: string;
}

class Run {
  readonly fetched: string[] = [];
  readonly images = new Map<string, Image>();
  kernel?: { url: string; args: string[] };
  initrds: string[] = [];
  booted?: string;
  jump?: string;
  exitCode?: number;
  steps = 0;

  constructor(readonly settings: Settings, readonly fetch: Fetch) {}
}

/** Boots a machine from `bootUrl`: the result of its whole walk. */
export async function bootMachine(bootUrl: string, settings: Settings, fetch: Fetch): Promise<BootResult> {
  const run = new Run(settings, fetch);
  const image = await fetchImage(run, bootUrl);
  if (!image) return { failed: `${bootUrl}: not found`, fetched: run.fetched };
  const rc = await runScript(run, image, 0);
  if (run.booted && run.kernel) return { booted: { kernel: run.kernel.url, initrds: run.initrds, args: run.kernel.args, scriptUrl: run.booted, fetched: run.fetched } };
  return { failed: `script ended with ${rc}`, fetched: run.fetched };
}

async function fetchImage(run: Run, url: string): Promise<Image | undefined> {
  run.fetched.push(url);
  const answer = await run.fetch(url);
  return answer.status === 200 ? { url, body: answer.body } : undefined;
}

async function runScript(run: Run, image: Image, depth: number): Promise<number> {
  if (depth > 8) return 1;
  const lines = image.body.split('\n');
  if (!lines[0]!.startsWith('#!ipxe')) return 1;
  const labels = new Map(lines.flatMap((line, i) => (line.startsWith(':') ? [[line.slice(1).trim(), i] as const] : [])));
  for (let pc = 1; pc < lines.length; pc++) {
    if (++run.steps > 10_000) return 1;
    const line = lines[pc]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(':')) continue;
    const rc = await system(run, line, image, depth);
    if (run.booted) return 0;
    if (run.jump !== undefined) {
      const to = labels.get(run.jump);
      run.jump = undefined;
      if (to === undefined) return 1;
      pc = to;
      continue;
    }
    if (run.exitCode !== undefined) {
      const code = run.exitCode;
      run.exitCode = undefined;
      return code;
    }
    if (rc !== 0) return rc;
  }
  return 0;
}

/** One script line: commands joined by `&&`, `||` and `;`, each run or skipped by the last status. */
async function system(run: Run, line: string, image: Image, depth: number): Promise<number> {
  const tokens = line.split(/\s+/).filter(Boolean);
  let rc = 0;
  let process = true;
  let at = 0;
  for (;;) {
    let end = at;
    while (end < tokens.length && !['&&', '||', ';'].includes(tokens[end]!) && !tokens[end]!.startsWith('#')) end++;
    const terminator = end < tokens.length && !tokens[end]!.startsWith('#') ? tokens[end] : undefined;
    if (process) {
      const argv = tokens.slice(at, end).map((token) => expand(token, run.settings));
      rc = argv.length === 0 ? 0 : await execute(run, argv, image, depth);
      if (run.booted || run.jump !== undefined || run.exitCode !== undefined) return rc;
    }
    if (!terminator) return rc;
    process = terminator === ';' || (terminator === '&&' ? rc === 0 : rc !== 0);
    at = end + 1;
  }
}

async function execute(run: Run, argv: string[], image: Image, depth: number): Promise<number> {
  const [command, ...args] = argv;
  const flag = (name: string) => {
    const i = args.indexOf(name);
    if (i === -1) return undefined;
    return args.splice(i, name === '--name' ? 2 : 1)[name === '--name' ? 1 : 0] ?? '';
  };
  switch (command) {
    case 'isset':
      return args[0] ? 0 : 1;
    case 'iseq':
      return args[0] === args[1] ? 0 : 1;
    case 'echo':
      return 0;
    case 'exit':
      run.exitCode = Number(args[0] ?? 0);
      return run.exitCode;
    case 'goto':
      run.jump = args[0];
      return 0;
    case 'imgfetch': {
      const name = flag('--name');
      const url = new URL(args[0]!, image.url).href;
      const fetched = await fetchImage(run, url);
      if (!fetched) return 1;
      run.images.set(name ?? url.split('/').pop()!, fetched);
      return 0;
    }
    case 'chain': {
      flag('--autofree');
      flag('--replace');
      const target = run.images.get(args[0]!) ?? (await fetchImage(run, new URL(args[0]!, image.url).href));
      if (!target) return 1;
      return runScript(run, target, depth + 1);
    }
    case 'kernel':
      run.kernel = { url: new URL(args[0]!, image.url).href, args: args.slice(1) };
      run.initrds = [];
      return 0;
    case 'initrd':
      run.initrds.push(new URL(args[0]!, image.url).href);
      return 0;
    case 'boot':
      if (!run.kernel) return 1;
      run.booted = image.url;
      return 0;
    default:
      throw new Error(`ipxe-sim: no model of the command ${command}`);
  }
}

/** `${name}` and `${name:type}` as iPXE expands them: an unset setting is empty. */
export function expand(token: string, settings: Settings): string {
  return token.replace(/\$\{([^}:]+)(?::([a-z]+))?\}/g, (_, name: string, type: string | undefined) => {
    const key = name === 'mac' ? 'net0/mac' : name;
    const value = settings[key];
    if (value === undefined || value === '') return '';
    if (key.endsWith('mac')) return type === 'hexhyp' ? value.replaceAll(':', '-') : value;
    return type === 'uristring' ? uriString(value) : value;
  });
}

/** iPXE's uristring: every byte but the unreserved ones percent-encoded. */
function uriString(value: string): string {
  return [...Buffer.from(value, 'utf8')].map((byte) => {
    const ch = String.fromCharCode(byte);
    return /[A-Za-z0-9\-._~]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
}
