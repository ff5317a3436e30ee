import type { PalisadeClient } from '../client.js';
import type { MlsSuiteName } from '../mls/adapter.js';
import { openSecureMessaging, type SecureSession } from './open.js';
import type { LocalStore } from './ports.js';

/** What {@link openBotMessaging} needs beside the client. */
export interface BotMessagingOptions {
  /** The bot device's encrypted local store (FileStateStore in Node, MemoryStateStore in tests). */
  store: LocalStore;
  /** Cipher suite for the groups this bot creates. */
  suite?: MlsSuiteName;
  /** Past epochs whose keys are kept for late messages (default 4). */
  keyRetentionEpochs?: number;
}

/** A bot's end-to-end layer over HTTP only: {@link SecureSession} plus a poll step. */
export interface BotSession extends SecureSession {
  /**
   * One polling round over HTTP: tops up this device's KeyPackages, joins the groups it was welcomed
   * to, and decrypts what arrived in each of its conversations (`secure.on.message`). Returns the ids
   * of the conversations it read.
   */
  poll(): Promise<string[]>;
}

/**
 * The end-to-end layer for a bot: a service account whose token is bound to its own device key
 * (`POST /v1/service-accounts/:id/tokens` with `devicePublicKey`), so it is an MLS member like any
 * device. Everything goes over HTTP with a device proof on every request: no WebSocket. Messages go out
 * through the HTTP send route (ciphertext only); read with `secure.sync(conversationId)` or `poll()`.
 *
 * `client` is a `PalisadeClient` built with the service token and the bound `DeviceKey`. The session
 * is started (KeyPackages uploaded, waiting Welcomes processed) before it is returned.
 */
export async function openBotMessaging(client: PalisadeClient, o: BotMessagingOptions): Promise<BotSession> {
  const session = await openSecureMessaging(client, { ...o, transport: 'http' });
  await session.secure.start();
  const poll = async (): Promise<string[]> => {
    await session.secure.topUpKeyPackages();
    await session.secure.processWelcomes();
    const ids = (await client.api.conversations()).map((c) => c.id);
    for (const id of ids) await session.secure.sync(id);
    return ids;
  };
  return { ...session, poll };
}
