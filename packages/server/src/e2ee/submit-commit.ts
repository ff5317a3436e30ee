import type { MlsCommitRequest, MlsCommitResponse } from '@palisade/protocol';
import { recordAudit } from '../audit/index.js';
import { AppError, type Principal, type WelcomesStored } from '../core/index.js';
import { randomId } from '../crypto/index.js';
import { appendMessage, payloadAtRest, takeSeq } from '../messaging/index.js';
import { assertScope } from '../rbac/index.js';
import type { Tx } from '../store/index.js';
import { checkCommitShape, type CheckedCommit } from './commit-check.js';
import type { E2eeDeps } from './deps.js';
import { toB64Url } from './device.js';
import { entitledDevices, groupDevices } from './roster.js';
import { currentGroup } from './send-gate.js';

/** `mls.welcomes_stored` (reliable): realtime pushes each Welcome to its device. */
export const WELCOMES_STORED = 'mls.welcomes_stored';

const conflict = (currentEpoch: number) =>
  new AppError('epoch_conflict', `the group is at epoch ${currentEpoch}`, { details: { currentEpoch } });

/**
 * Accepts one commit for a conversation's group and appends it to the conversation's message sequence
 * (kind 'commit': the same seq counter, outbox, fan-out and catch-up as application messages).
 * SECURITY: exactly one commit per epoch. The transaction first takes the conversation's next seq,
 * which locks the conversation row (every send and commit of the conversation queues there), then
 * compares the stored epoch, so a second commit at one epoch always sees the first and gets
 * `epoch_conflict` with the current epoch, on SQLite and on PostgreSQL. Group state, roster, welcomes,
 * message, outbox rows and the audit record commit together or not at all.
 */
export async function submitCommit(
  deps: E2eeDeps,
  principal: Principal,
  conversationId: string,
  body: MlsCommitRequest,
): Promise<MlsCommitResponse> {
  const m = deps.messaging;
  const c = checkCommitShape(conversationId, body);
  // SECURITY: a bot (device-bound service token) commits only where its scopes let it send: the
  // member check in takeSeq knows nothing of scopes.
  assertScope(principal, 'message.send', conversationId);
  m.limiter.check('message.send', principal.deviceId);
  const clientMsgId = `mls-commit:${c.epoch}`; // ':' never occurs in a client's clientMsgId
  const atRest = await payloadAtRest(m, principal, conversationId, clientMsgId, c.commit);
  const { out, publish, welcomes } = await m.db.transaction().execute(async (tx) => {
    const seq = await takeSeq(tx, principal, conversationId);
    await applyToGroup(deps, tx, principal, conversationId, c);
    const publishMsg = await appendMessage(m, tx, principal, seq, {
      conversationId,
      clientMsgId,
      payload: c.commit,
      atRest,
      kind: 'commit',
    });
    const welcomes = await storeWelcomes(deps, tx, conversationId, seq, c);
    await recordAudit(tx, m.sealer, {
      at: m.clock.now(),
      actorId: principal.userId,
      action: 'mls.commit',
      target: conversationId,
      outcome: 'success',
      details: { epoch: c.epoch, added: c.added.length, removed: c.removed.length, external: c.external },
    });
    return { out: { seq, epoch: c.epoch + 1 }, publish: publishMsg, welcomes };
  });
  // Only now, after COMMIT, does anyone hear of it.
  publish();
  welcomes?.();
  return out;
}

/** Checks the epoch and the roster rules, then moves the group to the next epoch. */
async function applyToGroup(
  deps: E2eeDeps,
  tx: Tx,
  principal: Principal,
  conversationId: string,
  c: CheckedCommit,
): Promise<void> {
  const now = deps.messaging.clock.now();
  const g = await currentGroup(tx, conversationId);
  if (!g) {
    if (c.epoch !== 0) throw conflict(0);
    if (c.external) throw new AppError('invalid_mls_message', 'there is no group to join yet');
    if (!c.suiteGiven) throw new AppError('invalid_mls_message', 'the commit that creates the group names its suite');
    await tx
      .insertInto('mls_groups')
      .values({
        conversation_id: conversationId,
        group_id: new TextEncoder().encode(`palisade:${conversationId}`),
        epoch: 1,
        suite: c.suite,
        group_info: c.groupInfo,
        updated_at: now,
      })
      .execute();
  } else {
    if (c.epoch !== g.epoch) throw conflict(g.epoch);
    if (c.suite !== g.suite) throw new AppError('invalid_mls_message', 'the GroupInfo names another cipher suite');
    const r = await tx
      .updateTable('mls_groups')
      .set({ epoch: c.epoch + 1, group_info: c.groupInfo, updated_at: now })
      .where('conversation_id', '=', conversationId)
      .where('epoch', '=', c.epoch)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw conflict(g.epoch + 1); // belt and braces: the row lock decides
  }
  const entitled = new Map((await entitledDevices(tx, conversationId)).map((d) => [d.deviceId, d.userId]));
  // SECURITY: only an entitled device commits; a member commit comes from a device in the group.
  if (!entitled.has(principal.deviceId)) throw new AppError('forbidden', 'this device may not commit to the group');
  const inGroup = new Set(await groupDevices(tx, conversationId));
  if (g && !c.external && !inGroup.has(principal.deviceId))
    throw new AppError('forbidden', 'this device is not in the group: re-join by external commit');
  const notEntitled = c.added.filter((d) => !entitled.has(d));
  if (notEntitled.length > 0) throw new AppError('device_not_entitled', undefined, { details: { notEntitled } });
  if (c.removed.length > 0)
    await tx
      .deleteFrom('mls_group_devices')
      .where('conversation_id', '=', conversationId)
      .where('device_id', 'in', c.removed)
      .execute();
  const remaining = new Set([...inGroup].filter((d) => !c.removed.includes(d)));
  const joining = [...c.added, ...(c.external || !g ? [principal.deviceId] : [])].filter((d) => !remaining.has(d));
  for (const deviceId of new Set(joining))
    await tx
      .insertInto('mls_group_devices')
      .values({ conversation_id: conversationId, device_id: deviceId, user_id: entitled.get(deviceId) as string })
      .execute();
}

/** Stores a Welcome row per added device and its outbox event; returns the after-COMMIT publisher. */
async function storeWelcomes(
  deps: E2eeDeps,
  tx: Tx,
  conversationId: string,
  seq: number,
  c: CheckedCommit,
): Promise<(() => void) | undefined> {
  if (!c.welcome || c.added.length === 0) return undefined;
  const m = deps.messaging;
  const owners = new Map((await entitledDevices(tx, conversationId)).map((d) => [d.deviceId, d.userId]));
  const welcomes = c.added.map((deviceId) => ({ id: randomId(), deviceId, userId: owners.get(deviceId) as string }));
  await tx
    .insertInto('mls_welcomes')
    .values(
      welcomes.map((w) => ({
        id: w.id,
        conversation_id: conversationId,
        device_id: w.deviceId,
        seq,
        data: c.welcome as Uint8Array,
        created_at: m.clock.now(),
      })),
    )
    .execute();
  const data: WelcomesStored = { conversationId, seq, welcomes };
  const outboxId = await m.outbox.record(tx, WELCOMES_STORED, data);
  const welcome = toB64Url(c.welcome);
  return () => m.outbox.published(outboxId, { type: WELCOMES_STORED, data: { ...data, welcome } });
}
