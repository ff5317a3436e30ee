import { createHash, X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';

/** Colon-separated upper-case hex, the format of Node's `fingerprint256` and the server's banner. */
function colonHex(bytes: Buffer): string {
  return bytes
    .toString('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
}

/**
 * SHA-256 of a certificate's public key (its DER SubjectPublicKeyInfo), as colon hex: the value a
 * pin keeps. A renewed certificate with the same key has the same value; a new key does not.
 */
export function publicKeyFingerprint(cert: string | Buffer | X509Certificate): string {
  const x = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  return colonHex(
    createHash('sha256')
      .update(x.publicKey.export({ type: 'spki', format: 'der' }))
      .digest(),
  );
}

/** Hex digits only, upper case: fingerprints compare with or without colons, in any case. */
export function normaliseFingerprint(s: string): string {
  return s.replace(/[^0-9a-f]/gi, '').toUpperCase();
}

/**
 * Whether a fingerprint someone typed names this certificate: its certificate SHA-256 (what the
 * server prints at start) or its public-key SHA-256 (the pin). SECURITY: a full 64-digit match only.
 */
export function fingerprintNames(given: string, cert: { fingerprint: string; keyFingerprint: string }): boolean {
  const g = normaliseFingerprint(given);
  return (
    g.length === 64 && (g === normaliseFingerprint(cert.fingerprint) || g === normaliseFingerprint(cert.keyFingerprint))
  );
}

/** The pinned key no longer matches the key the server presents. */
export class PinMismatchError extends Error {
  /**
   * @param pinned the public-key SHA-256 this profile trusts
   * @param presented the public-key SHA-256 of the certificate the server presents now
   * @param certFingerprint that certificate's SHA-256 (what the server prints at start)
   */
  constructor(
    readonly pinned: string,
    readonly presented: string,
    readonly certFingerprint: string,
  ) {
    super(`the server presents a different public key than the one pinned (pinned ${pinned}, presented ${presented})`);
    this.name = 'PinMismatchError';
  }
}

/**
 * A `checkServerIdentity` for a pinned server: the certificate must carry the pinned public key; the
 * host name is not checked, the pin names the server. SECURITY: called during the handshake, so a
 * mismatch ends the connection before a byte of the request is sent.
 */
export function pinCheck(pinned: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    if (!cert?.raw) return new Error('the server sent no certificate');
    const x = new X509Certificate(cert.raw);
    const presented = publicKeyFingerprint(x);
    return normaliseFingerprint(presented) === normaliseFingerprint(pinned)
      ? undefined
      : new PinMismatchError(pinned, presented, x.fingerprint256);
  };
}
