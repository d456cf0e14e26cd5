// The entry of the data files' read worker (src/build/source.ts starts it for a large tree):
// one request in, the files' contents packed in one transferred buffer out.

import { parentPort } from 'node:worker_threads';
import { readPacked, type ReadRequest } from './source.js';

parentPort!.once('message', async (request: ReadRequest) => {
  const reply = await readPacked(request);
  parentPort!.postMessage(reply, [reply.bytes.buffer as ArrayBuffer]);
});
