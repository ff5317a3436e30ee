import type { Command } from 'commander';
import { withInvocation } from './invocation.js';
import { ask, die } from './prompt.js';
import { openProfileState, stateDir } from './state.js';

const out = (line: string): void => void process.stdout.write(`${withInvocation(line)}\n`);

/** `state`: how this device's encrypted end-to-end state is protected, and changing it. */
export function addStateCommands(program: Command): void {
  const state = program
    .command('state')
    .description(
      "this device's encrypted end-to-end state (its MLS keys and decrypted messages): show or change its protection",
    );
  state
    .command('status', { isDefault: true })
    .description('where the state is and how its key is protected (passphrase, OS keyring or key file)')
    .action(async () => {
      const store = await openProfileState();
      try {
        out(
          `${stateDir()}: key protected by ${store.protection}${store.protection === 'key-file' ? ' (the weakest: set a passphrase with `palisade-chat state passphrase`)' : ''}`,
        );
      } finally {
        await store.close();
      }
    });
  state
    .command('passphrase')
    .description(
      'protect the state with a passphrase (asked twice, never echoed); --remove goes back to the OS keyring or a key file',
    )
    .option('--remove', 'drop the passphrase')
    .action(async (o: { remove?: boolean }) => {
      if (!o.remove && !process.stdin.isTTY) die('run this at a terminal: the new passphrase is asked for twice.');
      const store = await openProfileState();
      try {
        if (o.remove) {
          await store.rekey({});
          return out(`the state key is now protected by ${store.protection}.`);
        }
        const first = await ask('New passphrase for the encrypted state: ', true);
        if (first.length < 8) die('a passphrase of at least 8 characters, please (a few words work well).');
        if ((await ask('Again: ', true)) !== first) die('the two passphrases differ; nothing changed.');
        await store.rekey({ passphrase: first });
        out('the state is now protected by your passphrase; scripts can pass it in PALISADE_CHAT_STATE_PASSPHRASE.');
      } finally {
        await store.close();
      }
    });
}
