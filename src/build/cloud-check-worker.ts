// The entry of the cloud-config checks' worker thread (src/build/cloud-checks.ts starts it):
// one request in, one reply out.

import { parentPort } from 'node:worker_threads';
import { checkPacked, type CheckRequest } from './cloud-checks.js';

parentPort!.once('message', (request: CheckRequest) => parentPort!.postMessage(checkPacked(request)));
