// `bootcfg nginx`: print the server block that serves dist/ with nginx (see docs/nginx.md).
// It is generated for the selector shapes of the build live in dist/ (docs/nginx.md).
// Only prints; where it goes (conf.d, a config-management template) is the site's business.

import { resolve } from 'node:path';
import { registering, type CommandRun } from './index.js';
import { nginxConfig } from '../../serve/nginx.js';
import { liveShapes } from '../../serve/server.js';
import { distPath, imagesPath } from '../options.js';

interface Args {
  'dist-path': string;
  'images-path': string;
  listen: string;
  'server-name'?: string;
  'access-log'?: string;
}

const command: CommandRun<Args> = {
  builder: (yargs) => yargs.options({
    'dist-path': distPath,
    'images-path': imagesPath,
    listen: { type: 'string', default: '0.0.0.0:8080', describe: 'nginx listen address: HOST:PORT, [V6]:PORT or PORT [env BOOTCFG_LISTEN]' },
    'server-name': { type: 'string', describe: 'nginx server_name (default _, any name) [env BOOTCFG_SERVER_NAME]' },
    'access-log': { type: 'string', describe: 'write an access log here in the bootcfg format, which `bootcfg machines` reads (default: none; the format is always defined) [env BOOTCFG_ACCESS_LOG]' },
  })
    .example('$0 nginx --dist-path /srv/bootcfg/dist --images-path /srv/bootcfg/images --listen 0.0.0.0:8080 > /etc/nginx/conf.d/bootcfg.conf', 'generate, then `nginx -t && nginx -s reload` once'),
  handler: async (args) => {
    // The block is generated for the live build's selector shapes (it answers 503 once a build
    // has other ones); before the first build, for the seed's uuid, mac and default.
    const shapes = await liveShapes(args['dist-path']);
    if (!shapes) process.stderr.write(`bootcfg nginx: no build in ${args['dist-path']} yet; the block is for the uuid, mac and default shapes: regenerate it after a build with other selectors\n`);
    // nginx resolves relative paths against its own prefix, never our cwd: make them absolute here.
    const text = nginxConfig({
      shapes,
      distPath: resolve(args['dist-path']),
      imagesPath: resolve(args['images-path']),
      listen: args.listen,
      serverName: args['server-name'],
      accessLog: args['access-log'] === undefined ? undefined : resolve(args['access-log']),
    });
    process.stdout.write(text);
  },
};
export default registering(command);
