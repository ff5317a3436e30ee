import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';

/** The relying party: its ID (a domain) and the origins allowed to use it. */
export interface RelyingParty {
  id: string;
  name: string;
  origins: string[];
}

/** A stored passkey as the verifier needs it. */
export interface StoredCredential {
  id: string;
  publicKey: Uint8Array;
  counter: number;
  transports?: string[];
}

/** Options for navigator.credentials.create(); the challenge (>= 128 bits) is generated here. */
export async function passkeyRegistrationOptions(rp: RelyingParty, user: { id: Uint8Array; name: string }, exclude: StoredCredential[]) {
  return generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.name,
    userID: user.id as Uint8Array<ArrayBuffer>,
    attestationType: 'none',
    excludeCredentials: exclude.map((c) => ({ id: c.id })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  });
}

/**
 * Verifies a registration against the challenge, the origins and the RP ID.
 * Returns the credential to store, and whether it is backed up (synced) or bound to one device.
 */
export async function verifyPasskeyRegistration(rp: RelyingParty, response: unknown, challenge: string, requireUserVerification: boolean) {
  const r = await verifyRegistrationResponse({
    response: response as RegistrationResponseJSON,
    expectedChallenge: challenge,
    expectedOrigin: rp.origins,
    expectedRPID: rp.id,
    requireUserVerification,
  });
  if (!r.verified) throw new Error('registration not verified');
  const info = r.registrationInfo;
  return {
    id: info.credential.id,
    publicKey: info.credential.publicKey,
    counter: info.credential.counter,
    transports: info.credential.transports ?? [],
    backedUp: info.credentialBackedUp,
    deviceBound: info.credentialDeviceType === 'singleDevice',
    userVerified: info.userVerified,
  };
}

/** Options for navigator.credentials.get(); without `allow`, any discoverable passkey may answer. */
export async function passkeyAuthenticationOptions(rp: RelyingParty, allow: StoredCredential[], userVerification: 'required' | 'preferred') {
  return generateAuthenticationOptions({
    rpID: rp.id,
    allowCredentials: allow.map((c) => ({ id: c.id, transports: c.transports as never })),
    userVerification,
  });
}

/**
 * Verifies an assertion by a stored credential. SECURITY: checks challenge, origin, RP ID, signature,
 * user presence (and verification when required); a signature counter that goes backwards is refused
 * by the library (a cloned authenticator).
 */
export async function verifyPasskeyAuthentication(rp: RelyingParty, response: unknown, challenge: string, credential: StoredCredential, requireUserVerification: boolean) {
  const r = await verifyAuthenticationResponse({
    response: response as AuthenticationResponseJSON,
    expectedChallenge: challenge,
    expectedOrigin: rp.origins,
    expectedRPID: rp.id,
    credential: { id: credential.id, publicKey: credential.publicKey as Uint8Array<ArrayBuffer>, counter: credential.counter, transports: credential.transports },
    requireUserVerification,
  });
  if (!r.verified) throw new Error('assertion not verified');
  return { newCounter: r.authenticationInfo.newCounter, userVerified: r.authenticationInfo.userVerified, backedUp: r.authenticationInfo.credentialBackedUp };
}
