// The entry of the link worker thread (src/build/links.ts starts it): a reply to each chunk of
// links, until it is stopped.

import { parentPort } from 'node:worker_threads';
import { linkRequested, type LinkBatch } from './links.js';

parentPort!.on('message', (batches: LinkBatch[]) => parentPort!.postMessage(linkRequested(batches)));
