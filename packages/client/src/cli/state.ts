import { join } from 'node:path';
import { StateStoreError } from '../e2ee/state-store.js';
import { FileStateStore } from '../node/index.js';
import { profileDir } from './profile.js';
import { askLine, die, EXIT_NEEDS_INPUT } from './prompt.js';

/**
 * The passphrase of the encrypted state, for scripts (read from the environment, never argv:
 * /proc/<pid>/cmdline is world-readable; the environment is readable only by the user and root).
 */
export const STATE_PASSPHRASE_ENV = 'PALISADE_CHAT_STATE_PASSPHRASE';

/** The profile's end-to-end encryption state folder: `<profile>/state`. */
export function stateDir(): string {
  return join(profileDir(), 'state');
}

/**
 * Opens the profile's encrypted MLS state. A store with a passphrase takes it from
 * $PALISADE_CHAT_STATE_PASSPHRASE or asks for it (hidden, three tries); any other failure ends the
 * command with what to do.
 */
export async function openProfileState(): Promise<FileStateStore> {
  const dir = stateDir();
  let passphrase = process.env[STATE_PASSPHRASE_ENV] || undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      return await FileStateStore.open(dir, { passphrase });
    } catch (e) {
      if (!(e instanceof StateStoreError)) throw e;
      const asks = e.code === 'state_locked' && (await FileStateStore.protectionOf(dir)) === 'passphrase';
      if (!asks || attempt === 3) die(describeStateError(e));
      const question = passphrase === undefined ? 'Passphrase of the encrypted state: ' : 'Wrong passphrase. Again: ';
      const answer = await askLine(question, true);
      if (answer === undefined)
        die(`the encrypted state needs its passphrase: type it, or set ${STATE_PASSPHRASE_ENV}.`, EXIT_NEEDS_INPUT);
      passphrase = answer;
    }
  }
}

/** What a state-store failure means for the person at the terminal, and what to do. */
export function describeStateError(e: StateStoreError): string {
  const dir = stateDir();
  switch (e.code) {
    case 'state_locked':
      return `the encrypted state in ${dir} cannot be unlocked (${e.message}). With a passphrase, check it (or ${STATE_PASSPHRASE_ENV}); if its key is lost, move the folder aside: this device then re-joins its conversations and sees only new messages.`;
    case 'state_corrupt':
      return `the encrypted state in ${dir} is damaged or was altered (${e.message}). Move the folder aside: this device then re-joins its conversations and sees only new messages.`;
    case 'state_busy':
      return `${e.message}: close the other palisade-chat first.`;
    case 'state_io':
      return `${e.message} in ${dir}: check the disk space and the folder's permissions.`;
    case 'state_invalid':
      return e.message;
  }
}
