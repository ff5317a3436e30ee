import { createInvite, enrol, issueBootstrapToken, login, authenticateToken, type AuthDeps } from '../auth/index.js';
import type { Principal } from '../core/index.js';
import { randomToken } from '../crypto/index.js';
import { generateKeyPairSync } from 'node:crypto';

/** A passphrase that passes the password policy. */
export const PASS = 'correct horse battery staple 42';

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
    const s = await login(deps, { username: name, password: PASS, device: { publicKey: newDevicePublicKey(), name: 'test', platform: 'test' } }, '10.0.0.1');
    out.push((await authenticateToken(deps, s.token)).principal);
  }
  return out;
}

/** A random unique name. */
export const uniqueName = (prefix: string) => `${prefix}${randomToken(4).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
