/** Authorization: permissions as data, default deny, object-level checks on conversations. */
export {
  ACCOUNT_PERMISSIONS,
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
