import type { SessionGrant } from '@palisade/protocol';
import {
  approveDevice,
  createInvite,
  enrol,
  issueBootstrapToken,
  login,
  authenticateToken,
  type AuthDeps,
} from '../auth/index.js';
import type { Principal } from '../core/index.js';
import { randomToken } from '../crypto/index.js';
import { generateKeyPairSync } from 'node:crypto';

/** A passphrase that passes the password policy. */
export const PASS = 'velvet glacier orbit lantern 42';

/** A fresh raw Ed25519 public key (base64url). Test-only: production keys come from the client. */
export function newDevicePublicKey(): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' }) as { x: string };
  return jwk.x;
}

/**
 * Creates users (the first through the bootstrap token when none exist) and logs each in.
 * `firstGrants` gives the first user roles when the store already has accounts.
 */
export async function makeUsers(deps: AuthDeps, names: string[], firstGrants: string[] = []): Promise<Principal[]> {
  const out: Principal[] = [];
  for (const name of names) {
    const boot = await issueBootstrapToken(deps);
    const grants = out.length === 0 ? firstGrants : [];
    const token = boot?.token ?? (await createInvite(deps, null, { role: 'member', grants, ttlHours: 1 })).token;
    await enrol(deps, { token, username: name, password: PASS }, `10.0.0.${out.length + 1}`);
    const publicKey = newDevicePublicKey();
    const s = (await login(
      deps,
      { username: name, password: PASS, device: { publicKey, name: 'test', platform: 'test' } },
      '10.0.0.1',
    )) as SessionGrant;
    const p = (await authenticateToken(deps, s.token)).principal;
    firstDeviceKey.set(p.userId, publicKey);
    out.push(p);
  }
  return out;
}

/** A random unique name. */
export const uniqueName = (prefix: string) =>
  `${prefix}${randomToken(4)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, 'x')}`;

const firstDeviceKey = new Map<string, string>();

/** Logs a user made by `makeUsers` in again on their first (trusted) device. */
export async function loginAgain(
  deps: AuthDeps,
  p: { userId: string; username: string },
  address = '10.0.0.9',
): Promise<SessionGrant> {
  const publicKey = firstDeviceKey.get(p.userId);
  if (!publicKey) throw new Error('not a user made by makeUsers');
  const r = await login(
    deps,
    { username: p.username, password: PASS, device: { publicKey, name: 'test', platform: 'test' } },
    address,
  );
  if ('mfaRequired' in r) throw new Error('unexpected MFA challenge');
  return r;
}

/** Logs a user in on a new device, approved from their trusted session `approver`. */
export async function loginNewDevice(deps: AuthDeps, approver: Principal, address = '10.0.0.8'): Promise<SessionGrant> {
  const device = { publicKey: newDevicePublicKey(), name: 'second', platform: 'test' };
  const first = await login(deps, { username: approver.username, password: PASS, device }, address).catch(
    (e: { code?: string; details?: { deviceId: string } }) => e,
  );
  if ((first as { code?: string }).code !== 'device_approval_required')
    throw new Error(`expected device_approval_required, got ${JSON.stringify(first)}`);
  await approveDevice(deps, approver, (first as { details: { deviceId: string } }).details.deviceId);
  return (await login(deps, { username: approver.username, password: PASS, device }, address)) as SessionGrant;
}

/** The public key of the first (trusted) device `makeUsers` logged the user in with. */
export function firstDeviceKeyOf(userId: string): string {
  const publicKey = firstDeviceKey.get(userId);
  if (!publicKey) throw new Error('not a user made by makeUsers');
  return publicKey;
}
