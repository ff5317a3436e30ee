import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { ask, die, readStdinLine } from './prompt.js';

/** How the enrolment or invite token reaches the CLI. Never argv: /proc/<pid>/cmdline is world-readable. */
export interface TokenSource {
  tokenStdin?: boolean;
  tokenFile?: string;
  /** The removed `--token VALUE`; only to refuse it with a hint. */
  token?: string;
}

/**
 * Reads a token file. SECURITY: refuses a file that group or others may read (chmod 600), as ssh does
 * for keys: the token is a credential.
 */
function readTokenFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    die(`cannot read --token-file ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
  try {
    // Checked on the open file, so the file checked is the file read.
    const st = fstatSync(fd);
    if (!st.isFile()) die(`--token-file ${path} is not a file.`);
    if ((st.mode & 0o077) !== 0)
      die(
        `--token-file ${path} can be read by group or others (mode ${(st.mode & 0o777).toString(8)}); run \`chmod 600 ${path}\` first.`,
      );
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The one-time token: from `--token-file` (0600), from the first line of standard input
 * (`--token-stdin`), or typed at a prompt that does not echo. `--token VALUE` is refused before
 * anything is sent, with what to use instead.
 */
export async function readEnrolToken(o: TokenSource): Promise<string> {
  if (o.token !== undefined) {
    die(
      '--token is no longer accepted: a token on the command line can be read by every local user in the process list.\n' +
        'Use --token-file FILE (mode 0600), --token-stdin (first line of standard input), or type it when asked.',
    );
  }
  if (o.tokenStdin && o.tokenFile !== undefined) die('give --token-stdin or --token-file, not both.');
  let token: string;
  if (o.tokenFile !== undefined) token = readTokenFile(o.tokenFile);
  else if (process.stdin.isTTY)
    token = await ask('One-time token: ', true); // also for --token-stdin: no echo
  else if (o.tokenStdin) token = readStdinLine() ?? '';
  else die('not a terminal: give the token with --token-file FILE (mode 0600) or --token-stdin.');
  token = token.trim();
  if (token === '') die('the token is empty.');
  return token;
}
