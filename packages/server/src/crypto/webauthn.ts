import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { decodeAttestationObject } from '@simplewebauthn/server/helpers';
import {
  attestationAssurance,
  EMPTY_ALLOWLIST,
  type AttestationAllowlist,
  type PasskeyAalReason,
} from './attestation.js';

/** The relying party: its ID (a domain) and the origins allowed to use it. */
export interface RelyingParty {
  id: string;
  name: string;
  origins: string[];
  /** Authenticators trusted for AAL3 (by AAGUID and attestation root); none when absent. */
  attestation?: AttestationAllowlist;
}

/** A stored passkey as the verifier needs it. */
export interface StoredCredential {
  id: string;
  publicKey: Uint8Array;
  counter: number;
  transports?: string[];
}

/** Options for navigator.credentials.create(); the challenge (>= 128 bits) is generated here. */
export async function passkeyRegistrationOptions(
  rp: RelyingParty,
  user: { id: Uint8Array; name: string },
  exclude: StoredCredential[],
) {
  return generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.name,
    userID: user.id as Uint8Array<ArrayBuffer>,
    // Attestation is asked for only when the operator trusts some authenticators: otherwise it
    // would only leak the device model without changing any decision.
    attestationType: (rp.attestation?.roots.size ?? 0) > 0 ? 'direct' : 'none',
    excludeCredentials: exclude.map((c) => ({ id: c.id })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  });
}

/**
 * Verifies a registration against the challenge, the origins and the RP ID.
 * Returns the credential to store and its assurance: AAL3 (`deviceBound`) only for a key that is not
 * backup-eligible AND whose attestation chains to a root the operator configured for its AAGUID.
 */
export async function verifyPasskeyRegistration(
  rp: RelyingParty,
  response: unknown,
  challenge: string,
  requireUserVerification: boolean,
  now = Date.now(),
) {
  const r = await verifyRegistrationResponse({
    response: response as RegistrationResponseJSON,
    expectedChallenge: challenge,
    expectedOrigin: rp.origins,
    expectedRPID: rp.id,
    requireUserVerification,
  });
  if (!r.verified) throw new Error('registration not verified');
  const info = r.registrationInfo;
  const x5c = decodeAttestationObject(info.attestationObject).get('attStmt').get('x5c');
  const { aal, reason } = attestationAssurance(
    { fmt: info.fmt, aaguid: info.aaguid, x5c, backupEligible: info.credentialDeviceType === 'multiDevice' },
    rp.attestation ?? EMPTY_ALLOWLIST,
    now,
  );
  return {
    id: info.credential.id,
    publicKey: info.credential.publicKey,
    counter: info.credential.counter,
    transports: info.credential.transports ?? [],
    backedUp: info.credentialBackedUp,
    deviceBound: aal === 3,
    aal,
    aalReason: reason satisfies PasskeyAalReason,
    aaguid: info.aaguid,
    userVerified: info.userVerified,
  };
}

/** Options for navigator.credentials.get(); without `allow`, any discoverable passkey may answer. */
export async function passkeyAuthenticationOptions(
  rp: RelyingParty,
  allow: StoredCredential[],
  userVerification: 'required' | 'preferred',
) {
  return generateAuthenticationOptions({
    rpID: rp.id,
    // No list at all (not an empty one) for a discoverable-credential login.
    allowCredentials:
      allow.length === 0 ? undefined : allow.map((c) => ({ id: c.id, transports: c.transports as never })),
    userVerification,
  });
}

/**
 * Verifies an assertion by a stored credential. SECURITY: checks challenge, origin, RP ID, signature,
 * user presence (and verification when required); a signature counter that goes backwards is refused
 * by the library (a cloned authenticator).
 */
export async function verifyPasskeyAuthentication(
  rp: RelyingParty,
  response: unknown,
  challenge: string,
  credential: StoredCredential,
  requireUserVerification: boolean,
) {
  const r = await verifyAuthenticationResponse({
    response: response as AuthenticationResponseJSON,
    expectedChallenge: challenge,
    expectedOrigin: rp.origins,
    expectedRPID: rp.id,
    credential: {
      id: credential.id,
      publicKey: credential.publicKey as Uint8Array<ArrayBuffer>,
      counter: credential.counter,
      transports: credential.transports,
    },
    requireUserVerification,
  });
  if (!r.verified) throw new Error('assertion not verified');
  // BE (may sync) and BS (is synced) are re-read at every assertion: a key that starts syncing loses AAL3.
  return {
    newCounter: r.authenticationInfo.newCounter,
    userVerified: r.authenticationInfo.userVerified,
    backedUp: r.authenticationInfo.credentialBackedUp,
    synced: r.authenticationInfo.credentialBackedUp || r.authenticationInfo.credentialDeviceType === 'multiDevice',
  };
}
