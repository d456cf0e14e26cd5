// What machines did, from access-log hits, joined to a build: per machine (by MAC, else UUID)
// when it was last seen, the revision it was served, how often it booted, which answer booted
// it, whether it ever fetched an OS config, and whether it is in an install loop. Hits are
// folded in one at a time and each machine keeps a bounded state, so a day of a boot storm is
// never held in memory. Which answer served a hit is the log's own `file` when it says, else
// the servers' own routing (route.ts) against the build's answers: no matching of our own.

import { parseSelectorValue } from '../compile/shapes.js';
import { PIXIECORE_PREFIX } from '../serve/answers.js';
import { normalizePath, queryArg, route } from '../serve/route.js';
import type { BuildView } from './build-view.js';
import { OS_KINDS, parseAnswerPath } from './entries.js';
import type { Hit } from './logs.js';

export interface ActivityOptions {
  /** Boots are counted within this many minutes before the newest hit. */
  windowMinutes: number;
  /** A machine fetching the same boot answer this many times … */
  loopCount: number;
  /** … within this many minutes is in an install loop. */
  loopMinutes: number;
}

export const DEFAULT_ACTIVITY: ActivityOptions = { windowMinutes: 24 * 60, loopCount: 3, loopMinutes: 30 };

export type Flag = 'loop' | 'unknown' | 'no-os-config';

export interface SeenMachine {
  /** `mac:52-54-…` or `uuid:…`. */
  id: string;
  mac?: string;
  uuid?: string;
  client: string;
  firstSeen: string;
  lastSeen: string;
  /** The revision of the last answer it got. */
  revision?: string;
  boots: number;
  bootsInWindow: number;
  osFetches: number;
  /** The entry (selector) of its last boot answer: `mac/52-54-…`, `default`… */
  answer?: string;
  /** Kind → the answer the live build has for its last boot request (what it gets next time). */
  answers: Record<string, string>;
  flags: Flag[];
  loop?: { answer: string; boots: number; from: string; to: string };
}

export interface ActivityStats {
  lines: number;
  hits: number;
  /** Lines that are no access-log line of either server. */
  unparsed: number;
  /** Hits that name no machine (no MAC or UUID, from an address no machine used). */
  anonymous: number;
  newest?: string;
}

/** How many boot times a machine keeps for the window count (a loop past it still counts). */
const MAX_BOOT_TIMES = 4096;

interface State {
  id: string;
  mac?: string;
  uuid?: string;
  client: string;
  first: number;
  last: number;
  revision?: string;
  boots: number;
  bootTimes: number[];
  osFetches: number;
  bootAnswer?: string;
  /** The last boot request's query, to ask which OS config the build has for it. */
  bootQuery: string;
  streak: { answer?: string; times: number[] };
  loop?: { answer: string; boots: number; from: number; to: number };
}

export class Activity {
  private readonly machines = new Map<string, State>();
  /** Client address → the machine last seen there (for /boot.ipxe, which names no machine). */
  private readonly byClient = new Map<string, string>();
  private newest = -Infinity;
  readonly stats: ActivityStats = { lines: 0, hits: 0, unparsed: 0, anonymous: 0 };

  /** `build` may be swapped for a newer one (serve): hits already folded in keep their answers. */
  constructor(public build: BuildView, private readonly options: ActivityOptions = DEFAULT_ACTIVITY) {}

  /** Folds one log line in (undefined: a line that was not a hit). */
  add(hit: Hit | undefined): void {
    this.stats.lines++;
    if (!hit) {
      this.stats.unparsed++;
      return;
    }
    this.stats.hits++;
    if (hit.time > this.newest) this.newest = hit.time;
    if (!(hit.status >= 200 && hit.status < 300) && hit.status !== 304) return;
    const request = readRequest(hit.path);
    if (!request) return;
    const state = this.machineOf(request, hit);
    if (!state) {
      this.stats.anonymous++;
      return;
    }
    state.last = Math.max(state.last, hit.time);
    state.first = Math.min(state.first, hit.time);
    if (hit.revision) state.revision = hit.revision;
    if (request.kind === 'boot') this.boot(state, hit, request.query);
    else if (request.kind === 'os') state.osFetches++;
  }

  private machineOf(request: Request, hit: Hit): State | undefined {
    const id = request.mac ? `mac:${request.mac}` : request.uuid ? `uuid:${request.uuid}` : this.byClient.get(hit.client);
    if (!id) return undefined;
    let state = this.machines.get(id);
    if (!state) {
      if (!request.mac && !request.uuid) return undefined;
      state = { id, mac: request.mac, uuid: request.uuid, client: hit.client, first: hit.time, last: hit.time, boots: 0, bootTimes: [], osFetches: 0, bootQuery: '', streak: { times: [] } };
      this.machines.set(id, state);
    }
    if (request.uuid && !state.uuid) state.uuid = request.uuid;
    if (!request.pixiecore) {
      state.client = hit.client; // Pixiecore asks on the machine's behalf, from its own address
      this.byClient.set(hit.client, id);
    }
    return state;
  }

  private boot(state: State, hit: Hit, query: string): void {
    state.boots++;
    state.bootTimes.push(hit.time);
    const horizon = this.newest - this.options.windowMinutes * 60_000;
    while (state.bootTimes.length > 0 && (state.bootTimes[0]! < horizon || state.bootTimes.length > MAX_BOOT_TIMES)) state.bootTimes.shift();
    const answer = this.answerOf(hit);
    if (!answer) return;
    state.bootAnswer = answer;
    state.bootQuery = query;
    this.followStreak(state, answer, hit.time);
  }

  /** Install loops: the same boot answer loopCount times within loopMinutes. */
  private followStreak(state: State, answer: string, time: number): void {
    const { loopCount, loopMinutes } = this.options;
    const streak = state.streak;
    if (streak.answer !== answer) state.streak = { answer, times: [] };
    const times = state.streak.times;
    times.push(time);
    while (times.length > loopCount || time - times[0]! > loopMinutes * 60_000) times.shift();
    if (state.loop && state.loop.answer === answer && time - state.loop.to <= loopMinutes * 60_000) {
      state.loop.boots++;
      state.loop.to = Math.max(state.loop.to, time);
    } else if (times.length >= loopCount) {
      state.loop = { answer, boots: times.length, from: times[0]!, to: time };
    }
  }

  /** The entry key of the answer that served a hit: the log's file, else the servers' routing over this build. */
  private answerOf(hit: Hit): string | undefined {
    const logged = hit.file && parseAnswerPath(hit.file);
    if (logged) return logged.key;
    const target = route('GET', hit.path, this.build.shapes);
    if (target.type !== 'file') return undefined;
    const found = target.candidates.find((candidate) => this.build.paths.has(candidate.answer));
    return found ? parseAnswerPath(found.answer)?.key : undefined;
  }

  /** The build's answer of each kind for a boot request's query, as the servers would choose it. */
  private answersFor(state: State): Record<string, string> {
    const answers: Record<string, string> = {};
    if (!state.bootAnswer) return answers;
    const targets = { ipxe: `/ipxe?${state.bootQuery}`, grub: `/grub?${state.bootQuery}`, pixiecore: state.mac ? `/pixiecore/v1/boot/${state.mac}` : undefined, cloud: `/cloud?${state.bootQuery}`, ignition: `/ignition?${state.bootQuery}`, generic: `/generic?${state.bootQuery}`, metadata: `/metadata?${state.bootQuery}` };
    for (const [kind, path] of Object.entries(targets)) {
      const target = path === undefined ? undefined : route('GET', path, this.build.shapes);
      const found = target?.type === 'file' ? target.candidates.find((candidate) => this.build.paths.has(candidate.answer)) : undefined;
      if (found) answers[kind] = found.answer;
    }
    return answers;
  }

  /** Every machine seen, flagged, in id order. */
  seen(): SeenMachine[] {
    const horizon = this.newest - this.options.windowMinutes * 60_000;
    const out: SeenMachine[] = [];
    for (const state of this.machines.values()) {
      const flags: Flag[] = [];
      const answers = this.answersFor(state);
      const hasOsConfig = OS_KINDS.some((kind) => answers[kind]);
      if (state.loop) flags.push('loop');
      if (state.bootAnswer === 'default') flags.push('unknown');
      if (state.boots > 0 && state.osFetches === 0 && hasOsConfig) flags.push('no-os-config');
      out.push({
        id: state.id,
        ...(state.mac && { mac: state.mac }),
        ...(state.uuid && { uuid: state.uuid }),
        client: state.client,
        firstSeen: iso(state.first),
        lastSeen: iso(state.last),
        ...(state.revision && { revision: state.revision }),
        boots: state.boots,
        bootsInWindow: state.bootTimes.filter((time) => time >= horizon).length,
        osFetches: state.osFetches,
        ...(state.bootAnswer && { answer: state.bootAnswer }),
        answers,
        flags,
        ...(state.loop && { loop: { answer: state.loop.answer, boots: state.loop.boots, from: iso(state.loop.from), to: iso(state.loop.to) } }),
      });
    }
    this.stats.newest = Number.isFinite(this.newest) ? iso(this.newest) : undefined;
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

interface Request {
  kind: 'boot' | 'os' | 'chain' | 'other';
  mac?: string;
  uuid?: string;
  pixiecore: boolean;
  /** The query to ask other routes with: the request's own, or `mac=…` for Pixiecore. */
  query: string;
}

/** Which route a logged request asked and which machine it names (normalized as the servers do). */
function readRequest(target: string): Request | undefined {
  const at = target.indexOf('?');
  const path = normalizePath(at === -1 ? target : target.slice(0, at));
  if (path === undefined || path.startsWith('/-/')) return undefined; // bootcfg's own endpoints: people, not machines
  const query = at === -1 ? '' : target.slice(at + 1);
  if (path.startsWith(PIXIECORE_PREFIX)) {
    const mac = parseSelectorValue('mac', path.slice(PIXIECORE_PREFIX.length));
    return mac ? { kind: 'boot', mac, pixiecore: true, query: `mac=${mac}` } : undefined;
  }
  const mac = selector(query, 'mac');
  const uuid = selector(query, 'uuid');
  // A boot is a fetch of a boot answer: iPXE's script, or GRUB's grub.cfg (UEFI GRUB netboot).
  const kind = path === '/ipxe' || path === '/grub' ? 'boot' : path === '/cloud' || path === '/ignition' || path === '/generic' ? 'os' : path === '/boot.ipxe' || path === '/boot.ipxe.0' ? 'chain' : 'other';
  return { kind, mac, uuid, pixiecore: false, query };
}

function selector(query: string, key: 'mac' | 'uuid'): string | undefined {
  const raw = queryArg(query, key)?.replace(/%3a/gi, ':');
  return raw === undefined ? undefined : parseSelectorValue(key, raw);
}

function iso(time: number): string {
  return new Date(time).toISOString();
}
