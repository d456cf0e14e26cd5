// The entry of the fill worker thread (src/build/fill.ts starts it): a reply to each chunk of
// links and writes, until it is stopped.

import { parentPort } from 'node:worker_threads';
import { fillRequested, type FillBatch } from './fill.js';

parentPort!.on('message', (batches: FillBatch[]) => parentPort!.postMessage(fillRequested(batches)));
