// The entry of the link worker thread (src/build/links.ts starts it): one request in, one reply out.

import { parentPort } from 'node:worker_threads';
import { linkRequested, type LinkBatch } from './links.js';

parentPort!.once('message', (batches: LinkBatch[]) => parentPort!.postMessage(linkRequested(batches)));
