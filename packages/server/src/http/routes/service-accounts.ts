import { CreateServiceAccountRequest, IdParams, ServiceTokenParams, ServiceTokenRequest } from '@palisade/protocol';
import { createServiceAccount, issueServiceToken, listServiceAccounts, revokeServiceToken } from '../../auth/index.js';
import { route } from '../route.js';

/** Service accounts for bots and integrations: scoped, expiring, rotatable tokens. */
export const serviceAccountRoutes = [
  route({
    method: 'GET',
    url: '/v1/service-accounts',
    access: 'service_account.manage',
    summary: 'Service accounts and their tokens (never the secrets)',
    handler: async ({ deps }) => ({ serviceAccounts: await listServiceAccounts(deps.auth) }),
  }),
  route({
    method: 'POST',
    url: '/v1/service-accounts',
    access: 'service_account.manage',
    summary: 'Create a service account `bot.<name>`',
    body: CreateServiceAccountRequest,
    status: 201,
    handler: ({ deps, principal, body }) => createServiceAccount(deps.auth, principal, body.name),
  }),
  route({
    method: 'POST',
    url: '/v1/service-accounts/:id/tokens',
    access: 'service_account.manage',
    summary: 'Issue a scoped, expiring token (shown once; step-up)',
    params: IdParams,
    body: ServiceTokenRequest,
    status: 201,
    handler: ({ deps, principal, params, body }) => issueServiceToken(deps.auth, principal, params.id, body),
  }),
  route({
    method: 'DELETE',
    url: '/v1/service-accounts/:id/tokens/:tokenId',
    access: 'service_account.manage',
    summary: 'Revoke a token',
    params: ServiceTokenParams,
    handler: async ({ deps, principal, params }) => {
      await revokeServiceToken(deps.auth, principal, params.id, params.tokenId);
    },
  }),
];
