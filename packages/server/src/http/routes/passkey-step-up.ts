import { z } from 'zod';
import { WebauthnResponse } from '@palisade/protocol';
import { finishPasskeyStepUp, startPasskeyStepUp } from '../../auth/index.js';
import { route } from '../route.js';

/** Step-up with a passkey (the AAL3 path for admin duties when the device-bound policy is on). */
export const passkeyStepUpRoutes = [
  route({
    method: 'POST',
    url: '/v1/step-up/passkey/options',
    access: 'factor.manage_own',
    summary: 'Options to step up with a passkey',
    handler: ({ deps, principal }) => startPasskeyStepUp(deps.auth, principal),
  }),
  route({
    method: 'POST',
    url: '/v1/step-up/passkey',
    access: 'factor.manage_own',
    summary: 'Step up with a passkey; a device-bound one gives AAL3',
    body: z.strictObject({ challengeId: z.string().min(1).max(64), response: WebauthnResponse }),
    handler: ({ deps, principal, body, address }) =>
      finishPasskeyStepUp(deps.auth, principal, body.challengeId, body.response, address),
  }),
];
