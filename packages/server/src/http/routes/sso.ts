import { z } from 'zod';
import { SsoCompleteRequest, SsoStartRequest } from '@palisade/protocol';
import { completeSso, ssoCallback, startSso } from '../../auth/index.js';
import { AppError } from '../../core/index.js';
import { route } from '../route.js';

const CallbackQuery = z.record(z.string().max(64), z.string().max(4096));

/** Single sign-on with OpenID Connect: start on a device, sign in at the IdP, collect on the device. */
export const ssoRoutes = [
  route({
    method: 'POST', url: '/v1/sso/start', access: 'public', summary: 'Begin single sign-on for this device → {ssoId, authorizationUrl}', body: SsoStartRequest,
    handler: ({ deps, body, address }) => startSso(deps.auth, body.device, address),
  }),
  route({
    method: 'GET', url: '/v1/sso/callback', access: 'public', summary: 'The identity provider\'s redirect (authorization code with PKCE, state and nonce)', query: CallbackQuery,
    handler: async ({ deps, query, address }) => {
      if (!deps.auth.sso) throw new AppError('sso_not_configured');
      const url = new URL(deps.auth.sso.redirectUri);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
      await ssoCallback(deps.auth, url, address);
      return { status: 'signed_in', message: 'You are signed in; return to your Palisade app.' };
    },
  }),
  route({
    method: 'POST', url: '/v1/sso/complete', access: 'public', summary: 'The starting device collects its session (signed with its key) → a session or {pending}', body: SsoCompleteRequest,
    handler: async ({ deps, body, address }) => (await completeSso(deps.auth, body.ssoId, body.signature, address)) ?? { pending: true },
  }),
];
