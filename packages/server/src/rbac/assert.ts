import { AppError, type Principal } from '../core/index.js';
import { preparedQuery, type Executor } from '../store/index.js';
import {
  accountCan,
  memberCan,
  type AccountPermission,
  type ConversationPermission,
  type MemberRole,
} from './permissions.js';

/** Throws `forbidden` unless the principal's account role grants `perm`. */
export function assertAccount(principal: Principal, perm: AccountPermission): void {
  if (!accountCan(principal.roles, perm)) throw new AppError('forbidden', `missing permission ${perm}`);
}

/** A member's role (compiled once: nearly every conversation operation runs it). */
const memberRole = preparedQuery(2, (db, conversationId: string, userId: string) =>
  db.selectFrom('members').select('role').where('conversation_id', '=', conversationId).where('user_id', '=', userId),
);

/**
 * Checks object-level access to a conversation and returns the caller's role in it.
 * SECURITY: authorize before read. A non-member gets `not_found`, so conversation ids do not leak.
 */
export async function assertConversation(
  exec: Executor,
  principal: Principal,
  conversationId: string,
  perm: ConversationPermission,
): Promise<MemberRole> {
  assertScope(principal, perm, conversationId);
  const row = (await memberRole(exec, conversationId, principal.userId)).rows[0];
  if (!row) throw new AppError('not_found', 'no such conversation');
  if (!memberCan(row.role, perm)) throw new AppError('forbidden', `missing permission ${perm}`);
  return row.role;
}

/**
 * SECURITY: a service token acts only within its scopes, on top of membership. Users have no scopes
 * and pass. Every conversation operation calls this (directly or through assertConversation).
 */
export function assertScope(principal: Principal, perm: ConversationPermission, conversationId: string): void {
  if (
    principal.scopes &&
    !principal.scopes.some(
      (s) => s.action === perm && (s.conversations === '*' || s.conversations.includes(conversationId)),
    )
  ) {
    throw new AppError('forbidden', `the token has no scope for ${perm} on this conversation`);
  }
}
