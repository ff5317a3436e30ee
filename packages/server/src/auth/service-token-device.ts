import { AppError } from '../core/index.js';
import { isValidEd25519PublicKey, randomId } from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import { isUniqueViolation, type Tx } from '../store/index.js';
import type { AuthDeps } from './deps.js';
import { sealForUser } from './sealed.js';

/**
 * Checks a bot's device key as login checks a device key: a raw 32-byte Ed25519 public key, base64url.
 * Throws `invalid_device_key` otherwise. Call before the transaction.
 */
export function assertBotDeviceKey(publicKey: string): void {
  if (!isValidEd25519PublicKey(Buffer.from(publicKey, 'base64url'))) throw new AppError('invalid_device_key');
}

/**
 * Creates the trusted device of a device-bound service token inside the token's transaction (after
 * `deps.sealer.prepare` for the bot user), audited as `device.added`. Returns the device id.
 * SECURITY: a key the bot account already used (even a revoked one) is refused: each token has its own
 * device, so revoking one token's device never touches another's.
 */
export async function addBotDevice(
  deps: AuthDeps,
  tx: Tx,
  actorId: string,
  botUserId: string,
  tokenId: string,
  publicKey: string,
  now: number,
): Promise<string> {
  const id = randomId();
  const seal = (column: string, v: string) => sealForUser(deps, botUserId, 'devices', column, id, v);
  try {
    await tx
      .insertInto('devices')
      .values({
        id,
        user_id: botUserId,
        public_key: publicKey,
        name: seal('name', `service token ${tokenId}`),
        platform: 'service',
        created_at: now,
        last_seen_at: now,
        revoked_at: null,
        approved_at: now,
        last_address: null,
      })
      .execute();
  } catch (e) {
    if (isUniqueViolation(e))
      throw new AppError('invalid_device_key', 'this bot already used this device key; generate a new one');
    throw e;
  }
  await recordAudit(tx, deps.sealer, {
    at: now,
    actorId,
    action: 'device.added',
    target: id,
    outcome: 'success',
    details: { owner: botUserId, serviceToken: tokenId, platform: 'service' },
  });
  return id;
}

/**
 * Revokes the device of a revoked service token inside the revocation's transaction, audited. The bot's
 * MLS leaves become stale: the server refuses sends (`roster_stale`) until a member commits their removal.
 */
export async function revokeBotDevice(deps: AuthDeps, tx: Tx, actorId: string, deviceId: string, now: number) {
  const r = await tx
    .updateTable('devices')
    .set({ revoked_at: now })
    .where('id', '=', deviceId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) return;
  await recordAudit(tx, deps.sealer, {
    at: now,
    actorId,
    action: 'device.revoked',
    target: deviceId,
    outcome: 'success',
    details: { reason: 'service_token_revoked' },
  });
}
