import { PasskeyLoginOptionsRequest, PasskeyLoginRequest, PasskeyRegistrationRequest } from '@palisade/protocol';
import {
  finishPasskeyLogin,
  finishPasskeyRegistration,
  startPasskeyLogin,
  startPasskeyRegistration,
} from '../../auth/index.js';
import { route } from '../route.js';

/** WebAuthn passkeys: registration as a factor, and passwordless login. */
export const passkeyRoutes = [
  route({
    method: 'POST',
    url: '/v1/factors/passkey/options',
    access: 'factor.manage_own',
    summary: 'Options for registering a passkey (step-up when a factor exists)',
    handler: ({ deps, principal }) => startPasskeyRegistration(deps.auth, principal),
  }),
  route({
    method: 'POST',
    url: '/v1/factors/passkey',
    access: 'factor.manage_own',
    summary: 'Register the passkey; recovery codes when it is the first factor',
    body: PasskeyRegistrationRequest,
    status: 201,
    handler: ({ deps, principal, body, address }) =>
      finishPasskeyRegistration(deps.auth, principal, body.challengeId, body.response, body.label, address),
  }),
  route({
    // The optional user name is accepted for old clients and ignored: the options never depend on it (S20).
    method: 'POST',
    url: '/v1/login/passkey/options',
    access: 'public',
    summary: 'Options for a passwordless (discoverable) passkey login; rate-limited by address',
    body: PasskeyLoginOptionsRequest,
    handler: ({ deps, address }) => startPasskeyLogin(deps.auth, address),
  }),
  route({
    method: 'POST',
    url: '/v1/login/passkey',
    access: 'public',
    summary: 'Passwordless login with a passkey (user verification required) → a session',
    body: PasskeyLoginRequest,
    handler: ({ deps, body, address }) =>
      finishPasskeyLogin(deps.auth, body.challengeId, body.response, body.device, address),
  }),
];
