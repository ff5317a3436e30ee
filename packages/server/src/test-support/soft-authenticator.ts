import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import type { AttestationCa } from './attestation-ca.js';

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest();

interface Credential {
  id: Buffer;
  privateKey: KeyObject;
  counter: number;
  userHandle: string;
}

/**
 * How the authenticator attests a new credential: `none`, `self` (packed, signed by the credential
 * key, no certificate), or `packed` with a leaf certificate issued by a test CA (`ca`).
 */
export type SoftAttestation = { fmt: 'none' } | { fmt: 'self' } | { fmt: 'packed'; ca: AttestationCa };

/** The AAGUID a software authenticator claims unless told otherwise. */
export const SOFT_AAGUID = '5ca1ab1e-0000-4000-8000-00000000a11e';

/**
 * A software WebAuthn authenticator for tests: real ES256 keys, real authenticator data, attestation
 * objects ("none", packed self attestation, or packed with a certificate chain) and signatures, so
 * the server's verifier runs unchanged. `backupEligible`/`backedUp` set the BE/BS flags; they can be
 * changed between assertions to model a key that starts syncing.
 */
export class SoftAuthenticator {
  private readonly creds: Credential[] = [];

  constructor(
    private readonly origin: string,
    private readonly rpId: string,
    readonly opts: {
      userVerified: boolean;
      backupEligible: boolean;
      backedUp?: boolean;
      attestation?: SoftAttestation;
      aaguid?: string;
    } = { userVerified: true, backupEligible: false },
  ) {}

  private flags(attested: boolean): number {
    const bs = this.opts.backupEligible && this.opts.backedUp === true;
    return (
      0x01 |
      (this.opts.userVerified ? 0x04 : 0) |
      (this.opts.backupEligible ? 0x08 : 0) |
      (bs ? 0x10 : 0) |
      (attested ? 0x40 : 0)
    );
  }

  private attestationStatement(
    att: SoftAttestation,
    authData: Buffer,
    clientDataJSON: string,
    credKey: KeyObject,
  ): [string, Map<string, unknown>] {
    if (att.fmt === 'none') return ['none', new Map<string, unknown>()];
    const signed = Buffer.concat([authData, sha256(clientDataJSON)]);
    if (att.fmt === 'self')
      return [
        'packed',
        new Map<string, unknown>([
          ['alg', -7],
          ['sig', sign('sha256', signed, credKey)],
        ]),
      ];
    return [
      'packed',
      new Map<string, unknown>([
        ['alg', -7],
        ['sig', sign('sha256', signed, att.ca.leafKey)],
        ['x5c', att.ca.x5c],
      ]),
    ];
  }

  /** Answers navigator.credentials.create() options. */
  register(options: { challenge: string; user: { id: string } }, origin = this.origin) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
    const id = randomBytes(32);
    const cose = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x, 'base64url')],
        [-3, Buffer.from(jwk.y, 'base64url')],
      ]),
    );
    const counter = Buffer.alloc(4);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(id.length);
    const aaguid = Buffer.from((this.opts.aaguid ?? SOFT_AAGUID).replace(/-/g, ''), 'hex');
    const authData = Buffer.concat([
      sha256(this.rpId),
      Buffer.from([this.flags(true)]),
      counter,
      aaguid,
      len,
      id,
      Buffer.from(cose),
    ]);
    const clientDataJSON = JSON.stringify({
      type: 'webauthn.create',
      challenge: options.challenge,
      origin,
      crossOrigin: false,
    });
    const [fmt, attStmt] = this.attestationStatement(
      this.opts.attestation ?? { fmt: 'none' },
      authData,
      clientDataJSON,
      privateKey,
    );
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([
        ['fmt', fmt],
        ['attStmt', attStmt],
        ['authData', authData],
      ]) as never,
    );
    this.creds.push({ id, privateKey, counter: 0, userHandle: options.user.id });
    return {
      id: b64u(id),
      rawId: b64u(id),
      type: 'public-key' as const,
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64u(Buffer.from(clientDataJSON)),
        attestationObject: b64u(attestationObject),
        transports: ['internal'],
      },
    };
  }

  /** Answers navigator.credentials.get() options with the first allowed (or any) credential. */
  assert(options: { challenge: string; allowCredentials?: { id: string }[] }, origin = this.origin) {
    const allowed = options.allowCredentials?.map((c) => c.id) ?? [];
    const cred = this.creds.find((c) => allowed.length === 0 || allowed.includes(b64u(c.id)));
    if (!cred) throw new Error('no matching credential');
    cred.counter += 1;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(cred.counter);
    const authData = Buffer.concat([sha256(this.rpId), Buffer.from([this.flags(false)]), counter]);
    const clientDataJSON = Buffer.from(
      JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin, crossOrigin: false }),
    );
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), cred.privateKey);
    return {
      id: b64u(cred.id),
      rawId: b64u(cred.id),
      type: 'public-key' as const,
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64u(clientDataJSON),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
        userHandle: cred.userHandle,
      },
    };
  }
}
