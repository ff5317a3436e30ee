import { DeviceKey, type TransparencySource } from '@palisade/client';
import { treeHeadSigningMessage, type SignedTreeHead } from '@palisade/protocol';
import { expect } from 'vitest';
import type { Principal } from '../core/index.js';
import { randomId, verifyEd25519 } from '../crypto/index.js';
import type { Db } from '../store/index.js';
import {
  currentHead,
  getConsistencyProof,
  getInclusionProof,
  listOrgKeys,
  type TransparencyDeps,
} from '../transparency/index.js';

/** Test support for the transparency module: devices with real keys, the log as a client source. */
export const utf8 = (s: string) => new TextEncoder().encode(s);
export const raw = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));

/** A further approved device of `p`'s user, with a real device key (for gossip signatures). */
export async function addDevice(
  db: Db,
  p: Principal,
  approved = true,
): Promise<{ principal: Principal; key: DeviceKey }> {
  const key = DeviceKey.generate();
  const id = randomId();
  await db
    .insertInto('devices')
    .values({
      id,
      user_id: p.userId,
      public_key: key.publicKey,
      name: 'x',
      platform: 'test',
      created_at: 0,
      last_seen_at: 0,
      revoked_at: null,
      approved_at: approved ? 0 : null,
      last_address: null,
    })
    .execute();
  return { principal: { ...p, deviceId: id as Principal['deviceId'] }, key };
}

export const sourceOf = (t: TransparencyDeps): TransparencySource => ({
  orgKeys: () => listOrgKeys(t),
  head: () => currentHead(t),
  inclusion: (i, n) => getInclusionProof(t, i, n),
  consistency: (a, b) => getConsistencyProof(t, a, b),
});

export async function allLeafHashes(db: Db): Promise<Uint8Array[]> {
  const rows = await db.selectFrom('kt_leaves').select(['leaf_index', 'leaf_hash']).orderBy('leaf_index').execute();
  rows.forEach((r, i) => expect(Number(r.leaf_index)).toBe(i)); // dense, from 0
  return rows.map((r) => raw(r.leaf_hash));
}

export async function headVerifies(t: TransparencyDeps, h: SignedTreeHead): Promise<boolean> {
  const key = (await listOrgKeys(t)).find((k) => k.keyId === h.keyId);
  const { signature, ...unsigned } = h;
  return !!key && verifyEd25519(raw(key.publicKey), utf8(treeHeadSigningMessage(unsigned)), raw(signature));
}
