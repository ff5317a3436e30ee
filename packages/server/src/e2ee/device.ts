import { AppError, type Principal } from '../core/index.js';
import type { Executor } from '../store/index.js';

/**
 * The caller's own device row: active (approved, not revoked) and theirs. Unbound service tokens have no
 * device, so they cannot take part in MLS through these routes (`forbidden`).
 */
export async function ownDevice(exec: Executor, principal: Principal): Promise<{ id: string; publicKey: string }> {
  const d = await exec
    .selectFrom('devices')
    .select(['id', 'public_key'])
    .where('id', '=', principal.deviceId)
    .where('user_id', '=', principal.userId)
    .where('revoked_at', 'is', null)
    .where('approved_at', 'is not', null)
    .executeTakeFirst();
  if (!d) throw new AppError('forbidden', 'MLS needs an active device with a device key');
  return { id: d.id, publicKey: d.public_key };
}

/** Decodes base64url; the schema has already checked the alphabet. */
export const fromB64Url = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64url'));
/** Encodes base64url without padding. */
export const toB64Url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
