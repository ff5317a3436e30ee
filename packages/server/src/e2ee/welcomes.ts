import type { WelcomeView } from '@palisade/protocol';
import { AppError, type Principal } from '../core/index.js';
import type { E2eeDeps } from './deps.js';
import { toB64Url } from './device.js';

/** Most welcomes listed at once (oldest first); delete handled ones to see the next. */
const PAGE = 100;

/** This device's waiting Welcomes, oldest first. SECURITY: a device sees only its own. */
export async function listWelcomes(deps: E2eeDeps, principal: Principal): Promise<WelcomeView[]> {
  const rows = await deps.messaging.db
    .selectFrom('mls_welcomes')
    .select(['id', 'conversation_id', 'seq', 'data'])
    .where('device_id', '=', principal.deviceId)
    .orderBy('seq')
    .orderBy('id')
    .limit(PAGE)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    conversationId: r.conversation_id,
    seq: Number(r.seq),
    welcome: toB64Url(r.data),
  }));
}

/** Deletes one of this device's Welcomes (once processed). Another device's id is `not_found`. */
export async function deleteWelcome(deps: E2eeDeps, principal: Principal, id: string): Promise<void> {
  const r = await deps.messaging.db
    .deleteFrom('mls_welcomes')
    .where('id', '=', id)
    .where('device_id', '=', principal.deviceId)
    .executeTakeFirst();
  if (Number(r.numDeletedRows) === 0) throw new AppError('not_found', 'no such welcome');
}
