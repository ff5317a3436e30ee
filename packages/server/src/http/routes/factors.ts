import { z } from 'zod';
import { IdParams, MfaLoginRequest, TotpCodeRequest } from '@palisade/protocol';
import {
  completeMfaLogin,
  confirmTotp,
  listFactors,
  regenerateRecoveryCodes,
  removeFactor,
  startTotpEnrolment,
  stepUp,
} from '../../auth/index.js';
import { route } from '../route.js';

/** A factor id: a server id, or a passkey's credential id (base64url, up to 1023 bytes by WebAuthn). */
const FactorIdParams = z.strictObject({
  id: z
    .string()
    .min(1)
    .max(1366)
    .regex(/^[A-Za-z0-9_-]+$/, 'url-safe characters only'),
});

/** Second factors: the MFA login step, step-up, and managing one's own factors. */
export const factorRoutes = [
  route({
    method: 'POST',
    url: '/v1/login/mfa',
    access: 'public',
    summary: 'Finish a login with a TOTP code or a recovery code',
    body: MfaLoginRequest,
    handler: ({ deps, body, address }) => completeMfaLogin(deps.auth, body, address),
  }),
  route({
    method: 'POST',
    url: '/v1/step-up',
    access: 'factor.manage_own',
    summary: 'Re-verify the second factor before a sensitive action',
    body: TotpCodeRequest,
    handler: async ({ deps, principal, body, address }) => {
      await stepUp(deps.auth, principal, body.code, address);
    },
  }),
  route({
    method: 'GET',
    url: '/v1/factors',
    access: 'factor.manage_own',
    summary: 'My second factors (apps and passkeys, with their assurance) and recovery codes left',
    handler: ({ deps, principal }) => listFactors(deps.auth, principal),
  }),
  route({
    method: 'POST',
    url: '/v1/factors/totp',
    access: 'factor.manage_own',
    summary: 'Start enrolling an authenticator app (secret shown once)',
    status: 201,
    handler: ({ deps, principal }) => startTotpEnrolment(deps.auth, principal),
  }),
  route({
    method: 'POST',
    url: '/v1/factors/totp/:id/confirm',
    access: 'factor.manage_own',
    summary: 'Confirm the app with a first code; returns recovery codes once',
    params: IdParams,
    body: TotpCodeRequest,
    handler: ({ deps, principal, params, body, address }) =>
      confirmTotp(deps.auth, principal, params.id, body.code, address),
  }),
  route({
    method: 'DELETE',
    url: '/v1/factors/:id',
    access: 'factor.manage_own',
    summary: 'Remove a factor, app or passkey (needs a recent step-up; other sessions end)',
    params: FactorIdParams,
    handler: async ({ deps, principal, params, address }) => {
      await removeFactor(deps.auth, principal, params.id, address);
    },
  }),
  route({
    method: 'POST',
    url: '/v1/factors/recovery-codes',
    access: 'factor.manage_own',
    summary: 'Replace my recovery codes (needs a recent step-up)',
    status: 201,
    handler: ({ deps, principal }) => regenerateRecoveryCodes(deps.auth, principal),
  }),
];
