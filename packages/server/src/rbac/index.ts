/** Authorization: permissions as data, default deny, object-level checks on conversations. */
export {
  ACCOUNT_PERMISSIONS,
  ROLE_PERMISSIONS,
  MEMBER_PERMISSIONS,
  accountCan,
  rolesWith,
  type MemberRole,
  type Permission,
  type AccountPermission,
} from './permissions.js';
export { assertAccount, assertConversation, assertScope } from './assert.js';
export type { RbacDeps } from './deps.js';
export {
  grantRole,
  completeRoleGrant,
  type GrantOutcome,
  revokeRole,
  requestElevation,
  approveElevation,
  listGrants,
  pendingElevations,
} from './grants.js';
export { requestApproval, approve, pendingApprovals } from './approvals.js';
export { INVITE_APPROVAL_ACTION, ROLE_GRANT_ACTION, TWO_PERSON_ROLES } from './two-person.js';
export { auditRefusal, REFUSALS_PER_WINDOW, REFUSAL_WINDOW_MS } from './refusals.js';
