import type { ConversationView } from '@palisade/protocol';
import { AppError, type Principal } from '../core/index.js';
import { randomId } from '../crypto/index.js';
import { openColumn, scopeOf, sealColumn } from '../keys/index.js';
import { recordAudit } from '../audit/index.js';
import { assertAccount, assertConversation, assertScope, type MemberRole } from '../rbac/index.js';
import { isUniqueViolation, type Executor, type Tx } from '../store/index.js';
import type { MessagingDeps } from './deps.js';
import { MEMBERS_CHANGED, type MembersChanged } from './events.js';

async function userIdsByName(exec: Executor, usernames: string[]): Promise<Map<string, string>> {
  if (usernames.length === 0) return new Map();
  const rows = await exec
    .selectFrom('users')
    .select(['id', 'username'])
    .where('username', 'in', usernames)
    .where('disabled_at', 'is', null)
    .execute();
  return new Map(rows.map((r) => [r.username, r.id]));
}

/**
 * Writes `conversation.members_changed` to the outbox inside the membership change's transaction
 * (a reliable event: it invalidates the caches that decide who receives a message); the returned
 * function publishes it after COMMIT.
 */
async function membersChanged(tx: Executor, deps: MessagingDeps, data: MembersChanged): Promise<() => void> {
  const id = await deps.outbox.record(tx, MEMBERS_CHANGED, data);
  return () => deps.outbox.published(id, { type: MEMBERS_CHANGED, data });
}

/** Seals a conversation's name or topic (its scope must be prepared). */
const sealConv = (deps: MessagingDeps, id: string, column: 'name' | 'topic', v: string | null | undefined) =>
  sealColumn(deps.sealer, 'conversations', column, id, v, scopeOf.conversation(id));

async function insertConversation(
  tx: Tx,
  deps: MessagingDeps,
  id: string,
  kind: 'direct' | 'group',
  text: { name?: string; topic?: string },
  directKey: string | null,
  members: [string, MemberRole][],
) {
  const now = deps.clock.now();
  await tx
    .insertInto('conversations')
    .values({
      id,
      kind,
      name: sealConv(deps, id, 'name', text.name),
      topic: sealConv(deps, id, 'topic', text.topic),
      direct_key: directKey,
      last_seq: 0,
      created_at: now,
    })
    .execute();
  await tx
    .insertInto('members')
    .values(
      members.map(([userId, role]) => ({ conversation_id: id, user_id: userId, role, joined_seq: 0, joined_at: now })),
    )
    .execute();
  return id;
}

/** Returns the direct conversation between the caller and `peer`, creating it on first use. */
export async function openDirect(
  deps: MessagingDeps,
  principal: Principal,
  peer: string,
): Promise<{ id: string; created: boolean }> {
  assertAccount(principal, 'conversation.create');
  const peerId = (await userIdsByName(deps.db, [peer])).get(peer);
  if (!peerId || peerId === principal.userId) throw new AppError('not_found', 'no such user');
  const directKey = [principal.userId, peerId].sort().join(':');
  const existing = await deps.db
    .selectFrom('conversations')
    .select('id')
    .where('direct_key', '=', directKey)
    .executeTakeFirst();
  if (existing) return { id: existing.id, created: false };
  try {
    const { id, publish } = await deps.db.transaction().execute(async (tx) => {
      const id = await insertConversation(tx, deps, randomId(), 'direct', {}, directKey, [
        [principal.userId, 'member'],
        [peerId, 'member'],
      ]);
      return {
        id,
        publish: await membersChanged(tx, deps, { conversationId: id, added: [principal.userId, peerId], removed: [] }),
      };
    });
    publish();
    return { id, created: true };
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    const row = await deps.db
      .selectFrom('conversations')
      .select('id')
      .where('direct_key', '=', directKey)
      .executeTakeFirstOrThrow();
    return { id: row.id, created: false };
  }
}

/**
 * Creates a group owned by the caller with the named members. Unknown names are refused together.
 * SECURITY: name and topic are sealed under the conversation's own data key.
 */
export async function createGroup(
  deps: MessagingDeps,
  principal: Principal,
  name: string,
  usernames: string[],
  topic?: string,
): Promise<string> {
  assertAccount(principal, 'conversation.create');
  const unique = [...new Set(usernames.filter((u) => u !== principal.username))];
  const ids = await userIdsByName(deps.db, unique);
  const missing = unique.filter((u) => !ids.has(u));
  if (missing.length > 0)
    throw new AppError('not_found', `unknown users: ${missing.join(', ')}`, { details: { missing } });
  const members: [string, MemberRole][] = [
    [principal.userId, 'owner'],
    ...[...ids.values()].map((id): [string, MemberRole] => [id, 'member']),
  ];
  const id = randomId();
  await deps.sealer.prepare(scopeOf.conversation(id));
  const publish = await deps.db.transaction().execute(async (tx) => {
    await insertConversation(tx, deps, id, 'group', { name, ...(topic ? { topic } : {}) }, null, members);
    return membersChanged(tx, deps, { conversationId: id, added: members.map(([u]) => u), removed: [] });
  });
  publish();
  return id;
}

/** Adds a member to a group; needs `member.add` in it. */
export async function addMember(
  deps: MessagingDeps,
  principal: Principal,
  conversationId: string,
  username: string,
  role: 'admin' | 'member',
): Promise<string> {
  const { userId, publish } = await deps.db.transaction().execute(async (tx) => {
    await assertConversation(tx, principal, conversationId, 'member.add');
    const conv = await tx
      .selectFrom('conversations')
      .select(['kind', 'last_seq'])
      .where('id', '=', conversationId)
      .executeTakeFirstOrThrow();
    if (conv.kind !== 'group') throw new AppError('forbidden', 'direct conversations have exactly two members');
    const uid = (await userIdsByName(tx, [username])).get(username);
    if (!uid) throw new AppError('not_found', 'no such user');
    try {
      await tx
        .insertInto('members')
        .values({
          conversation_id: conversationId,
          user_id: uid,
          role,
          joined_seq: Number(conv.last_seq),
          joined_at: deps.clock.now(),
        })
        .execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw new AppError('already_member');
      throw e;
    }
    await recordAudit(tx, deps.sealer, {
      at: deps.clock.now(),
      actorId: principal.userId,
      action: 'member.added',
      target: `${conversationId}/${uid}`,
      outcome: 'success',
    });
    return { userId: uid, publish: await membersChanged(tx, deps, { conversationId, added: [uid], removed: [] }) };
  });
  publish();
  return userId;
}

/**
 * Removes a member (or the caller leaves). Removing others needs `member.remove`; owners cannot be
 * removed by admins.
 */
export async function removeMember(
  deps: MessagingDeps,
  principal: Principal,
  conversationId: string,
  userId: string,
): Promise<void> {
  const publish = await deps.db.transaction().execute(async (tx) => {
    const self = userId === principal.userId;
    const myRole = await assertConversation(tx, principal, conversationId, self ? 'member.leave' : 'member.remove');
    const conv = await tx
      .selectFrom('conversations')
      .select('kind')
      .where('id', '=', conversationId)
      .executeTakeFirstOrThrow();
    if (conv.kind !== 'group') throw new AppError('forbidden', 'cannot leave a direct conversation');
    const target = await tx
      .selectFrom('members')
      .select('role')
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!target) throw new AppError('not_found', 'not a member');
    if (!self && target.role === 'owner' && myRole !== 'owner')
      throw new AppError('forbidden', 'only an owner can remove an owner');
    await tx
      .deleteFrom('members')
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .execute();
    await recordAudit(tx, deps.sealer, {
      at: deps.clock.now(),
      actorId: principal.userId,
      action: 'member.removed',
      target: `${conversationId}/${userId}`,
      outcome: 'success',
    });
    return membersChanged(tx, deps, { conversationId, added: [], removed: [userId] });
  });
  publish();
}

/** Renames a group or changes its topic (`conversation.rename`, owners). A null topic clears it. */
export async function updateConversation(
  deps: MessagingDeps,
  principal: Principal,
  conversationId: string,
  change: { name?: string; topic?: string | null },
): Promise<void> {
  // SECURITY: authorize before creating anything: the data key is prepared (and created if missing)
  // only for a group the caller may rename. Checked again inside the transaction.
  await assertRenamable(deps.db, principal, conversationId);
  await deps.sealer.prepare(scopeOf.conversation(conversationId));
  await deps.db.transaction().execute(async (tx) => {
    await assertRenamable(tx, principal, conversationId);
    await tx
      .updateTable('conversations')
      .set({
        ...(change.name !== undefined ? { name: sealConv(deps, conversationId, 'name', change.name) } : {}),
        ...(change.topic !== undefined ? { topic: sealConv(deps, conversationId, 'topic', change.topic) } : {}),
      })
      .where('id', '=', conversationId)
      .execute();
    await recordAudit(tx, deps.sealer, {
      at: deps.clock.now(),
      actorId: principal.userId,
      action: 'conversation.updated',
      target: conversationId,
      outcome: 'success',
      details: { fields: Object.keys(change) },
    });
  });
}

async function assertRenamable(exec: Executor, principal: Principal, conversationId: string): Promise<void> {
  await assertConversation(exec, principal, conversationId, 'conversation.rename');
  const conv = await exec
    .selectFrom('conversations')
    .select('kind')
    .where('id', '=', conversationId)
    .executeTakeFirstOrThrow();
  if (conv.kind !== 'group') throw new AppError('forbidden', 'direct conversations have no name or topic');
}

/**
 * Deletes a group (`conversation.delete`, owners): its messages, members and cursors go, and its data
 * key is destroyed (crypto-shredding), so no copy of its rows, not even an old backup that lacks the
 * key, can be read again. The key is destroyed after the rows commit; a crash in between leaves an
 * empty conversation whose key the next deletion attempt destroys.
 */
export async function deleteConversation(
  deps: MessagingDeps,
  principal: Principal,
  conversationId: string,
): Promise<{ members: string[] }> {
  const { members, publish } = await deps.db.transaction().execute(async (tx) => {
    await assertConversation(tx, principal, conversationId, 'conversation.delete');
    const ids = (
      await tx.selectFrom('members').select('user_id').where('conversation_id', '=', conversationId).execute()
    ).map((m) => m.user_id);
    await tx.deleteFrom('messages').where('conversation_id', '=', conversationId).execute();
    await tx.deleteFrom('device_cursors').where('conversation_id', '=', conversationId).execute();
    await tx.deleteFrom('read_cursors').where('conversation_id', '=', conversationId).execute();
    // The conversation's MLS group goes with it (its GroupInfo, roster and unclaimed Welcomes).
    for (const t of ['mls_welcomes', 'mls_group_devices', 'mls_groups'] as const)
      await tx.deleteFrom(t).where('conversation_id', '=', conversationId).execute();
    await tx.deleteFrom('members').where('conversation_id', '=', conversationId).execute();
    await tx.deleteFrom('conversations').where('id', '=', conversationId).execute();
    await recordAudit(tx, deps.sealer, {
      at: deps.clock.now(),
      actorId: principal.userId,
      action: 'conversation.deleted',
      target: conversationId,
      outcome: 'success',
    });
    return { members: ids, publish: await membersChanged(tx, deps, { conversationId, added: [], removed: ids }) };
  });
  await deps.sealer.destroyScope(scopeOf.conversation(conversationId));
  publish();
  return { members };
}

/** The caller's conversations with their members. */
export async function listConversations(deps: MessagingDeps, principal: Principal): Promise<ConversationView[]> {
  const member = await deps.db
    .selectFrom('members as m')
    .innerJoin('conversations as c', 'c.id', 'm.conversation_id')
    .select(['c.id', 'c.kind', 'c.name', 'c.topic', 'c.last_seq', 'm.role'])
    .where('m.user_id', '=', principal.userId)
    .orderBy('c.created_at')
    .execute();
  // SECURITY: a service token sees only the conversations its scopes allow it to read.
  const mine = member.filter((c) => {
    try {
      assertScope(principal, 'conversation.read', c.id);
      return true;
    } catch {
      return false;
    }
  });
  if (mine.length === 0) return [];
  const all = await deps.db
    .selectFrom('members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['m.conversation_id', 'm.user_id', 'm.role', 'u.username'])
    .where(
      'm.conversation_id',
      'in',
      mine.map((c) => c.id),
    )
    .execute();
  const texts = await Promise.all(
    mine.map(async (c) => ({
      name: await openColumn(deps.sealer, 'conversations', 'name', c.id, c.name),
      topic: await openColumn(deps.sealer, 'conversations', 'topic', c.id, c.topic),
    })),
  );
  return mine.map((c, i) => ({
    id: c.id,
    kind: c.kind,
    name: texts[i]!.name,
    topic: texts[i]!.topic,
    role: c.role,
    lastSeq: Number(c.last_seq),
    members: all
      .filter((m) => m.conversation_id === c.id)
      .map((m) => ({ userId: m.user_id, username: m.username, role: m.role })),
  }));
}

/** A conversation's kind and member user ids (for fan-out; no access check). Undefined if it does not exist. */
export async function conversationMembers(
  exec: Executor,
  conversationId: string,
): Promise<{ kind: 'direct' | 'group'; userIds: string[] } | undefined> {
  const conv = await exec
    .selectFrom('conversations')
    .select('kind')
    .where('id', '=', conversationId)
    .executeTakeFirst();
  if (!conv) return undefined;
  const rows = await exec
    .selectFrom('members')
    .select('user_id')
    .where('conversation_id', '=', conversationId)
    .execute();
  return { kind: conv.kind, userIds: rows.map((r) => r.user_id) };
}
