// The one helper that builds a real L2 segment for a network-path case (docs/e2e.md, issue 15):
// a network namespace of the case's own holding a bridge at the README's bootcfg address, one
// tap per QEMU guest, and, when asked, "hosts": further namespaces wired to the bridge by a veth
// pair (another DHCP server beside the one under test). Every program of the case runs inside
// with `ip netns exec`. Nothing here touches the host's interfaces, the namespaces get no route
// out, and destroy() (also run on process exit) kills what was started and deletes them.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The segment's addresses: the README's own (bootcfg at 192.168.1.10), valid only inside. */
export const segment = {
  prefix: 24,
  /** The bridge: bootcfg, dnsmasq, Pixiecore listen here. */
  bridge: '192.168.1.10',
  /** A host namespace beside it (the site's own DHCP server in the proxy cases). */
  host: '192.168.1.2',
  /** Where dnsmasq's pool starts and ends. */
  poolStart: '192.168.1.100',
  poolEnd: '192.168.1.150',
} as const;

/** Namespaces are named for this process, so a leftover one is traceable and never someone else's. */
const tag = `bcfg-e2e-${process.pid}`;
let serial = 0;
const live = new Set<Segment>();

async function ip(...args: string[]): Promise<void> {
  await run('ip', args, { timeout: 10_000 });
}

export class Segment {
  readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private taps = 0;

  private constructor(readonly ns: string) {}

  /** A namespace with lo and a bridge br0 at segment.bridge; nothing else. */
  static async create(): Promise<Segment> {
    const s = new Segment(`${tag}-${++serial}`);
    live.add(s);
    try {
      await s.namespace(s.ns);
      await ip('-n', s.ns, 'link', 'add', 'br0', 'type', 'bridge');
      await ip('-n', s.ns, 'addr', 'add', `${segment.bridge}/${segment.prefix}`, 'dev', 'br0');
      await ip('-n', s.ns, 'link', 'set', 'br0', 'up');
    } catch (e) {
      await s.destroy();
      throw e;
    }
    return s;
  }

  private async namespace(name: string): Promise<void> {
    await ip('netns', 'add', name);
    this.namespaces.push(name);
    await ip('-n', name, 'link', 'set', 'lo', 'up');
  }

  /** A tap on the bridge for one QEMU guest (`-netdev tap,ifname=…,script=no`); returns its name. */
  async addTap(): Promise<string> {
    const name = `tap${this.taps++}`;
    await ip('-n', this.ns, 'tuntap', 'add', 'dev', name, 'mode', 'tap');
    await ip('-n', this.ns, 'link', 'set', name, 'master', 'br0');
    await ip('-n', this.ns, 'link', 'set', name, 'up');
    return name;
  }

  /** Another namespace on the segment, at `address`, through a veth pair into the bridge. */
  async addHost(address: string): Promise<string> {
    const name = `${this.ns}-h${this.namespaces.length}`;
    await this.namespace(name);
    const port = `veth${this.namespaces.length}`;
    await ip('-n', this.ns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name);
    await ip('-n', this.ns, 'link', 'set', port, 'master', 'br0');
    await ip('-n', this.ns, 'link', 'set', port, 'up');
    await ip('-n', name, 'addr', 'add', `${address}/${segment.prefix}`, 'dev', 'eth0');
    await ip('-n', name, 'link', 'set', 'eth0', 'up');
    return name;
  }

  /** Starts a program inside `ns` (default: the bridge's); destroy() kills it if it still runs. */
  spawn(command: string, args: string[], ns: string = this.ns): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('close', () => this.children.delete(child));
    return child;
  }

  /** At process exit: no time to wait, so SIGKILL. */
  killNow(): void {
    for (const child of this.children) child.kill('SIGKILL');
  }

  /** Kills what it started (by pid) and deletes its namespaces, with their taps and veths. */
  async destroy(): Promise<void> {
    await Promise.all([...this.children].map(stop));
    for (const name of this.namespaces.splice(0).reverse()) await ip('netns', 'del', name).catch(() => undefined);
    live.delete(this);
  }
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((done) => child.once('close', done));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

/** Why the network-path cases cannot run here, or undefined when they can. */
export function netnsSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root (CI runs as root)';
  try {
    execFileSync('dnsmasq', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'dnsmasq is not installed: run make deps-e2e';
  }
  return undefined;
}

// A run that dies before its after() hooks still leaves no namespace behind.
process.on('exit', () => {
  for (const s of live) {
    s.killNow();
    for (const name of s.namespaces) {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  }
});
