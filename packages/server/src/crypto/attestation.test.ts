import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeAttestationObject, parseAuthenticatorData } from '@simplewebauthn/server/helpers';
import { makeAttestationCa } from '../test-support/attestation-ca.js';
import { SOFT_AAGUID, SoftAuthenticator } from '../test-support/soft-authenticator.js';
import {
  attestationAllowlist,
  attestationAssurance,
  EMPTY_ALLOWLIST,
  passkeyRegistrationOptions,
  verifyPasskeyRegistration,
} from './index.js';

// External test vectors, copied byte for byte into test/vectors/ with their LICENSE and SOURCE.
const text = readFileSync(
  resolve(
    import.meta.dirname,
    '../../../../test/vectors/webauthn/w3c-spec-test-vectors/index.bs.test-vectors-section.md',
  ),
  'utf8',
);
const hexIn = (anchor: string, name: string) => {
  const start = text.indexOf(`{#${anchor}}`);
  const body = text
    .slice(start, text.indexOf('\n## ', start + 1))
    .split('[=authentication ceremony|Authentication=]')[0]!;
  const m = new RegExp(`^${name} = h'([0-9a-f]+)'`, 'm').exec(body);
  if (!m) throw new Error(`${name} missing in ${anchor}`);
  return Buffer.from(m[1]!, 'hex');
};
const b64u = (b: Buffer) => b.toString('base64url');
const vectorRoot = `-----BEGIN CERTIFICATE-----\n${hexIn('sctn-test-vectors-attestation-root-cert', 'attestation_ca_cert').toString('base64')}\n-----END CERTIFICATE-----\n`;
const registration = (anchor: string) => ({
  id: b64u(hexIn(anchor, 'credential_id')),
  rawId: b64u(hexIn(anchor, 'credential_id')),
  type: 'public-key',
  clientExtensionResults: {},
  response: {
    clientDataJSON: b64u(hexIn(anchor, 'clientDataJSON')),
    attestationObject: b64u(hexIn(anchor, 'attestationObject')),
    transports: [],
  },
});
const rp = { id: 'example.org', name: 'Example', origins: ['https://example.org'] };
const aaguidOf = (anchor: string) =>
  hexIn(anchor, 'aaguid')
    .toString('hex')
    .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
const NOW = Date.UTC(2026, 0, 1);

describe('S19: AAL3 needs attestation from an authenticator the operator allows', () => {
  it('S19: the W3C packed vector chains to its root; without the allowlist, with another root, when synced or expired it is AAL2 with the reason', async () => {
    const anchor = 'sctn-test-vectors-packed-es256';
    const aaguid = aaguidOf(anchor);
    const allow = attestationAllowlist([{ aaguid, rootPems: [vectorRoot] }]);
    // Through the verifier: the vector's key is backup-eligible (BE set), so never AAL3.
    const cred = await verifyPasskeyRegistration(
      { ...rp, attestation: allow },
      registration(anchor),
      b64u(hexIn(anchor, 'challenge')),
      false,
      NOW,
    );
    expect(cred).toMatchObject({ aal: 2, aalReason: 'backup_eligible', deviceBound: false, aaguid });
    // The trust decision itself, on the vector's real certificate chain.
    const x5c = decodeAttestationObject(hexIn(anchor, 'attestationObject')).get('attStmt').get('x5c');
    const facts = { fmt: 'packed', aaguid, x5c, backupEligible: false };
    expect(attestationAssurance(facts, allow, NOW)).toEqual({ aal: 3, reason: 'attested' });
    expect(attestationAssurance(facts, EMPTY_ALLOWLIST, NOW)).toEqual({ aal: 2, reason: 'not_in_allowlist' });
    const other = await makeAttestationCa(aaguid);
    expect(attestationAssurance(facts, attestationAllowlist([{ aaguid, rootPems: [other.rootPem] }]), NOW)).toEqual({
      aal: 2,
      reason: 'untrusted_chain',
    });
    expect(attestationAssurance({ ...facts, aaguid: SOFT_AAGUID }, allow, NOW)).toEqual({
      aal: 2,
      reason: 'not_in_allowlist',
    }); // the root is trusted for its AAGUID only
    expect(attestationAssurance(facts, allow, Date.UTC(2023, 0, 1))).toEqual({ aal: 2, reason: 'untrusted_chain' }); // before the certificates are valid
    expect(attestationAssurance({ ...facts, backupEligible: true }, allow, NOW)).toEqual({
      aal: 2,
      reason: 'backup_eligible',
    });
  });

  it('S19: "none" and self attestation (the W3C vectors) are never AAL3, even for a device-bound key', async () => {
    for (const [anchor, reason] of [
      ['sctn-test-vectors-none-es256', 'attestation_none'],
      ['sctn-test-vectors-packed-self-es256', 'self_attestation'],
    ] as const) {
      const allow = attestationAllowlist([{ aaguid: aaguidOf(anchor), rootPems: [vectorRoot] }]);
      const obj = decodeAttestationObject(hexIn(anchor, 'attestationObject'));
      const flags = parseAuthenticatorData(obj.get('authData')).flags;
      const cred = await verifyPasskeyRegistration(
        { ...rp, attestation: allow },
        registration(anchor),
        b64u(hexIn(anchor, 'challenge')),
        false,
        NOW,
      );
      expect(cred.aalReason).toBe(flags.be ? 'backup_eligible' : reason);
      expect(
        attestationAssurance(
          { fmt: obj.get('fmt'), aaguid: aaguidOf(anchor), x5c: obj.get('attStmt').get('x5c'), backupEligible: false },
          allow,
          NOW,
        ),
      ).toEqual({ aal: 2, reason });
    }
  });

  it('S19: a software authenticator with a certificate from a configured test CA registers at AAL3; self-attested, it does not', async () => {
    const ca = await makeAttestationCa(SOFT_AAGUID);
    const local = {
      id: 'localhost',
      name: 'Palisade',
      origins: ['https://localhost:8443'],
      attestation: attestationAllowlist([{ aaguid: SOFT_AAGUID, rootPems: [ca.rootPem] }]),
    };
    const options = await passkeyRegistrationOptions(local, { id: Buffer.from('u1'), name: 'u1' }, []);
    expect(options.attestation).toBe('direct'); // asked for only because an allowlist is configured
    expect(
      (
        await passkeyRegistrationOptions(
          { ...local, attestation: EMPTY_ALLOWLIST },
          { id: Buffer.from('u1'), name: 'u1' },
          [],
        )
      ).attestation,
    ).toBe('none');
    const packed = new SoftAuthenticator(local.origins[0]!, 'localhost', {
      userVerified: true,
      backupEligible: false,
      attestation: { fmt: 'packed', ca },
    });
    await expect(
      verifyPasskeyRegistration(local, packed.register(options), options.challenge, false, NOW),
    ).resolves.toMatchObject({ aal: 3, aalReason: 'attested', deviceBound: true });
    const self = new SoftAuthenticator(local.origins[0]!, 'localhost', {
      userVerified: true,
      backupEligible: false,
      attestation: { fmt: 'self' },
    });
    await expect(
      verifyPasskeyRegistration(local, self.register(options), options.challenge, false, NOW),
    ).resolves.toMatchObject({ aal: 2, aalReason: 'self_attestation', deviceBound: false });
    const bare = new SoftAuthenticator(local.origins[0]!, 'localhost');
    await expect(
      verifyPasskeyRegistration(local, bare.register(options), options.challenge, false, NOW),
    ).resolves.toMatchObject({ aal: 2, aalReason: 'attestation_none', deviceBound: false });
  });

  it('S19: a root PEM that does not parse stops the configuration', () => {
    expect(() => attestationAllowlist([{ aaguid: SOFT_AAGUID, rootPems: ['not a certificate'] }])).toThrow(
      /no attestation root certificate/,
    );
    expect(() =>
      attestationAllowlist([
        { aaguid: SOFT_AAGUID, rootPems: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'] },
      ]),
    ).toThrow(/not a PEM certificate/);
  });
});
