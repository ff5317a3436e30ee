import { join } from 'node:path';
import type { PalisadeClient } from '../client.js';
import { openSecureMessaging, type SecureSession } from '../e2ee/open.js';
import { StateStoreError } from '../e2ee/state-store.js';
import { FileStateStore } from '../node/file-state-store.js';
import { invocationName } from './invocation.js';
import { profileDir } from './profile.js';
import { die } from './prompt.js';

/** The environment variable that holds the passphrase of the encrypted local state, if one is used. */
export const STATE_PASSPHRASE_ENV = 'PALISADE_STATE_PASSPHRASE';

/**
 * Opens this profile's end-to-end state (`<profile>/e2ee`, encrypted at rest: with the passphrase in
 * $PALISADE_STATE_PASSPHRASE, else a key in the OS keyring or a 0600 key file) and wires the end-to-end
 * layer to the client. Exits with a hint when the store is locked or open in another command.
 */
export async function openSecureSession(
  client: PalisadeClient,
): Promise<SecureSession & { close: () => Promise<void> }> {
  let store: FileStateStore;
  try {
    const passphrase = process.env[STATE_PASSPHRASE_ENV];
    store = await FileStateStore.open(join(profileDir(), 'e2ee'), passphrase ? { passphrase } : {});
  } catch (e) {
    if (e instanceof StateStoreError && e.code === 'state_busy')
      die(
        'the encrypted chat state is in use by another palisade-chat command (a live view?); close it first, or use another profile ($PALISADE_CHAT_HOME).',
      );
    if (e instanceof StateStoreError && e.code === 'state_locked')
      die(`the encrypted chat state cannot be opened: ${e.message}. Set ${STATE_PASSPHRASE_ENV} to its passphrase.`);
    if (e instanceof StateStoreError && e.code === 'state_corrupt')
      die(
        `the encrypted chat state is damaged (${e.message}); \`${invocationName()} devices reset\` starts this device afresh (messages kept on it are lost).`,
      );
    throw e;
  }
  try {
    const session = await openSecureMessaging(client, { store });
    await session.secure.start();
    return { ...session, close: () => store.close() };
  } catch (e) {
    await store.close();
    throw e;
  }
}
