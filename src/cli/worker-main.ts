// The entry of a `serve --workers N` worker process (serve forks it through src/serve/workers.ts):
// it loads the serving modules only, not the CLI and every command's libraries (~27 MB less per
// worker, and a start in ~0.1 s), and serves dist/ as the primary's options say until stopped.

import { startServer } from '../serve/server.js';
import { runWorker, socketFromPrimary, type WorkerOptions } from '../serve/workers.js';
import { accessLog, formatError } from './report.js';

const options = JSON.parse(process.argv[2] ?? '{}') as WorkerOptions;
const say = (line: string) => process.stderr.write(`worker ${process.pid}: ${line}\n`);
try {
  await runWorker(await startServer({ ...options, listener: await socketFromPrimary(), log: accessLog(process.stdout), notice: say }));
} catch (error) {
  say(formatError(error));
  process.exitCode = 1;
  if (process.connected) process.disconnect();
}
