import { recordAudit } from '../audit/index.js';
import { createServiceAccount, issueServiceToken, revokeSessions, type AuthDeps } from '../auth/index.js';
import { AppError, type DeviceId, type Principal, type SessionId, type UserId } from '../core/index.js';
import { randomId, randomKey } from '../crypto/index.js';
import { appendMessage, payloadAtRest, takeSeq, type MessagingDeps } from '../messaging/index.js';
import type { DrillFixtures } from './admin-drills.js';

/**
 * The actor of drill set-up done through the admin socket. SECURITY: the admin socket is trusted by
 * its file permissions (0600, the server's OS user), as for invites; this principal exists only inside
 * these two calls, holds no role, and is recorded as `admin-socket` in the audit log.
 */
function operator(deps: AuthDeps): Principal {
  return {
    userId: 'admin-socket' as UserId,
    username: 'admin-socket',
    roles: [],
    deviceId: 'admin-socket' as DeviceId,
    sessionId: 'admin-socket' as SessionId,
    aal: 2,
    strongAuthAt: deps.clock.now(),
    strongAuthMethod: 'admin_socket',
  };
}

/**
 * Drill set-up through auth's own operations: a service account with one narrowly scoped token, and
 * the disabling of synthetic accounts (`drill-*` users, and the drill's `bot.drill-*` service accounts
 * when the drill finishes). Every change is audited.
 */
export function drillFixtures(deps: AuthDeps, messaging?: MessagingDeps): DrillFixtures {
  const serviceAccounts = new Map<string, string[]>();
  const disable = async (drillId: string, userId: string, username: string): Promise<boolean> => {
    const now = deps.clock.now();
    const done = await deps.db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable('users')
        .set({ disabled_at: now })
        .where('id', '=', userId)
        .where('disabled_at', 'is', null)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await recordAudit(tx, deps.sealer, {
        at: now,
        actorId: null,
        action: 'user.disabled',
        target: userId,
        address: 'admin-socket',
        outcome: 'success',
        details: { username, drill: drillId, reason: 'drill clean-up' },
      });
      return true;
    });
    if (done) await revokeSessions(deps, null, { userId }, 'admin-socket');
    return done;
  };
  return {
    async fillConversation(drillId, username, conversationId, count) {
      if (!messaging) throw new AppError('unavailable', 'messaging is not wired into the drill set-up');
      const owner = await deps.db
        .selectFrom('users as u')
        .innerJoin('members as m', 'm.user_id', 'u.id')
        .select(['u.id', 'u.role'])
        .where('u.username', '=', username)
        .where('m.conversation_id', '=', conversationId)
        .where('m.role', '=', 'owner')
        .where('u.disabled_at', 'is', null)
        .executeTakeFirst();
      // SECURITY: only a conversation a synthetic drill account owns, and no other member in it.
      const others = await deps.db
        .selectFrom('members')
        .select('user_id')
        .where('conversation_id', '=', conversationId)
        .where('user_id', '!=', owner?.id ?? '')
        .executeTakeFirst();
      if (!owner || owner.role === 'service' || others)
        throw new AppError('not_found', "no conversation of this drill account's own");
      const author: Principal = { ...operator(deps), userId: owner.id as UserId, username, roles: ['member'] };
      for (let i = 0; i < count; i++) {
        const clientMsgId = `drill-fill-${randomId()}`;
        // Opaque bytes, as the server sees every MLS application message; nobody can read them.
        const payload = randomKey(64);
        const atRest = await payloadAtRest(messaging, author, conversationId, clientMsgId, payload);
        const publish = await deps.db.transaction().execute(async (tx) => {
          const seq = await takeSeq(tx, author, conversationId);
          return appendMessage(messaging, tx, author, seq, {
            conversationId,
            clientMsgId,
            payload,
            atRest,
            kind: 'mls',
          });
        });
        publish();
      }
      await recordAudit(deps.db, deps.sealer, {
        at: deps.clock.now(),
        actorId: null,
        action: 'drill.filled',
        target: conversationId,
        address: 'admin-socket',
        outcome: 'success',
        details: { drill: drillId, username, count },
      });
      return count;
    },
    async serviceToken(drillId) {
      const actor = operator(deps);
      const account = await createServiceAccount(deps, actor, `drill-${randomId().slice(0, 10)}`);
      // One conversation nobody has: every use of the token elsewhere is out of scope.
      const scopes = [{ action: 'conversation.read' as const, conversations: [randomId()] }];
      const token = await issueServiceToken(deps, actor, account.id, { scopes, expiresInDays: 1, ratePerMinute: 600 });
      serviceAccounts.set(drillId, [...(serviceAccounts.get(drillId) ?? []), account.id]);
      return { serviceUserId: account.id, token: token.token, scopes };
    },
    async disableAccount(drillId, username) {
      if (!username.startsWith('drill-')) return false;
      const user = await deps.db
        .selectFrom('users')
        .select(['id', 'role'])
        .where('username', '=', username)
        .executeTakeFirst();
      if (!user || user.role === 'service') return false;
      return disable(drillId, user.id, username);
    },
    async audit(drillAction, drillId, details) {
      await recordAudit(deps.db, deps.sealer, {
        at: deps.clock.now(),
        actorId: null,
        action: drillAction,
        target: drillId,
        address: 'admin-socket',
        outcome: 'success',
        details,
      });
    },
    async finish(drillId) {
      const ids = serviceAccounts.get(drillId) ?? [];
      serviceAccounts.delete(drillId);
      const names: string[] = [];
      for (const id of ids) {
        const u = await deps.db.selectFrom('users').select('username').where('id', '=', id).executeTakeFirst();
        if (u && (await disable(drillId, id, u.username))) names.push(u.username);
      }
      return names;
    },
  };
}
