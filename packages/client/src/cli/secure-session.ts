import type { PalisadeClient } from '../client.js';
import { openSecureMessaging, type SecureSession } from '../e2ee/open.js';
import { openProfileState } from './state.js';

/**
 * Opens this profile's encrypted end-to-end state (see state.ts) and wires the end-to-end layer to the
 * client: credential, KeyPackages, Welcomes. Close it when the command ends (the store is locked while open).
 */
export async function openSecureSession(
  client: PalisadeClient,
): Promise<SecureSession & { close: () => Promise<void> }> {
  const store = await openProfileState();
  try {
    const session = await openSecureMessaging(client, { store });
    await session.secure.start();
    return { ...session, close: () => store.close() };
  } catch (e) {
    await store.close();
    throw e;
  }
}
