import { vi } from 'vitest';
import {
  DeviceKey,
  MemoryStateStore,
  openSecureMessaging,
  PalisadeClient,
  type E2eeMessage,
  type E2eeNotice,
  type SecureSession,
} from '@palisade/client';
import { createNodeClient } from '@palisade/client/node';
import type { ServerProcess } from './server-process.js';

/** A passphrase that passes the policy (long, not common, not the user name). */
export const PASS = 'velvet glacier orbit lantern 42';

/** A client for one device of a user. */
export function deviceClient(
  server: Pick<ServerProcess, 'baseUrl' | 'ca'>,
  key = DeviceKey.generate(),
  token?: string,
): PalisadeClient {
  return createNodeClient({ baseUrl: server.baseUrl, ca: server.ca, deviceKey: key, token });
}

/** Enrols the first admin with the bootstrap token and logs in. */
export async function enrolAdmin(server: ServerProcess, username = 'admin'): Promise<PalisadeClient> {
  const c = deviceClient(server);
  await c.api.enrol({ token: server.bootstrapToken as string, username, password: PASS });
  await c.login(username, PASS, 'admin laptop');
  return c;
}

/** Creates users through admin invites; returns a logged-in client per user. */
export async function createUsers(
  server: ServerProcess,
  admin: PalisadeClient,
  names: string[],
): Promise<PalisadeClient[]> {
  const out: PalisadeClient[] = [];
  for (const name of names) {
    const inv = await admin.api.invite('member');
    const c = deviceClient(server);
    await c.api.enrol({ token: inv.token, username: name, password: PASS });
    await c.login(name, PASS, `${name} device 1`);
    out.push(c);
  }
  return out;
}

/** Waits until `cond()` is true (Vitest's `vi.waitFor`, polling every 10 ms); names `what` on a time-out. */
export async function waitFor(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  await vi.waitFor(
    () => {
      if (!cond()) throw new Error(`timed out waiting for ${what}`);
    },
    { timeout: timeoutMs, interval: 10 },
  );
}

/** Logs `user` in on a new device, approving it from the trusted client `approver` when asked. */
export async function addDevice(
  server: Pick<ServerProcess, 'baseUrl' | 'ca'>,
  approver: PalisadeClient,
  username: string,
  deviceName: string,
): Promise<PalisadeClient> {
  const c = deviceClient(server);
  try {
    await c.login(username, PASS, deviceName);
  } catch (e) {
    const err = e as { code?: string; details?: { deviceId?: string } };
    if (err.code !== 'device_approval_required' || !err.details?.deviceId) throw e;
    await approver.api.call('POST', `/v1/devices/${err.details.deviceId}/approve`);
    await c.login(username, PASS, deviceName);
  }
  return c;
}

/** A client's end-to-end layer (in-memory state) and what it decrypted, for tests that read messages. */
export interface SecureReader {
  session: SecureSession;
  got: E2eeMessage[];
  notices: E2eeNotice[];
}

/**
 * Wires the end-to-end layer to a logged-in client (before `connect()`): its KeyPackages go to the
 * directory, so others can add it to groups; decrypted messages land in `got`.
 */
export async function secureReader(client: PalisadeClient): Promise<SecureReader> {
  const session = await openSecureMessaging(client, { store: new MemoryStateStore() });
  const r: SecureReader = { session, got: [], notices: [] };
  session.secure.on.message = (m) => r.got.push(m);
  session.secure.on.notice = (n) => r.notices.push(n);
  await session.secure.start();
  return r;
}
