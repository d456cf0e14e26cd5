// Preloaded into a measured bootcfg process (`node --import …/rss-hook.js bin/bootcfg.js …`):
// on exit it writes the process's peak resident set size to stderr, where the benchmark
// runner reads it. Measures the real CLI without a wrapper tool such as GNU time.
//
// Worker threads inherit --import, and a worker's exit fires its own 'exit' with the process's
// peak so far: only the main thread reports, or the first line read would be a worker's, early.

import { writeSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  process.on('exit', () => {
    writeSync(2, `\nbench-maxrss-kb ${process.resourceUsage().maxRSS}\n`);
  });
}
