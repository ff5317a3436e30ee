import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const MAIN = resolve(import.meta.dirname, '../../packages/server/dist/cli/main.js');

/**
 * Runs the `palisade` CLI (built) with extra environment; resolves with its exit code and output.
 * A `serve` gets a free metrics port, so parallel tests never fight over 9464.
 */
export function palisade(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, PALISADE_METRICS_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => res({ code, out, err }));
  });
}

const CHAT = resolve(import.meta.dirname, '../../packages/client/dist/cli/chat.js');

/** A `palisade-chat` process (built) with a profile folder, whose stdin stays open until `end`. */
export interface ChatProcess {
  pid: number;
  /** Everything written to stderr so far. */
  err: () => string;
  /** Everything written to stdout so far. */
  out: () => string;
  /** Resolves once stderr matches (e.g. the password prompt). */
  waitForErr: (re: RegExp, ms?: number) => Promise<void>;
  /** Resolves once stdout matches (e.g. the live view's header). */
  waitForOut: (re: RegExp, ms?: number) => Promise<void>;
  /** Resolves with the exit code and output once the process exits by itself (stdin left open). */
  exited: () => Promise<{ code: number | null; out: string; err: string }>;
  write: (text: string) => void;
  /** Ends stdin (with optional last text) and resolves with the exit code and output. */
  end: (text?: string) => Promise<{ code: number | null; out: string; err: string }>;
}

/** The environment without npm's variables: the CLI runs as if started directly, whatever runs the tests. */
function directEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));
  return { ...env, ...extra };
}

/**
 * Starts `palisade-chat` with PALISADE_CHAT_HOME=home, to drive it line by line. `env` adds variables
 * (e.g. `npm_command: 'exec'` to run it as under npx).
 */
export function spawnChat(home: string, args: string[], env: Record<string, string> = {}): ChatProcess {
  const p = spawn(process.execPath, [CHAT, ...args], {
    env: directEnv({ PALISADE_CHAT_HOME: home, ...env }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  p.stdin.on('error', () => undefined); // the CLI may exit (refusing) before it reads its input
  const exited = new Promise<number | null>((r) => p.on('close', (code) => r(code)));
  /** Resolves as soon as the stream's text matches (checked on each chunk); rejects once it exited or after `ms`. */
  const waitForText = (text: () => string, re: RegExp, ms: number, name: 'stdout' | 'stderr') =>
    new Promise<void>((resolve, reject) => {
      const stream = name === 'stdout' ? p.stdout : p.stderr;
      const stop = () => (clearTimeout(deadline), stream.off('data', check));
      const give = () => (
        stop(),
        reject(new Error(`palisade-chat never printed ${re} on ${name}; stdout:\n${out}\nstderr:\n${err}`))
      );
      const check = () => void (re.test(text()) && (stop(), resolve()));
      const deadline = setTimeout(give, ms);
      stream.on('data', check); // after the listener that appends the chunk, so text() includes it
      void exited.then(give); // also when it had exited already (a no-op once resolved)
      check();
    });
  return {
    pid: p.pid!,
    err: () => err,
    out: () => out,
    waitForErr: (re, ms = 15_000) => waitForText(() => err, re, ms, 'stderr'),
    waitForOut: (re, ms = 15_000) => waitForText(() => out, re, ms, 'stdout'),
    async exited() {
      const code = await exited;
      return { code, out, err };
    },
    write: (text) => void p.stdin.write(text),
    async end(text = '') {
      p.stdin.end(text);
      const code = await exited;
      return { code, out, err };
    },
  };
}

/** Runs `palisade-chat` to completion with `stdin` as its whole input (and extra `env`). */
export function chat(
  home: string,
  args: string[],
  stdin = '',
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return spawnChat(home, args, env).end(stdin);
}

/**
 * Runs `palisade-chat` on a pseudo-terminal (util-linux `script`), typing `input`: for the prompts
 * that only a terminal gets. Output of the terminal (stdout and stderr mixed) comes back as `out`.
 */
export function chatOnTty(home: string, args: string[], input: string): Promise<{ code: number | null; out: string }> {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const cmd = [process.execPath, CHAT, ...args].map(quote).join(' ');
  return new Promise((res) => {
    const p = spawn('script', ['-qec', cmd, '/dev/null'], {
      env: directEnv({ PALISADE_CHAT_HOME: home }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.stdin.end(input);
    p.on('close', (code) => res({ code, out }));
  });
}
