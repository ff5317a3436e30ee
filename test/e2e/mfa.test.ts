import { describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import type { PalisadeClient } from '@palisade/client';
import { createUsers, deviceClient, PASS } from '../support/users.js';
import { useServerWithAdmin } from '../support/harness.js';

const codeFor = (secret: string, at = Date.now()) =>
  new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({ timestamp: at });

describe('multi-factor login through the SDK against a real server', () => {
  const env = useServerWithAdmin();

  it('enrols an authenticator app, then requires it at the next login on a new device', async () => {
    const [gina] = (await createUsers(env.server, env.admin, ['gina'])) as [PalisadeClient];
    const t = await gina.api.enrolTotp();
    expect(t.uri).toMatch(/^otpauth:\/\/totp\/Palisade:gina\?/);
    const { recoveryCodes } = await gina.api.confirmTotp(t.id, codeFor(t.secret));
    expect(recoveryCodes).toHaveLength(10);

    const phone = deviceClient(env.server);
    const first = await phone.login('gina', PASS, 'phone');
    expect(first).toMatchObject({ mfaRequired: true, methods: ['totp', 'recovery_code'] });
    expect(phone.token).toBeUndefined();
    if (!('mfaRequired' in first)) throw new Error('unreachable');
    await expect(
      phone.api.loginMfa(first.challenge, { code: '000000' === codeFor(t.secret) ? '111111' : '000000' }),
    ).rejects.toMatchObject({ code: 'code_invalid', status: 401 });
    const again = await phone.login('gina', PASS, 'phone');
    if (!('mfaRequired' in again)) throw new Error('unreachable');
    // The code used at confirmation is spent; the next step's code is needed (wait for it if necessary).
    const nextStep = (Math.floor(Date.now() / 30_000) + 1) * 30_000;
    const grant = await phone.api.loginMfa(again.challenge, { code: codeFor(t.secret, nextStep) });
    expect(grant.aal).toBe(2);
    await phone.connect();
    expect((await phone.api.me()).username).toBe('gina');
    phone.close();
    gina.close();
  });
});
