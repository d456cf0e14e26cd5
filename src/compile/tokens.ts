// Which words may appear on an iPXE command line. Every kernel, initrd and kernel argument a
// boot config holds ends up as one word on a line of an iPXE script: ours (`kernel …`,
// `initrd …`), and Pixiecore's, which writes the Pixiecore answer's cmdline onto its own
// `boot kernel initrd=initrd0 … <cmdline>` line (google/netboot pixiecore/http.go ipxeScript).
// A word that iPXE reads as syntax makes the script do something the file does not say, and
// differently in each output, so such a word is refused at load time. Pure; profiles use it too.
//
// The rules, from the iPXE source:
// - image/script.c process_script: a script is split into lines at "\n" (a trailing "\r" is
//   dropped); a line ending in "\" is joined with the next one (backslash continuation).
// - core/exec.c split_command: a line is split into words at isspace() (space, \t \n \v \f \r);
//   there is no quoting and no escaping, so nothing can protect a word.
// - core/exec.c command_terminator: a word that is exactly ";", "&&" or "||" ends the command and
//   starts another; a word whose first character is "#" starts a comment to the end of the line.
// - core/exec.c expand_tokens, core/settings.c expand_settings: "${name}" is expanded per word,
//   after splitting and after the terminators are found, so an expansion never creates a word
//   or a separator. `${uuid}`, `${net0/mac}` are therefore safe, and are the point of iPXE.
// - core/getopt.c getopt_long: `kernel` and `initrd` read options until the first word that does
//   not start with "-" (no permutation), so the image word must not start with "-"; kernel
//   arguments after it are never read as options ("--" and "-s" are fine there).
// - Pixiecore runs its cmdline through Go's text/template first (expandCmdline, for its
//   `{{ ID "…" }}`), so "{{" in an argument means something to Pixiecore and nothing to iPXE.

/** `image`: the kernel or an initrd, the word after `kernel`/`initrd`. `argument`: a kernel argument. */
export type TokenRole = 'image' | 'argument';

export interface TokenProblem {
  /** Completes "<what> …", e.g. `"cmdline" entry ";" is an iPXE command separator`. */
  message: string;
  hint: string;
}

/** Whitespace splits a word, a control character (newline) ends the line: refused everywhere. */
export const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f]/;

const SEPARATORS: readonly string[] = [';', '&&', '||'];

/** Why `token` would not reach iPXE (and Pixiecore) as the one plain word it is, or undefined. */
export function tokenProblem(token: string, role: TokenRole): TokenProblem | undefined {
  const shown = (): string => JSON.stringify(token); // made only for a problem: every argument of every machine comes through here
  if (WHITESPACE_OR_CONTROL.test(token)) {
    return { message: 'contains whitespace or a control character', hint: 'iPXE splits the kernel line on spaces; split it into separate values' };
  }
  if (SEPARATORS.includes(token)) {
    return { message: `${shown()} is an iPXE command separator`, hint: 'iPXE reads ";", "&&" and "||" as the end of a command and runs what follows; remove it' };
  }
  if (token.startsWith('#')) {
    return { message: `${shown()} starts with "#", which starts an iPXE comment`, hint: 'iPXE ignores the rest of the line after a word starting with "#"; remove it or move the "#" inside the word' };
  }
  if (token.endsWith('\\')) {
    return { message: `${shown()} ends with "\\", which joins the next iPXE script line to this one`, hint: 'remove the trailing backslash' };
  }
  if (role === 'image' && token.startsWith('-')) {
    return { message: `${shown()} starts with "-", which iPXE reads as an option of kernel/initrd`, hint: 'give a URL or a path under /images/' };
  }
  if (role === 'argument' && token.includes('{{')) {
    return { message: `${shown()} contains "{{", which Pixiecore expands as a template`, hint: 'Pixiecore runs the command line through Go templates; use iPXE settings such as ${uuid} instead' };
  }
  return undefined;
}
