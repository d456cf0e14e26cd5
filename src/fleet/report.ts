// The fleet view itself: a build's entries joined to what the logs say machines did, as one
// JSON-ready object (what `bootcfg machines --format json` prints and /-/machines.json
// serves), and as a text table for people. Pure.

import type { BuildView } from './build-view.js';
import type { Activity, ActivityOptions, ActivityStats, SeenMachine } from './activity.js';
import { entriesOf, type Entry } from './entries.js';

export interface EntryRow extends Entry {
  /** Machines the logs saw answered by this entry's boot answer. */
  seen: number;
  lastSeen?: string;
}

export interface FleetReport {
  revision: string;
  source: string;
  /** The thresholds the flags were computed with. */
  options: ActivityOptions;
  /** False when no log was read: then there is nothing about what machines did. */
  logs: boolean;
  stats: ActivityStats;
  flags: { loop: string[]; unknown: string[]; 'no-os-config': string[] };
  entries: EntryRow[];
  machines: SeenMachine[];
}

export function fleetReport(build: BuildView, activity: Activity, options: ActivityOptions, logs: boolean): FleetReport {
  const machines = activity.seen();
  const byEntry = new Map<string, { seen: number; lastSeen?: string }>();
  for (const machine of machines) {
    if (!machine.answer) continue;
    const row = byEntry.get(machine.answer) ?? { seen: 0 };
    row.seen++;
    if (!row.lastSeen || machine.lastSeen > row.lastSeen) row.lastSeen = machine.lastSeen;
    byEntry.set(machine.answer, row);
  }
  const entries = entriesOf(build).map((entry) => ({ ...entry, seen: 0, ...byEntry.get(entry.key) }));
  const flagged = (flag: 'loop' | 'unknown' | 'no-os-config') => machines.filter((m) => m.flags.includes(flag)).map((m) => m.id);
  return {
    revision: build.revision,
    source: build.source,
    options,
    logs,
    stats: activity.stats,
    flags: { loop: flagged('loop'), unknown: flagged('unknown'), 'no-os-config': flagged('no-os-config') },
    entries,
    machines,
  };
}

/** Rows and their filter: a machine or entry matches when any shown field contains the text. */
export function matches(text: string, ...fields: (string | undefined)[]): boolean {
  const needle = text.toLowerCase();
  return fields.some((field) => field !== undefined && field.toLowerCase().includes(needle));
}

export function entryFields(entry: EntryRow): (string | undefined)[] {
  return [entry.key, entry.group, entry.profile, entry.kernel, ...entry.initrd, ...entry.args, ...Object.values(entry.answers)];
}

export function machineFields(machine: SeenMachine): (string | undefined)[] {
  return [machine.id, machine.mac, machine.uuid, machine.client, machine.revision, machine.answer, ...machine.flags];
}

/** The report as text: a summary, the flags, the build's entries, then the machines seen. */
export function formatReport(report: FleetReport, filter?: string): string {
  const lines = [`revision ${report.revision} from ${report.source}`];
  const entries = filter ? report.entries.filter((e) => matches(filter, ...entryFields(e))) : report.entries;
  const machines = filter ? report.machines.filter((m) => matches(filter, ...machineFields(m))) : report.machines;
  if (report.logs) {
    const { stats, options } = report;
    lines.push(`${stats.lines} log lines, ${stats.hits} requests, ${report.machines.length} machines seen${stats.newest ? `, newest ${stats.newest}` : ''}${stats.unparsed ? `; ${stats.unparsed} lines not understood` : ''}`);
    lines.push(`install loops (the same boot answer ≥ ${options.loopCount} times within ${options.loopMinutes} min): ${report.flags.loop.length}`);
    lines.push(`unknown machines (answered by the default): ${report.flags.unknown.length}`);
    lines.push(`booted but never fetched their OS config: ${report.flags['no-os-config'].length}`);
  }
  lines.push('', table(['SELECTOR', 'GROUP', 'PROFILE', 'KERNEL', 'INITRDS', 'ARGS', 'OS CONFIG', ...(report.logs ? ['SEEN', 'LAST SEEN'] : [])], entries.map((entry) => [
    entry.key,
    entry.group ?? '-',
    entry.profile ?? '-',
    entry.kernel ?? '-',
    entry.initrd.join(',') || '-',
    entry.args.join(' ') || '-',
    ['cloud', 'ignition', 'generic'].filter((kind) => entry.answers[kind]).join(',') || '-',
    ...(report.logs ? [String(entry.seen), entry.lastSeen ?? 'never'] : []),
  ])));
  if (report.logs) {
    lines.push('', table(['MACHINE', 'LAST SEEN', 'REVISION', 'BOOTS', `IN ${report.options.windowMinutes} MIN`, 'OS FETCHES', 'ANSWERED BY', 'FLAGS'], machines.map((m) => [
      m.id,
      m.lastSeen,
      m.revision ?? '-',
      String(m.boots),
      String(m.bootsInWindow),
      String(m.osFetches),
      m.answer ?? '-',
      m.flags.join(',') || '-',
    ])));
  }
  return `${lines.join('\n')}\n`;
}

/** Columns padded to their widest cell (the last one is not padded). */
function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => rows.reduce((width, row) => Math.max(width, row[i]!.length), h.length));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}
