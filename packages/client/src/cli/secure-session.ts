import type { PalisadeClient } from '../client.js';
import { openSecureMessaging, type SecureSession } from '../e2ee/open.js';
import { currentSafetyNumber, verificationState } from '../e2ee/verification.js';
import { openProfileState } from './state.js';

/** How `/who` marks a member: verified, not verified, or changed since verified (never fails the view). */
export async function whoIs(session: SecureSession, userId: string): Promise<string> {
  if (userId === session.userId) return 'you';
  try {
    const n = await currentSafetyNumber(session.members, session.userId, userId);
    const state = await verificationState(session.store, userId, n.digits);
    return state === 'verified'
      ? `verified, ${n.theirDevices} device(s)`
      : state === 'changed'
        ? `DEVICES CHANGED since you verified them: run verify`
        : `not verified, ${n.theirDevices} device(s)`;
  } catch {
    return 'no verifiable device yet';
  }
}

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
