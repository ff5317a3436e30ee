import {
  ApprovalRequest,
  ElevationRequest,
  GrantRoleRequest,
  IdParams,
  UserRoleParams,
  UsersQuery,
} from '@palisade/protocol';
import { deleteUser, disableUser, enableUser, listUsers, verifyEmail } from '../../auth/index.js';
import {
  approve,
  approveElevation,
  grantRole,
  listGrants,
  pendingApprovals,
  pendingElevations,
  requestApproval,
  requestElevation,
  revokeRole,
} from '../../rbac/index.js';
import { route } from '../route.js';

/** Administration: users, role grants, just-in-time elevation, and the two-person rule. */
export const adminRoutes = [
  route({
    method: 'GET',
    url: '/v1/admin/users',
    access: 'user.list',
    summary: 'Every account with its role, state and MFA (?email= finds one by e-mail)',
    query: UsersQuery,
    handler: async ({ deps, query }) => ({ users: await listUsers(deps.auth, query) }),
  }),
  route({
    method: 'DELETE',
    url: '/v1/admin/users/:id',
    access: 'user.disable',
    summary: 'Delete an account and destroy its data key (needs a recent step-up)',
    params: IdParams,
    handler: async ({ deps, principal, params, address }) => {
      await deleteUser(deps.auth, principal, params.id, address);
    },
  }),
  route({
    method: 'POST',
    url: '/v1/admin/users/:id/disable',
    access: 'user.disable',
    summary: 'Disable an account (its sessions end; needs a recent step-up)',
    params: IdParams,
    handler: async ({ deps, principal, params, address }) => {
      await disableUser(deps.auth, principal, params.id, address);
    },
  }),
  route({
    method: 'POST',
    url: '/v1/admin/users/:id/enable',
    access: 'user.disable',
    summary: 'Enable a disabled account again (needs a recent step-up; its old sessions stay ended)',
    params: IdParams,
    handler: async ({ deps, principal, params, address }) => {
      await enableUser(deps.auth, principal, params.id, address);
    },
  }),
  route({
    method: 'POST',
    url: '/v1/admin/users/:id/email/verify',
    access: 'user.disable',
    summary: "Mark a user's e-mail address as verified after checking it (it becomes unique and searchable)",
    params: IdParams,
    handler: async ({ deps, principal, params, address }) => verifyEmail(deps.auth, principal, params.id, address),
  }),
  route({
    method: 'GET',
    url: '/v1/admin/users/:id/roles',
    access: 'user.list',
    summary: 'Role grants of a user',
    params: IdParams,
    handler: async ({ deps, principal, params }) => ({ grants: await listGrants(deps.rbac, principal, params.id) }),
  }),
  route({
    method: 'POST',
    url: '/v1/admin/users/:id/roles',
    access: 'role.grant',
    summary:
      'Grant a standing role (needs a recent step-up; org_admin or security_admin waits for a second holder of role.grant: 202 with the approval id)',
    params: IdParams,
    body: GrantRoleRequest,
    status: 201,
    handler: async ({ deps, principal, params, body, reply }) => {
      const r = await grantRole(deps.rbac, principal, params.id, body.role, body.reason);
      // Nothing is granted yet: 202, and the second person approves POST /v1/approvals/:id/approve.
      if ('pendingApproval' in r) return reply.code(202).send(r);
      return r;
    },
  }),
  route({
    method: 'DELETE',
    url: '/v1/admin/users/:id/roles/:role',
    access: 'role.grant',
    summary: 'Revoke a role (needs a recent step-up)',
    params: UserRoleParams,
    handler: async ({ deps, principal, params }) => ({
      revoked: await revokeRole(deps.rbac, principal, params.id, params.role),
    }),
  }),
  route({
    method: 'POST',
    url: '/v1/elevations',
    access: 'elevation.request',
    summary: 'Ask for a role for a bounded time, with a reason',
    body: ElevationRequest,
    status: 201,
    handler: async ({ deps, principal, body }) => ({
      id: await requestElevation(deps.rbac, principal, body.role, body.minutes, body.reason),
    }),
  }),
  route({
    method: 'GET',
    url: '/v1/elevations',
    access: 'elevation.approve',
    summary: 'Elevations waiting for approval',
    handler: async ({ deps, principal }) => ({ elevations: await pendingElevations(deps.rbac, principal) }),
  }),
  route({
    method: 'POST',
    url: '/v1/elevations/:id/approve',
    access: 'elevation.approve',
    summary: "Approve another person's elevation (needs a recent step-up)",
    params: IdParams,
    handler: async ({ deps, principal, params }) => {
      const r = await approveElevation(deps.rbac, principal, params.id);
      return { expiresAt: new Date(r.expiresAt).toISOString() };
    },
  }),
  route({
    method: 'POST',
    url: '/v1/approvals',
    access: 'factor.reset_any',
    summary: 'Ask for a dangerous action; a second person must approve',
    body: ApprovalRequest,
    status: 201,
    handler: async ({ deps, principal, body }) => ({
      id: await requestApproval(deps.rbac, principal, body.action, { userId: body.userId }, body.reason),
    }),
  }),
  route({
    method: 'GET',
    url: '/v1/approvals',
    access: 'authenticated',
    summary: 'Requests I could approve',
    handler: async ({ deps, principal }) => ({ approvals: await pendingApprovals(deps.rbac, principal) }),
  }),
  route({
    // The permission depends on the request's action (factor.reset_any, role.grant): the domain checks it.
    method: 'POST',
    url: '/v1/approvals/:id/approve',
    access: 'authenticated',
    summary:
      "Approve and run another person's request (needs the action's permission, independence from the requester, and a recent step-up)",
    params: IdParams,
    handler: async ({ deps, principal, params }) => {
      await approve(deps.rbac, principal, params.id);
    },
  }),
];
