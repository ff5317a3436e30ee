import { z } from 'zod';
import { IdParams, SsoCompleteRequest, SsoStartRequest } from '@palisade/protocol';
import { beginSso, completeSso, ssoCallback, startSso } from '../../auth/index.js';
import { AppError } from '../../core/index.js';
import { route } from '../route.js';

const CallbackQuery = z.record(z.string().max(64), z.string().max(4096));
const BeginQuery = z.strictObject({
  k: z
    .string()
    .min(16)
    .max(128)
    .regex(/^[A-Za-z0-9_-]+$/),
});

/** The cookies of a request (`name=value; ...`); malformed pairs are skipped. */
function cookiesOf(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/**
 * Single sign-on with OpenID Connect: start on a device, open the device's one-time link in the browser
 * on that device (it binds the browser with a cookie and goes on to the IdP), sign in at the IdP, and
 * collect the session on the device. In loopback mode (RFC 8252, preferred) the callback redirects the
 * browser to the device's listener on 127.0.0.1 with a one-time completion secret the device must show.
 */
export const ssoRoutes = [
  route({
    method: 'POST',
    url: '/v1/sso/start',
    access: 'public',
    summary: 'Begin single sign-on for this device (optionally ending at its loopback listener) → {ssoId, browserUrl}',
    body: SsoStartRequest,
    handler: async ({ deps, body, address }) => {
      const s = deps.auth.sso;
      if (!s) throw new AppError('sso_not_configured');
      const r = await startSso(deps.auth, body.device, address, body.loopback);
      const browserUrl = new URL(`/v1/sso/begin/${r.ssoId}`, s.redirectUri);
      browserUrl.searchParams.set('k', r.beginSecret);
      return { ssoId: r.ssoId, browserUrl: browserUrl.href, expiresAt: r.expiresAt };
    },
  }),
  route({
    method: 'GET',
    url: '/v1/sso/begin/:id',
    access: 'public',
    summary:
      "The device's one-time browser link: binds this browser to the sign-on (cookie), then redirects to the IdP",
    params: IdParams,
    query: BeginQuery,
    handler: async ({ deps, params, query, address, reply }) => {
      const r = await beginSso(deps.auth, params.id, query.k, address);
      // SECURITY (S1): httpOnly (no script reads it), Secure + __Host- (HTTPS, this host only), SameSite=Lax
      // (sent on the IdP's top-level redirect back, not on cross-site subrequests), short-lived.
      reply.header(
        'set-cookie',
        `${r.cookie.name}=${r.cookie.value}; Path=/; Max-Age=${r.cookie.maxAgeSeconds}; HttpOnly; Secure; SameSite=Lax`,
      );
      return reply.redirect(r.authorizationUrl, 302);
    },
  }),
  route({
    method: 'GET',
    url: '/v1/sso/callback',
    access: 'public',
    summary:
      "The identity provider's redirect (authorization code with PKCE, state and nonce; the browser-binding cookie); in loopback mode a 303 to the device's listener",
    query: CallbackQuery,
    handler: async ({ deps, query, address, headers, reply }) => {
      if (!deps.auth.sso) throw new AppError('sso_not_configured');
      const url = new URL(deps.auth.sso.redirectUri);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
      const { device, redirect } = await ssoCallback(deps.auth, url, cookiesOf(headers.cookie), address);
      // SECURITY (S1): the completion secret travels only in this redirect to the browser's own loopback
      // (no-store and no-referrer come with every response).
      if (redirect) return reply.redirect(redirect, 303);
      return {
        status: 'signed_in',
        device,
        message: `You signed in the device "${device.name}" (${device.platform}); return to it. If you did not just start this sign-in on that device, sign out its session at once from another device or tell your security team.`,
      };
    },
  }),
  route({
    method: 'POST',
    url: '/v1/sso/complete',
    access: 'public',
    summary:
      'The starting device collects its session (signed with its key; the completion secret in loopback mode) → a session or {pending}',
    body: SsoCompleteRequest,
    handler: async ({ deps, body, address }) =>
      (await completeSso(deps.auth, body.ssoId, body.signature, address, body.completion)) ?? { pending: true },
  }),
];
