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
export { assertAccount, assertConversation } from './assert.js';
