import { createInterface } from 'node:readline';
import { withInvocation } from './invocation.js';

/** Reads one line from stdin; hides what is typed when stdin is a terminal. */
export function ask(question: string, hidden = false): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY === true });
    if (hidden && process.stdin.isTTY) {
      const out = rl as unknown as { _writeToOutput: (s: string) => void };
      out._writeToOutput = (s: string) => {
        if (s.includes(question)) process.stderr.write(question);
      };
    }
    rl.question(question, (answer) => {
      rl.close();
      if (hidden && process.stdin.isTTY) process.stderr.write('\n');
      resolve(answer);
    });
  });
}

/** Prints an error with a hint (naming commands as the person runs them) and exits 1. */
export function die(message: string): never {
  process.stderr.write(`palisade-chat: ${withInvocation(message)}\n`);
  process.exit(1);
}

/**
 * Asks before an irreversible action; `--yes` skips the question. Without a terminal (a script) and
 * without `--yes` it refuses, so nothing is destroyed by a pipe that happens to contain "y".
 * With `name`, typing that name also confirms.
 */
export async function confirmDestructive(opts: { yes?: boolean }, action: string, name?: string): Promise<void> {
  if (opts.yes) return;
  if (!process.stdin.isTTY) die(`${action} cannot be undone, and this is not a terminal to ask in: nothing was done. Add --yes to confirm.`);
  const how = name === undefined ? '[y/N]' : `type ${name} or y to confirm [y/N]`;
  const answer = (await ask(`${action}; this cannot be undone. ${how}: `)).trim();
  if (!(/^y(es)?$/i.test(answer) || (name !== undefined && answer === name))) die('not confirmed; nothing was done.');
}
