import type { Command } from 'commander';
import { formatSafetyNumber, sameSafetyNumber } from '../e2ee/safety-number.js';
import { currentSafetyNumber, markVerified, verificationState } from '../e2ee/verification.js';
import { run, savedClient } from './connect.js';
import { withInvocation } from './invocation.js';
import { ask, die } from './prompt.js';
import { openSecureSession } from './secure-session.js';

const out = (line: string): void => void process.stdout.write(`${withInvocation(line)}\n`);

/** `verify <user>`: the safety number to compare with that person out of band, and marking them verified. */
export function addVerifyCommand(program: Command): void {
  program
    .command('verify <username>')
    .description(
      'show the safety number you and <username> compare in person or by phone; when it matches, mark them verified (you are told if their devices change later)',
    )
    .option('--matches <digits>', 'the number they read to you: marks them verified if it is the same (for scripts)')
    .action((username: string, o: { matches?: string }) =>
      run(async () => {
        const client = savedClient();
        const wanted = username.replace(/^@/, '');
        const member = (await client.api.conversations()).flatMap((c) => c.members).find((m) => m.username === wanted);
        if (!member) die(`you share no conversation with a user named ${wanted}; \`palisade-chat list\` shows yours`);
        const other = { userId: member.userId, username: member.username };
        const session = await openSecureSession(client);
        try {
          const n = await currentSafetyNumber(session.members, session.userId, other.userId);
          const state = await verificationState(session.store, other.userId, n.digits);
          out(`Safety number with ${other.username} (${n.theirDevices} of their devices, ${n.myDevices} of yours):`);
          out(formatSafetyNumber(n.digits, { lines: true }));
          out(
            state === 'verified'
              ? `${other.username} is verified: this is the number you compared before.`
              : state === 'changed'
                ? `WARNING: this number changed since you verified ${other.username}: their devices or yours changed. Compare again before you trust new devices.`
                : `${other.username} is not verified yet. Compare this number with them in person or by phone.`,
          );
          if (o.matches !== undefined) {
            if (!sameSafetyNumber(o.matches, n.digits))
              die('the numbers differ: do not mark them verified; someone may be in the middle.');
            await markVerified(session.store, other.userId, n.digits);
            return out(`marked ${other.username} verified.`);
          }
          if (state === 'verified' || !process.stdin.isTTY) return;
          const answer = (await ask(`Does ${other.username} see the same number? [y/N] `)).trim().toLowerCase();
          if (answer === 'y' || answer === 'yes') {
            await markVerified(session.store, other.userId, n.digits);
            out(`marked ${other.username} verified.`);
          } else out('not marked verified.');
        } finally {
          await session.close();
        }
      }),
    );
}
