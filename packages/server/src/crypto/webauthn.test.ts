import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyPasskeyAuthentication, verifyPasskeyRegistration } from './index.js';

// External test vectors, copied byte for byte into test/vectors/ with their LICENSE and SOURCE.
const text = readFileSync(
  resolve(
    import.meta.dirname,
    '../../../../test/vectors/webauthn/w3c-spec-test-vectors/index.bs.test-vectors-section.md',
  ),
  'utf8',
);

/** The hex values of one example section, registration then authentication. */
function section(anchor: string) {
  const start = text.indexOf(`{#${anchor}}`);
  const body = text.slice(start, text.indexOf('\n## ', start + 1));
  const [reg, auth] = body.split('[=authentication ceremony|Authentication=]');
  const hex = (part: string, name: string) => {
    const m = new RegExp(`^${name} = h'([0-9a-f]+)'`, 'm').exec(part);
    if (!m) throw new Error(`${name} missing in ${anchor}`);
    return Buffer.from(m[1]!, 'hex');
  };
  return {
    reg: {
      challenge: hex(reg!, 'challenge'),
      credentialId: hex(reg!, 'credential_id'),
      clientDataJSON: hex(reg!, 'clientDataJSON'),
      attestationObject: hex(reg!, 'attestationObject'),
    },
    auth: {
      challenge: hex(auth!, 'challenge'),
      authenticatorData: hex(auth!, 'authenticatorData'),
      clientDataJSON: hex(auth!, 'clientDataJSON'),
      signature: hex(auth!, 'signature'),
    },
  };
}

const rp = { id: 'example.org', name: 'Example', origins: ['https://example.org'] };
const b64u = (b: Buffer) => b.toString('base64url');

describe('WebAuthn verification against the W3C test vectors', () => {
  const v = section('sctn-test-vectors-none-es256');
  const registration = {
    id: b64u(v.reg.credentialId),
    rawId: b64u(v.reg.credentialId),
    type: 'public-key',
    clientExtensionResults: {},
    response: {
      clientDataJSON: b64u(v.reg.clientDataJSON),
      attestationObject: b64u(v.reg.attestationObject),
      transports: [],
    },
  };
  const assertion = {
    id: b64u(v.reg.credentialId),
    rawId: b64u(v.reg.credentialId),
    type: 'public-key',
    clientExtensionResults: {},
    response: {
      clientDataJSON: b64u(v.auth.clientDataJSON),
      authenticatorData: b64u(v.auth.authenticatorData),
      signature: b64u(v.auth.signature),
    },
  };

  it('accepts the ES256 "none" registration and its assertion, and binds them to the challenge and origin', async () => {
    const cred = await verifyPasskeyRegistration(rp, registration, b64u(v.reg.challenge), false);
    expect(cred.id).toBe(b64u(v.reg.credentialId));
    const uvSet = (v.auth.authenticatorData[32]! & 0x04) !== 0;
    const ok = await verifyPasskeyAuthentication(
      rp,
      assertion,
      b64u(v.auth.challenge),
      { id: cred.id, publicKey: cred.publicKey, counter: 0 },
      false,
    );
    expect(ok.userVerified).toBe(uvSet);
    // Passwordless login demands user verification: this assertion has none, so it is refused.
    if (!uvSet)
      await expect(
        verifyPasskeyAuthentication(
          rp,
          assertion,
          b64u(v.auth.challenge),
          { id: cred.id, publicKey: cred.publicKey, counter: 0 },
          true,
        ),
      ).rejects.toThrow(/User verification required/);
    await expect(
      verifyPasskeyAuthentication(
        rp,
        assertion,
        b64u(v.reg.challenge),
        { id: cred.id, publicKey: cred.publicKey, counter: 0 },
        false,
      ),
    ).rejects.toThrow(/Unexpected authentication response challenge/);
    await expect(
      verifyPasskeyAuthentication(
        { ...rp, origins: ['https://evil.example'] },
        assertion,
        b64u(v.auth.challenge),
        { id: cred.id, publicKey: cred.publicKey, counter: 0 },
        false,
      ),
    ).rejects.toThrow(/Unexpected authentication response origin/);
    await expect(
      verifyPasskeyAuthentication(
        { ...rp, id: 'example.com' },
        assertion,
        b64u(v.auth.challenge),
        { id: cred.id, publicKey: cred.publicKey, counter: 0 },
        false,
      ),
    ).rejects.toThrow(/Unexpected RP ID hash/);
  });

  it('refuses the registration under another challenge or origin, and a tampered signature', async () => {
    await expect(verifyPasskeyRegistration(rp, registration, b64u(Buffer.alloc(32, 1)), false)).rejects.toThrow(
      /Unexpected registration response challenge/,
    );
    await expect(
      verifyPasskeyRegistration(
        { ...rp, origins: ['https://example.com'] },
        registration,
        b64u(v.reg.challenge),
        false,
      ),
    ).rejects.toThrow(/Unexpected registration response origin/);
    const cred = await verifyPasskeyRegistration(rp, registration, b64u(v.reg.challenge), false);
    const bad = Buffer.from(v.auth.signature);
    bad[bad.length - 1]! ^= 1;
    const tampered = { ...assertion, response: { ...assertion.response, signature: b64u(bad) } };
    await expect(
      verifyPasskeyAuthentication(
        rp,
        tampered,
        b64u(v.auth.challenge),
        { id: cred.id, publicKey: cred.publicKey, counter: 0 },
        false,
      ),
    ).rejects.toThrow('assertion not verified');
  });
});
