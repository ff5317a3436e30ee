import {
  ChangePasswordRequest,
  CreateInviteRequest,
  EnrolCheckRequest,
  EnrolRequest,
  IdParams,
  LoginRequest,
  UpdateProfileRequest,
} from '@palisade/protocol';
import { AppError } from '../../core/index.js';
import {
  assertRecentStrongAuth,
  changePassword,
  checkEnrolToken,
  createInvite,
  enrol,
  getProfile,
  listMySessions,
  login,
  logout,
  revokeSessions,
  updateProfile,
} from '../../auth/index.js';
import { assertAccount, INVITE_APPROVAL_ACTION, requestApproval, TWO_PERSON_ROLES } from '../../rbac/index.js';
import { route } from '../route.js';

/** Enrolment, login, sessions and invites. */
export const accountRoutes = [
  route({
    method: 'POST',
    url: '/v1/enrol',
    access: 'public',
    summary: 'Create an account with a bootstrap or invite token',
    body: EnrolRequest,
    status: 201,
    handler: ({ deps, body, address }) => enrol(deps.auth, body, address),
  }),
  route({
    method: 'POST',
    url: '/v1/enrol/check',
    access: 'public',
    summary:
      "Whether a bootstrap or invite token can enrol now → {valid}, with reason 'pending' or 'invalid' when not (rate-limited with enrolment)",
    body: EnrolCheckRequest,
    handler: ({ deps, body, address }) => checkEnrolToken(deps.auth, body.token, address),
  }),
  route({
    method: 'POST',
    url: '/v1/login',
    access: 'public',
    summary: 'Log in with a password and a device key; returns a session token',
    body: LoginRequest,
    handler: ({ deps, body, address }) => login(deps.auth, body, address),
  }),
  route({
    method: 'POST',
    url: '/v1/logout',
    access: 'session.manage_own',
    summary: 'End this session (its sockets close)',
    handler: async ({ deps, principal, address }) => {
      await logout(deps.auth, principal, address);
    },
  }),
  route({
    method: 'POST',
    url: '/v1/password',
    access: 'session.manage_own',
    summary: 'Change my password (8+ with a second factor, else 15+; step-up; other sessions end)',
    body: ChangePasswordRequest,
    handler: async ({ deps, principal, body, address }) => {
      await changePassword(deps.auth, principal, body.currentPassword, body.newPassword, address);
    },
  }),
  route({
    method: 'GET',
    url: '/v1/me',
    access: 'authenticated',
    summary: 'Who am I',
    handler: async ({ deps, principal }) => ({
      userId: principal.userId,
      username: principal.username,
      roles: principal.roles,
      aal: principal.aal,
      deviceId: principal.deviceId,
      ...(await getProfile(deps.auth, principal)),
    }),
  }),
  route({
    method: 'PATCH',
    url: '/v1/me',
    access: 'authenticated',
    summary: 'Change my display name or e-mail (stored sealed)',
    body: UpdateProfileRequest,
    handler: async ({ deps, principal, body }) => {
      await updateProfile(deps.auth, principal, body);
    },
  }),
  route({
    method: 'GET',
    url: '/v1/sessions',
    access: 'session.manage_own',
    summary: 'My open sessions',
    handler: async ({ deps, principal }) => ({ sessions: await listMySessions(deps.auth, principal) }),
  }),
  route({
    method: 'DELETE',
    url: '/v1/sessions/:id',
    access: 'session.manage_own',
    summary: 'End one of my sessions',
    params: IdParams,
    handler: async ({ deps, principal, params, address }) => {
      const mine = await listMySessions(deps.auth, principal);
      // SECURITY: object-level check: only the caller's own sessions.
      if (!mine.some((s) => s.id === params.id)) throw new AppError('not_found', 'no such session');
      await revokeSessions(deps.auth, principal.userId, { sessionId: params.id }, address);
    },
  }),
  route({
    method: 'POST',
    url: '/v1/invites',
    access: 'invite.create',
    summary:
      'Create a one-time invite token (admin; grants need role.grant and a step-up; org_admin or security_admin also a second person)',
    body: CreateInviteRequest,
    status: 201,
    handler: async ({ deps, principal, body }) => {
      let approvalId: string | undefined;
      if (body.grants.length > 0) {
        // SECURITY (S3): granting roles through an invite is a role grant: role.grant and a recent
        // step-up (with a device-bound passkey when adminsRequirePhishingResistant is on).
        assertAccount(principal, 'role.grant');
        assertRecentStrongAuth(deps.auth, principal);
        // Administrative roles need a second person: the invite is unusable until one approves.
        const admin = body.grants.filter((g) => TWO_PERSON_ROLES.has(g));
        if (admin.length > 0)
          approvalId = await requestApproval(
            deps.rbac,
            principal,
            INVITE_APPROVAL_ACTION,
            { role: body.role, grants: body.grants },
            `invite a ${body.role} with ${body.grants.join(', ')}`,
          );
      }
      const inv = await createInvite(deps.auth, principal.userId, { ...body, ...(approvalId ? { approvalId } : {}) });
      return {
        token: inv.token,
        expiresAt: new Date(inv.expiresAt).toISOString(),
        ...(approvalId ? { pendingApproval: approvalId } : {}),
      };
    },
  }),
  route({
    method: 'POST',
    url: '/v1/admin/users/:id/revoke-sessions',
    access: 'session.revoke_any',
    summary: 'End every session of a user (admin; needs a recent step-up)',
    params: IdParams,
    handler: async ({ deps, principal, params, address }) => {
      // SECURITY (S3): a stolen admin session must not be able to sign the defenders out.
      assertRecentStrongAuth(deps.auth, principal);
      return { revoked: await revokeSessions(deps.auth, principal.userId, { userId: params.id }, address) };
    },
  }),
];
