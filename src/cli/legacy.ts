// The 2015 command line, kept working: the Go binary took single-dash flags (`-address=…`,
// `-data-path=…`, `-images-path=…`, `-log-level=…`) and no command, so old unit files and
// `docker run … -address=0.0.0.0:8080` pass exactly that. yargs would read `-address` as the
// short flags a, d, r…; this rewrite runs before it and turns those four into their `--` forms.
// With no command at all the Go binary served, reading the data directory on every request:
// `serve --watch` (build ./data or -data-path, rebuild on every change) is today's equivalent.

/** The 2015 binary's flags (`bootcfg-2015 -h`), all taking a value. */
export const GO_FLAGS = ['address', 'data-path', 'images-path', 'log-level'] as const;

const GO_FLAG = new RegExp(`^-(${GO_FLAGS.join('|')})(=.*)?$`, 's');

/** argv with the 2015 single-dash flags as `--` flags, and `serve --watch` when no command was given. */
export function rewriteLegacyArgv(argv: readonly string[]): string[] {
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length; // nothing after "--" is a flag
  const flags = argv.slice(0, end).map((arg) => {
    const match = GO_FLAG.exec(arg);
    return match ? `--${match[1]}${match[2] ?? ''}` : arg;
  });
  // The Go binary had no commands: a first argument that is one of its flags means serve.
  const bare = argv.length > 0 && GO_FLAG.test(argv[0]!);
  return [...(bare ? ['serve', '--watch'] : []), ...flags, ...argv.slice(end)];
}
