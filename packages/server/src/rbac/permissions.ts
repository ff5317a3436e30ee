/**
 * Permissions as data. An account holds a base role (member or guest) and may hold further roles by
 * grant (standing, or just-in-time with an expiry). Anything not granted is denied.
 */
import type { AccountRoleName } from '@palisade/protocol';

/** Conversation-level role of a member. */
export type MemberRole = 'owner' | 'admin' | 'member';

const SELF_SERVICE = ['session.manage_own', 'factor.manage_own', 'device.manage_own'] as const;

/**
 * Every account role and the permissions it grants. Duties are separated: no role both manages users
 * or security and reads or exports the audit trail (a test enforces this).
 */
export const ROLE_PERMISSIONS = {
  guest: [...SELF_SERVICE],
  /** Service accounts hold no account permission; their tokens' scopes say what they may do. */
  service: [],
  member: [...SELF_SERVICE, 'conversation.create', 'elevation.request'],
  moderator: ['conversation.moderate'],
  auditor: ['audit.read'],
  compliance_officer: ['audit.export'],
  security_admin: [
    'user.list',
    'session.revoke_any',
    'device.revoke_any',
    'factor.reset_any',
    'policy.manage',
    'elevation.approve',
    'alert.manage',
  ],
  org_admin: [
    'user.list',
    'user.disable',
    'invite.create',
    'role.grant',
    'elevation.approve',
    'service_account.manage',
  ],
} as const satisfies Record<AccountRoleName, readonly string[]>;

/** Name of an account role (the catalogue is `BASE_ROLES` + `GRANTABLE_ROLES` in @palisade/protocol). */
export type RoleName = keyof typeof ROLE_PERMISSIONS;

/** Permissions a conversation role grants inside that conversation. */
export const MEMBER_PERMISSIONS = {
  owner: [
    'conversation.read',
    'message.send',
    'member.add',
    'member.remove',
    'member.leave',
    'conversation.rename',
    'conversation.delete',
  ],
  admin: ['conversation.read', 'message.send', 'member.add', 'member.remove', 'member.leave'],
  member: ['conversation.read', 'message.send', 'member.leave'],
} as const satisfies Record<MemberRole, readonly string[]>;

/** A permission an account role grants. */
export type AccountPermission = (typeof ROLE_PERMISSIONS)[RoleName][number];
/** A permission a conversation role grants. */
export type ConversationPermission = (typeof MEMBER_PERMISSIONS)[MemberRole][number];
/** Every permission the server knows; transports name one of these (or `public`/`authenticated`) per operation. */
export type Permission = AccountPermission | ConversationPermission;

/** Kept for callers that list account permissions by role. */
export const ACCOUNT_PERMISSIONS = ROLE_PERMISSIONS;

/** True when any of the roles grants `perm`. Unknown role names grant nothing. */
export function accountCan(roles: readonly string[], perm: AccountPermission): boolean {
  return roles.some(
    (r) => Object.hasOwn(ROLE_PERMISSIONS, r) && (ROLE_PERMISSIONS[r as RoleName] as readonly string[]).includes(perm),
  );
}

/** True when the conversation role grants `perm`. */
export function memberCan(role: MemberRole, perm: ConversationPermission): boolean {
  return (MEMBER_PERMISSIONS[role] as readonly string[]).includes(perm);
}

/** The conversation roles that grant `perm` (for authorization folded into a write). */
export function rolesWith(perm: ConversationPermission): MemberRole[] {
  return (Object.keys(MEMBER_PERMISSIONS) as MemberRole[]).filter((r) => memberCan(r, perm));
}
