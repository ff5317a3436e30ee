/**
 * The account-role catalogue: the one place the role names are written (code review §5). The server's
 * permission table, its config schema, the admin CLI and the HTTP schemas all derive from these lists.
 */

/** Roles every account has exactly one of. `service` is a service account (scoped tokens, no login). */
export const BASE_ROLES = ['member', 'guest', 'service'] as const;

/** Base roles an invite can carry (a service account is created by an admin, never invited). */
export const INVITE_BASE_ROLES = ['member', 'guest'] as const satisfies readonly BaseRoleName[];

/** Roles that are granted on top of the base role, standing or just in time. */
export const GRANTABLE_ROLES = ['moderator', 'auditor', 'compliance_officer', 'security_admin', 'org_admin'] as const;

/**
 * SECURITY (S3, AAL3): the administrative roles. Nobody hands them out alone (a second admin
 * approves), and with `adminsRequirePhishingResistant` their holders step up with a device-bound passkey.
 */
export const ADMIN_ROLES = ['org_admin', 'security_admin'] as const satisfies readonly GrantableRoleName[];

/** Name of a base role. */
export type BaseRoleName = (typeof BASE_ROLES)[number];
/** Name of a base role an invite can carry. */
export type InviteBaseRoleName = (typeof INVITE_BASE_ROLES)[number];
/** Name of a grantable role. */
export type GrantableRoleName = (typeof GRANTABLE_ROLES)[number];
/** Name of any account role. */
export type AccountRoleName = BaseRoleName | GrantableRoleName;
