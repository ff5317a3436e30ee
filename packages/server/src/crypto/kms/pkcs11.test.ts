import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { softHsmToken } from '../../test-support/softhsm.js';
import { Pkcs11Kms } from './index.js';
import type { Kms } from './kms.js';
import { kmsProviderSuite } from './provider-suite.js';

const token = softHsmToken();
const d = token ? describe : describe.skip;

d('Pkcs11Kms (SoftHSM2)', () => {
  const open = (prefix: string, now?: () => number) =>
    Pkcs11Kms.open({
      library: token!.library,
      tokenLabel: token!.tokenLabel,
      pin: token!.pin,
      labelPrefix: prefix,
      ...(now ? { now } : {}),
    });
  const prefixes = new WeakMap<Kms, string>();
  kmsProviderSuite({
    fresh: (now) => {
      const prefix = `kek-${randomBytes(6).toString('hex')}`;
      const kms = open(prefix, now);
      prefixes.set(kms, prefix);
      return kms;
    },
    reopen: (kms) => open(prefixes.get(kms)!),
  });

  it('creates KEKs inside the token as sensitive and non-extractable; the token refuses to reveal them', () => {
    const kms = open(`kek-${randomBytes(6).toString('hex')}`);
    expect(kms.kekAttributes(1)).toEqual({ sensitive: true, extractable: false });
    expect(() => kms.tryReadKek(1)).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
    kms.close();
  });

  it('names what is wrong when the token or the PIN is wrong', () => {
    expect(() => Pkcs11Kms.open({ library: token!.library, tokenLabel: 'no-such-token', pin: token!.pin })).toThrow(
      /no PKCS#11 token labelled "no-such-token"/,
    );
  });
});
