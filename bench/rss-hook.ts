// Preloaded into a measured bootcfg process (`node --import …/rss-hook.js bin/bootcfg.js …`):
// on exit it writes the process's peak resident set size to stderr, where the benchmark
// runner reads it. Measures the real CLI without a wrapper tool such as GNU time.

import { writeSync } from 'node:fs';

process.on('exit', () => {
  writeSync(2, `\nbench-maxrss-kb ${process.resourceUsage().maxRSS}\n`);
});
