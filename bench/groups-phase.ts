// The groups phase of `make bench` (BENCH_PHASES=groups): issue 11's targets for the same
// machines described as profiles and groups (fleet.ts writeGroupsFleet: one group per machine,
// as matchbox keeps a fleet, four role profiles, a cloud-config template over the metadata).
//   - a full build against `cp -a` of its output, as the build phase;
//   - `serve --watch`: one machine's group edited (its metadata: /cloud shows the tag), 1% of
//     the groups edited, and a shared profile edited (`compute`, a quarter of the fleet: /ipxe
//     of one of its machines shows the tag), each timed from the write to the new answer.

import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { groupConfig, groupFile, machine, profileConfig, roleOf, ROLES } from './fleet.js';
import { peakRssKb, restRssKb, startServe } from './proc.js';
import { benchBuild, timeUntilServed, type BuildFigures } from './run.js';

export interface GroupsResult extends BuildFigures {
  machines: number;
  dataFiles: number;
  watch: {
    firstBuildMs: number;
    editMs: number[];
    editBuildMs: number[];
    onePercentMs: number[];
    onePercentBuildMs: number[];
    /** A profile a quarter of the machines boot. */
    profileMs: number[];
    profileBuildMs: number[];
    /** The first group edit after start-up (machine 0), not among editMs (bench/run.ts benchWatch says why). */
    firstEditMs?: number;
    restRssKb?: number;
    rssKb?: number;
    /** For each change above, the slowest answer serve gave while building it (ms). */
    slowestMs?: number[];
  };
}

interface Options {
  n: number;
  base: string;
  data: string;
  images: string;
  runs: number;
  say: (line: string) => void;
}

export async function benchGroups({ n, base, data, images, runs, say }: Options): Promise<GroupsResult> {
  const built = await benchBuild(`groups n=${n}`, base, data, runs, say);
  const result: GroupsResult = {
    machines: n, dataFiles: n + ROLES.length + 3, ...built.figures,
    watch: { firstBuildMs: 0, editMs: [], editBuildMs: [], onePercentMs: [], onePercentBuildMs: [], profileMs: [], profileBuildMs: [], slowestMs: [] },
  };
  await rm(built.dist, { recursive: true, force: true });
  const dist = join(base, 'watch-dist');
  await rm(dist, { recursive: true, force: true });
  const started = performance.now();
  const serve = await startServe(['--data-path', data, '--dist-path', dist, '--images-path', images, '--address', '127.0.0.1:0', '--watch']);
  const w = result.watch;
  w.firstBuildMs = performance.now() - started;
  w.restRssKb = await restRssKb(serve);
  const edited = new Set<number>();
  const role = ROLES[0];
  try {
    const first = machine(0);
    edited.add(first.index);
    const firstTag = `first-${Date.now()}`;
    const warm = await timeUntilServed(serve, `/cloud?uuid=${first.uuid}&mac=${first.mac}`, firstTag, () => writeFile(join(data, groupFile(first)), groupConfig(first, firstTag)));
    w.firstEditMs = warm.ms;
    say(`groups n=${n}: the first group edit after start-up served after ${warm.ms.toFixed(0)} ms (rebuild ${warm.buildMs} ms; not counted)`);
    for (let run = 1; run <= runs; run++) {
      const m = machine((run * 7919) % n);
      edited.add(m.index);
      const tag = `edit-${run}-${Date.now()}`;
      const { ms, buildMs, slowestMs } = await timeUntilServed(serve, `/cloud?uuid=${m.uuid}&mac=${m.mac}`, tag, () => writeFile(join(data, groupFile(m)), groupConfig(m, tag)));
      w.slowestMs!.push(slowestMs);
      w.editMs.push(ms);
      w.editBuildMs.push(buildMs);
      say(`groups n=${n} run ${run}: one group's edit served after ${ms.toFixed(0)} ms (rebuild ${buildMs} ms)`);
    }
    for (let run = 1; run <= runs; run++) {
      const count = Math.max(1, Math.floor(n / 100));
      const first = (run * 104729) % n;
      const machines = Array.from({ length: count }, (_, i) => machine((first + i * 97) % n));
      for (const m of machines) edited.add(m.index);
      const tag = `fleet-${run}-${Date.now()}`;
      const last = machines.at(-1)!;
      const { ms, buildMs, slowestMs } = await timeUntilServed(serve, `/cloud?uuid=${last.uuid}&mac=${last.mac}`, tag, async () => {
        for (const m of machines) await writeFile(join(data, groupFile(m)), groupConfig(m, tag));
      });
      w.slowestMs!.push(slowestMs);
      w.onePercentMs.push(ms);
      w.onePercentBuildMs.push(buildMs);
      say(`groups n=${n} run ${run}: ${count} groups' edits served after ${ms.toFixed(0)} ms (rebuild ${buildMs} ms)`);
    }
    for (let run = 1; run <= runs; run++) {
      const m = machine([...Array(ROLES.length).keys()].find((i) => roleOf(machine(i)) === role)!);
      const tag = `profile-${run}-${Date.now()}`;
      const { ms, buildMs, slowestMs } = await timeUntilServed(serve, `/ipxe?uuid=${m.uuid}&mac=${m.mac}`, tag, () => writeFile(join(data, `profiles/${role}.json`), profileConfig(role, tag)));
      w.slowestMs!.push(slowestMs);
      w.profileMs.push(ms);
      w.profileBuildMs.push(buildMs);
      say(`groups n=${n} run ${run}: profile ${role}'s edit (${Math.ceil(n / ROLES.length)} machines) served after ${ms.toFixed(0)} ms (rebuild ${buildMs} ms)`);
    }
    w.rssKb = peakRssKb(serve.pid);
  } finally {
    await serve.stop();
    for (const i of edited) await writeFile(join(data, groupFile(machine(i))), groupConfig(machine(i)));
    await writeFile(join(data, `profiles/${role}.json`), profileConfig(role));
    await rm(dist, { recursive: true, force: true });
  }
  return result;
}
