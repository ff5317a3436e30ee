import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newTotpSecret, totpAt, verifyTotp } from './index.js';

const vectors = JSON.parse(
  readFileSync(resolve(import.meta.dirname, '../../../../test/vectors/rfc/rfc4226-6238-5869.json'), 'utf8'),
) as {
  rfc6238_totp: {
    digits: number;
    secrets: Record<string, string>;
    cases: { time: number; alg: string; totp: string }[];
  };
};

describe('TOTP (RFC 6238)', () => {
  it('v5.0.0-6.5.1 reproduces every RFC 6238 Appendix B vector', () => {
    const v = vectors.rfc6238_totp;
    expect(v.cases.length).toBeGreaterThanOrEqual(18);
    for (const c of v.cases) {
      const alg = c.alg.toUpperCase() as 'SHA1' | 'SHA256' | 'SHA512';
      expect(
        totpAt({ ascii: v.secrets[c.alg] }, c.time * 1000, { digits: v.digits, algorithm: alg }),
        `${c.alg}@${c.time}`,
      ).toBe(c.totp);
    }
  });

  it('v5.0.0-6.5.5 accepts at most one step of drift and reports the matched step', () => {
    const secret = newTotpSecret();
    const t = 1_800_000_000_000;
    const step = Math.floor(t / 30_000);
    expect(verifyTotp(secret, totpAt({ base32: secret }, t), t)).toBe(step);
    expect(verifyTotp(secret, totpAt({ base32: secret }, t - 30_000), t)).toBe(step - 1);
    expect(verifyTotp(secret, totpAt({ base32: secret }, t + 30_000), t)).toBe(step + 1);
    expect(verifyTotp(secret, totpAt({ base32: secret }, t - 60_000), t)).toBeUndefined();
    expect(verifyTotp(secret, totpAt({ base32: secret }, t + 60_000), t)).toBeUndefined();
    expect(verifyTotp(secret, 'abcdef', t)).toBeUndefined();
    expect(verifyTotp(secret, '1234567', t)).toBeUndefined();
  });
});
