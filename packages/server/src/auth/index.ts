/**
 * Accounts and sessions: first-admin enrolment, invites, password policy, login with device
 * registration, session tokens bound to device keys, revocation.
 */
export { SESSIONS_REVOKED, type AuthDeps, type AuthPolicy, type SessionsRevoked } from './deps.js';
export { assertPasswordAcceptable, MIN_SINGLE_FACTOR_LENGTH, MAX_PASSWORD_LENGTH } from './password-policy.js';
export { issueBootstrapToken, createInvite, releaseInvite, enrol, checkEnrolToken, type EnrolInput } from './enrol.js';
export { login } from './login.js';
export { authenticateToken, checkSessions, touchSession, logout, revokeSessions, listMySessions, type AuthenticatedSession, type SessionCheck, type SessionProblem } from './sessions.js';
export { newChallenge, verifyDeviceProof } from './device-proof.js';
export { openSession, grantOrPending, type DeviceDescription } from './open-session.js';
export { hasActiveFactor, startTotpEnrolment, confirmTotp, listFactors, removeFactor, regenerateRecoveryCodes } from './factors.js';
export { completeMfaLogin, stepUp, verifyTotpFactor, failureDelayMs } from './mfa.js';
export { assertRecentStrongAuth } from './step-up.js';
export { resetFactors, disableUser, enableUser, listUsers } from './admin-actions.js';
export { deleteUser, getProfile, updateProfile, verifyEmail, applyIdpEmail, verifiedEmailOwner } from './profile.js';
export { listMyDevices, approveDevice, revokeDevice } from './devices.js';
export { createServiceAccount, issueServiceToken, revokeServiceToken, listServiceAccounts, authenticateServiceToken, SERVICE_TOKEN_PREFIX, MAX_SERVICE_TOKEN_DAYS } from './service-accounts.js';
export { assessLogin, decide, isKnownDevice, isKnownNetwork, networkOf, RISK_POLICY, type RiskAssessment, type RiskSignal } from './risk.js';
export { startPasskeyRegistration, finishPasskeyRegistration, startPasskeyLogin, finishPasskeyLogin, verifyUserPasskey, saveChallenge, startPasskeyStepUp, finishPasskeyStepUp } from './passkeys.js';
export { startSso, beginSso, ssoCallback, completeSso, idpAssertedMfa, ssoCookieName, SSO_LOOPBACK_PATH, type SsoLoopback } from './sso.js';
export type { SsoDeps } from './deps.js';
export { changePassword, MIN_MFA_PASSWORD_LENGTH } from './change-password.js';
export { purgeExpired, ExpiredRowSweeper, type PurgeReport } from './purge.js';
export { PENDING_ENROLMENT_TTL_MS } from './factor-changes.js';
