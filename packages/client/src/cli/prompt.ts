import { readSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { withInvocation } from './invocation.js';

/**
 * Reads exactly one line from standard input, byte by byte, so nothing after it is consumed: a
 * password on the next line stays for the next prompt. Undefined at the end of input.
 */
export function readStdinLine(): string | undefined {
  const bytes: number[] = [];
  const one = Buffer.alloc(1);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, one, 0, 1, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if ((e as NodeJS.ErrnoException).code === 'EOF') n = 0;
      else throw e;
    }
    if (n === 0) return bytes.length === 0 ? undefined : Buffer.from(bytes).toString('utf8').replace(/\r$/, '');
    if (one[0] === 0x0a) break;
    bytes.push(one[0]!);
  }
  return Buffer.from(bytes).toString('utf8').replace(/\r$/, '');
}

/**
 * Asks a question on stderr and reads one line; hides what is typed when stdin is a terminal.
 * Undefined when the input ends first (Ctrl-D, or a pipe with no more lines).
 */
export function askLine(question: string, hidden = false): Promise<string | undefined> {
  if (!process.stdin.isTTY) {
    // Not a terminal: one line at a time, so each prompt gets its own line of a pipe.
    process.stderr.write(question);
    const line = readStdinLine();
    if (line !== undefined) process.stderr.write('\n');
    return Promise.resolve(line);
  }
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    if (hidden) {
      const out = rl as unknown as { _writeToOutput: (s: string) => void };
      out._writeToOutput = (s: string) => {
        if (s.includes(question)) process.stderr.write(question);
      };
    }
    let answered = false;
    rl.on('close', () => {
      if (!answered) {
        process.stderr.write('\n');
        resolve(undefined);
      }
    });
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      if (hidden) process.stderr.write('\n');
      resolve(answer);
    });
  });
}

/** Like `askLine`; the end of input counts as an empty answer. */
export async function ask(question: string, hidden = false): Promise<string> {
  return (await askLine(question, hidden)) ?? '';
}

/**
 * Exit codes: 1 for every refusal and error (wrong usage too), and 3 when the command needs an answer
 * it cannot ask for (standard input is not a terminal and gave no such line, e.g. a second factor).
 */
export const EXIT_NEEDS_INPUT = 3;

/** Prints an error with a hint (naming commands as the person runs them) and exits (1 unless told). */
export function die(message: string, code = 1): never {
  process.stderr.write(`palisade-chat: ${withInvocation(message)}\n`);
  process.exit(code);
}

/**
 * Asks before a destructive action; `--yes` skips the question. Without a terminal (a script) and
 * without `--yes` it refuses, so nothing is destroyed by a pipe that happens to contain "y".
 * With `name`, typing that name also confirms. With `undo` (the command that reverses it, e.g.
 * `palisade-chat admin enable carol`) the question names it instead of saying it cannot be undone.
 */
export async function confirmDestructive(
  opts: { yes?: boolean },
  action: string,
  name?: string,
  undo?: string,
): Promise<void> {
  if (opts.yes) return;
  const consequence = undo === undefined ? 'this cannot be undone' : `\`${undo}\` undoes it`;
  if (!process.stdin.isTTY)
    die(
      `${undo === undefined ? `${action} cannot be undone` : `${action} needs a confirmation`}, and this is not a terminal to ask in: nothing was done. Add --yes to confirm.`,
    );
  const how = name === undefined ? '[y/N]' : `type ${name} or y to confirm [y/N]`;
  const answer = (await ask(withInvocation(`${action}; ${consequence}. ${how}: `))).trim();
  if (!(/^y(es)?$/i.test(answer) || (name !== undefined && answer === name))) die('not confirmed; nothing was done.');
}
