import { sql } from 'kysely';
import { prepared, type Executor } from '../store/index.js';

/** A device entitled to a leaf in a conversation's group. */
export interface EntitledDevice {
  userId: string;
  deviceId: string;
}

/**
 * The devices that should be in a conversation's group: every active (approved, not revoked) device
 * of every current member. An unbound service token has no device row and is never entitled; a bot
 * with a device-bound token is entitled through its own device like anyone.
 */
export async function entitledDevices(exec: Executor, conversationId: string): Promise<EntitledDevice[]> {
  const rows = await exec
    .selectFrom('devices')
    .innerJoin('members', 'members.user_id', 'devices.user_id')
    .select(['devices.id as deviceId', 'devices.user_id as userId'])
    .where('members.conversation_id', '=', conversationId)
    .where('devices.revoked_at', 'is', null)
    .where('devices.approved_at', 'is not', null)
    .orderBy('devices.user_id')
    .orderBy('devices.id')
    .execute();
  return rows;
}

/** The devices the committers declared to be in the group. */
export async function groupDevices(exec: Executor, conversationId: string): Promise<string[]> {
  const rows = await exec
    .selectFrom('mls_group_devices')
    .select('device_id')
    .where('conversation_id', '=', conversationId)
    .orderBy('device_id')
    .execute();
  return rows.map((r) => r.device_id);
}

const staleDevice = prepared<[conversationId: string], { one: number }>(
  1,
  (conversationId) => sql`SELECT 1 AS one FROM mls_group_devices g
    WHERE g.conversation_id = ${conversationId}
      AND NOT EXISTS (SELECT 1 FROM devices d JOIN members m ON m.user_id = d.user_id
                      WHERE d.id = g.device_id AND m.conversation_id = g.conversation_id
                        AND d.revoked_at IS NULL AND d.approved_at IS NOT NULL)
    LIMIT 1`,
);

/**
 * True when the group holds a device that is no longer entitled (revoked, or its user left).
 * One indexed query on the send path.
 */
export async function hasStaleDevice(exec: Executor, conversationId: string): Promise<boolean> {
  const r = await staleDevice(exec, conversationId);
  return r.rows.length > 0;
}
