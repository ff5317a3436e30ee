/** Authorization: permissions as data, default deny, object-level checks on conversations. */
export {
  ACCOUNT_PERMISSIONS,
  ROLE_PERMISSIONS,
  BASE_ROLES,
  GRANTABLE_ROLES,
  type RoleName,
  MEMBER_PERMISSIONS,
  accountCan,
  memberCan,
  rolesWith,
  type MemberRole,
  type Permission,
  type AccountPermission,
  type ConversationPermission,
} from './permissions.js';
export { assertAccount, assertConversation, assertScope } from './assert.js';
export type { RbacDeps, ApprovedActionHandler } from './deps.js';
export { grantRole, completeRoleGrant, type GrantOutcome, revokeRole, requestElevation, approveElevation, listGrants, pendingElevations, MAX_ELEVATION_MINUTES } from './grants.js';
export { requestApproval, approve, pendingApprovals, APPROVAL_TTL_MS } from './approvals.js';
export { INVITE_APPROVAL_ACTION, ROLE_GRANT_ACTION, TWO_PERSON_ROLES, INDEPENDENCE_WINDOW_MS, assertIndependent } from './two-person.js';
export { auditRefusal, AUTHZ_REFUSED, REFUSALS_PER_WINDOW, REFUSAL_WINDOW_MS, type Refusal } from './refusals.js';
