// The fleet view of a running `bootcfg serve`: the live build of its dist/ joined to every
// request serve has answered since it started (its own access log, folded in as it is
// written) and to access logs given on the command line (read once, when first asked). The
// build is re-read only when dist/current moves.

import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CURRENT } from '../build/write.js';
import { LEGACY_SHAPES } from '../compile/shapes.js';
import type { AccessLogEntry } from '../serve/server.js';
import { Activity, type ActivityOptions } from './activity.js';
import type { BuildView } from './build-view.js';
import { viewOfDist } from './dist.js';
import type { Hit } from './logs.js';
import { readLogs } from './read-logs.js';
import { fleetReport, type FleetReport } from './report.js';

/** Stands in until the first report reads the live build: serve's log names the answer of each hit itself. */
const NO_BUILD: BuildView = { revision: '-', source: '-', shapes: LEGACY_SHAPES, paths: new Set(), read: () => undefined, origins: new Map(), groups: new Map() };

export class LiveFleet {
  private view?: { target: string; build: BuildView };
  private readonly activity: Activity;
  private loaded?: Promise<void>;

  /** `logs`: access logs to read once, before the first report (nginx's, or serve's own from before). */
  constructor(private readonly distPath: string, private readonly options: ActivityOptions, private readonly logs: readonly string[] = []) {
    this.activity = new Activity(NO_BUILD, options);
  }

  /** Serve's access-log tap: one answered request. */
  readonly hit = (entry: AccessLogEntry): void => this.activity.add(hitOf(entry));

  async report(): Promise<FleetReport> {
    const build = await this.build();
    this.activity.build = build;
    this.loaded ??= readLogs(this.activity, this.logs);
    await this.loaded;
    return fleetReport(build, this.activity, this.options, true);
  }

  async answer(path: string): Promise<Buffer | undefined> {
    return (await this.build()).read(path);
  }

  private async build(): Promise<BuildView> {
    const target = await readlink(join(this.distPath, CURRENT)).catch(() => '');
    if (this.view?.target !== target) this.view = { target, build: await viewOfDist(this.distPath) };
    return this.view.build;
  }
}

function hitOf(entry: AccessLogEntry): Hit | undefined {
  if (entry.method !== 'GET' && entry.method !== 'HEAD') return undefined;
  return { time: Date.parse(entry.time), client: entry.client, path: entry.path, status: entry.status, file: entry.file === '-' ? undefined : entry.file, revision: entry.revision === '-' ? undefined : entry.revision, server: 'bootcfg' };
}
