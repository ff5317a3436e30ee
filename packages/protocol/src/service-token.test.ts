import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ServiceTokenRequest } from './http.js';

const base = { scopes: [{ action: 'message.send', conversations: '*' }], expiresInDays: 1 };
const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

describe('ServiceTokenRequest.devicePublicKey (properties)', () => {
  it('optional: without it the request parses as before (unbound token)', () => {
    const r = ServiceTokenRequest.parse(base);
    expect(r.devicePublicKey).toBeUndefined();
    expect(r.ratePerMinute).toBe(60);
  });

  it('any base64url string up to 64 characters parses unchanged (the server checks the key itself)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 48 }), (bytes) => {
        const key = b64url(bytes);
        expect(ServiceTokenRequest.parse({ ...base, devicePublicKey: key }).devicePublicKey).toBe(key);
      }),
    );
  });

  it('anything else is refused with issues, never thrown', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        if (typeof v === 'string' && v.length <= 64 && /^[A-Za-z0-9_-]*$/.test(v)) return;
        if (v === undefined) return;
        const r = ServiceTokenRequest.safeParse({ ...base, devicePublicKey: v });
        expect(r.success).toBe(false);
      }),
    );
    for (const bad of ['a'.repeat(65), 'abc=', 'ab+/', 'ab cd', 42, null])
      expect(ServiceTokenRequest.safeParse({ ...base, devicePublicKey: bad }).success).toBe(false);
  });
});
