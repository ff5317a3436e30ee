import { AppError, type Principal } from '../core/index.js';
import type { Executor } from '../store/index.js';
import { accountCan, memberCan, type AccountPermission, type ConversationPermission, type MemberRole } from './permissions.js';

/** Throws `forbidden` unless the principal's account role grants `perm`. */
export function assertAccount(principal: Principal, perm: AccountPermission): void {
  if (!accountCan(principal.roles, perm)) throw new AppError('forbidden', `missing permission ${perm}`);
}

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
  const row = await exec
    .selectFrom('members')
    .select('role')
    .where('conversation_id', '=', conversationId)
    .where('user_id', '=', principal.userId)
    .executeTakeFirst();
  if (!row) throw new AppError('not_found', 'no such conversation');
  if (!memberCan(row.role, perm)) throw new AppError('forbidden', `missing permission ${perm}`);
  return row.role;
}
