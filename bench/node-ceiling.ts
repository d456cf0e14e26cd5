// The fastest answer any Node HTTP server gives on this machine: a fixed body of the size of
// an iPXE script, with the same headers as bootcfg serve, no routing, no file, no log. The
// serving benchmark runs it beside bootcfg serve and nginx, so the gap between bootcfg and
// nginx splits into Node's HTTP stack (this) and bootcfg's own work (the rest).

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const body = Buffer.from(`#!ipxe\nkernel /images/fedora-coreos/41/vmlinuz ${'x'.repeat(330)}\ninitrd /images/fedora-coreos/41/initramfs.img\nboot\n`);

const server = createServer((_req, res) => {
  res.setHeader('X-Bootcfg-Revision', '0123456789ab');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.writeHead(200, { 'Content-Length': body.length, 'Last-Modified': new Date(0).toUTCString(), ETag: 'W/"400-0"' });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  process.stderr.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
