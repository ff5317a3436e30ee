import { createInterface } from 'node:readline';

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

/** Prints an error with a hint and exits 1. */
export function die(message: string): never {
  process.stderr.write(`palisade-chat: ${message}\n`);
  process.exit(1);
}
