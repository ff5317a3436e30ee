/**
 * Accounts and sessions: first-admin enrolment, invites, password policy, login with device
 * registration, session tokens bound to device keys, revocation.
 */
export { SESSIONS_REVOKED, type AuthDeps, type SessionsRevoked } from './deps.js';
export { issueBootstrapToken, createInvite, releaseInvite, enrol, checkEnrolToken } from './enrol.js';
export { login } from './login.js';
export {
  authenticateToken,
  checkSessions,
  touchSession,
  logout,
  revokeSessions,
  listMySessions,
  type SessionProblem,
} from './sessions.js';
export { newChallenge, verifyDeviceProof } from './device-proof.js';
export { startTotpEnrolment, confirmTotp, listFactors, removeFactor, regenerateRecoveryCodes } from './factors.js';
export { completeMfaLogin, stepUp, failureDelayMs } from './mfa.js';
export { assertRecentStrongAuth } from './step-up.js';
export { resetFactors, disableUser, enableUser, listUsers } from './admin-actions.js';
export { deleteUser, getProfile, updateProfile, verifyEmail } from './profile.js';
export { listMyDevices, approveDevice, revokeDevice } from './devices.js';
export {
  createServiceAccount,
  issueServiceToken,
  revokeServiceToken,
  listServiceAccounts,
  authenticateServiceToken,
  authenticateServiceTokenDevice,
  SERVICE_TOKEN_PREFIX,
} from './service-accounts.js';
export { decide, networkOf, RISK_POLICY } from './risk.js';
export {
  startPasskeyRegistration,
  finishPasskeyRegistration,
  startPasskeyLogin,
  finishPasskeyLogin,
  startPasskeyStepUp,
  finishPasskeyStepUp,
} from './passkeys.js';
export { startSso, beginSso, ssoCallback } from './sso.js';
export { completeSso } from './sso-complete.js';
export type { SsoDeps } from './deps.js';
export { changePassword } from './change-password.js';
export { purgeExpired, ExpiredRowSweeper } from './purge.js';
export { revokeSessionsInTx, publishRevoked } from './sessions.js';
