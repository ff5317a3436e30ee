import type { AccountRole } from '../core/index.js';

/** Conversation-level role of a member. */
export type MemberRole = 'owner' | 'admin' | 'member';

/** Permissions an account role grants (default deny: anything not listed is refused). */
export const ACCOUNT_PERMISSIONS = {
  admin: ['invite.create', 'session.revoke_any', 'conversation.create', 'session.manage_own', 'factor.manage_own', 'user.list'],
  member: ['conversation.create', 'session.manage_own', 'factor.manage_own'],
} as const satisfies Record<AccountRole, readonly string[]>;

/** Permissions a conversation role grants inside that conversation. */
export const MEMBER_PERMISSIONS = {
  owner: ['conversation.read', 'message.send', 'member.add', 'member.remove', 'member.leave', 'conversation.rename'],
  admin: ['conversation.read', 'message.send', 'member.add', 'member.remove', 'member.leave'],
  member: ['conversation.read', 'message.send', 'member.leave'],
} as const satisfies Record<MemberRole, readonly string[]>;

/** A permission named `resource.action`. */
export type AccountPermission = (typeof ACCOUNT_PERMISSIONS)[AccountRole][number];
export type ConversationPermission = (typeof MEMBER_PERMISSIONS)[MemberRole][number];
/** Every permission the server knows; transports name one of these (or `public`/`authenticated`) per operation. */
export type Permission = AccountPermission | ConversationPermission;

/** True when the account role grants `perm`. */
export function accountCan(role: AccountRole, perm: AccountPermission): boolean {
  return (ACCOUNT_PERMISSIONS[role] as readonly string[]).includes(perm);
}

/** True when the conversation role grants `perm`. */
export function memberCan(role: MemberRole, perm: ConversationPermission): boolean {
  return (MEMBER_PERMISSIONS[role] as readonly string[]).includes(perm);
}

/** The conversation roles that grant `perm` (for authorization folded into a write). */
export function rolesWith(perm: ConversationPermission): MemberRole[] {
  return (Object.keys(MEMBER_PERMISSIONS) as MemberRole[]).filter((r) => memberCan(r, perm));
}
