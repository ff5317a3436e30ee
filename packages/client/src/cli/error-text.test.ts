import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PalisadeError } from '../errors.js';
import { describeError } from './error-text.js';

describe('palisade-chat error lines', () => {
  // As if run directly (the test runner itself may run under npx or npm run).
  beforeEach(() => {
    vi.stubEnv('npm_command', undefined);
    vi.stubEnv('npm_lifecycle_event', undefined);
  });
  afterEach(() => vi.unstubAllEnvs());

  it('names the fields of a validation error and their reasons', () => {
    const e = new PalisadeError(
      {
        code: 'bad_request',
        message: 'invalid body',
        details: [{ path: 'body.name', message: 'contains a bidirectional control character' }],
      },
      400,
    );
    expect(describeError(e)).toBe('bad_request: name: contains a bidirectional control character.');
  });

  it('never doubles the full stop, and says which command comes next', () => {
    const e = new PalisadeError(
      { code: 'step_up_required', message: 'Confirm with your second factor first (POST /v1/step-up), then retry.' },
      403,
    );
    expect(describeError(e)).toBe(
      'step_up_required: Confirm with your second factor first (POST /v1/step-up), then retry. Run `palisade-chat step-up`, then retry.',
    );
  });

  it('names the command the way it was started (npx, npm run)', () => {
    vi.stubEnv('npm_command', 'exec');
    const e = new PalisadeError(
      {
        code: 'sso_loopback_required',
        message: 'run the sign-on on this computer (palisade-chat sso without --no-loopback)',
      },
      403,
    );
    expect(describeError(e)).toBe(
      'sso_loopback_required: run the sign-on on this computer (npx palisade-chat sso without --no-loopback).',
    );
  });

  it('ignores details that are not field issues', () => {
    const e = new PalisadeError({ code: 'risk_denied', message: 'denied', details: { reasons: ['new_device'] } }, 403);
    expect(describeError(e)).toBe('risk_denied: denied.');
  });

  it('says "again" once for an ended session', () => {
    const e = new PalisadeError({ code: 'session_invalid', message: 'Log in again to get a new session.' }, 401);
    expect(describeError(e)).toBe('session_invalid: Log in again to get a new session. Run `palisade-chat login`.');
  });
});
