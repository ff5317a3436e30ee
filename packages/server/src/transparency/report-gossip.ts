import {
  canonicalTreeHead,
  gossipSigningMessage,
  treeHeadSigningMessage,
  type GossipEntry,
  type SignedTreeHead,
} from '@palisade/protocol';
import { AppError, type Principal } from '../core/index.js';
import { verifyEd25519 } from '../crypto/index.js';
import type { TransparencyDeps } from './deps.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const raw = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64url'));

/**
 * Stores the latest tree head the caller's device saw, with its device-key signature over
 * `palisade-kt-gossip-v1:` + the canonical head, for the user's other devices to compare.
 * SECURITY: both signatures are checked (the organisation's over the head, the device's over the
 * report), so what is stored is only ever what that device really saw; the server can withhold a
 * report but not forge one.
 */
export async function reportGossip(
  deps: TransparencyDeps,
  principal: Principal,
  input: { head: SignedTreeHead; signature: string },
): Promise<void> {
  const [device, orgKey] = await Promise.all([
    deps.db
      .selectFrom('devices')
      .select('public_key')
      .where('id', '=', principal.deviceId)
      .where('user_id', '=', principal.userId)
      .executeTakeFirst(),
    deps.db.selectFrom('org_signing_keys').select('public_key').where('id', '=', input.head.keyId).executeTakeFirst(),
  ]);
  const { signature: headSig, ...unsigned } = input.head;
  const headOk =
    !!orgKey && verifyEd25519(raw(orgKey.public_key), bytes(treeHeadSigningMessage(unsigned)), raw(headSig));
  const reportOk =
    !!device && verifyEd25519(raw(device.public_key), bytes(gossipSigningMessage(input.head)), raw(input.signature));
  if (!headOk || !reportOk) throw new AppError('gossip_signature_invalid');
  const row = {
    user_id: principal.userId,
    head: canonicalTreeHead(input.head),
    signature: input.signature,
    reported_at: deps.clock.now(),
  };
  await deps.db
    .insertInto('kt_gossip')
    .values({ device_id: principal.deviceId, ...row })
    .onConflict((oc) => oc.column('device_id').doUpdateSet(row))
    .execute();
}

/** The heads the caller's OTHER active devices last reported, with their signatures to check. */
export async function siblingHeads(deps: TransparencyDeps, principal: Principal): Promise<GossipEntry[]> {
  const rows = await deps.db
    .selectFrom('kt_gossip')
    .innerJoin('devices', 'devices.id', 'kt_gossip.device_id')
    .select(['kt_gossip.device_id', 'kt_gossip.head', 'kt_gossip.signature', 'kt_gossip.reported_at'])
    .where('kt_gossip.user_id', '=', principal.userId)
    .where('devices.user_id', '=', principal.userId)
    .where('kt_gossip.device_id', '!=', principal.deviceId)
    .where('devices.revoked_at', 'is', null)
    .orderBy('kt_gossip.device_id')
    .execute();
  return rows.map((r) => ({
    deviceId: r.device_id,
    head: JSON.parse(r.head) as SignedTreeHead,
    signature: r.signature,
    reportedAt: new Date(Number(r.reported_at)).toISOString(),
  }));
}
