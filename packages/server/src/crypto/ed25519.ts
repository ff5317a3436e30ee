import { createPublicKey, verify } from 'node:crypto';

/** Length of a raw Ed25519 public key. */
export const ED25519_PUBLIC_KEY_BYTES = 32;

/** True when `raw` decodes to a valid Ed25519 public key. */
export function isValidEd25519PublicKey(raw: Uint8Array): boolean {
  if (raw.length !== ED25519_PUBLIC_KEY_BYTES) return false;
  try {
    createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Verifies an Ed25519 signature. Returns false (never throws) on any malformed input.
 * SECURITY: this is the device-possession proof; a false here must close the connection.
 */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES || signature.length !== 64) return false;
  try {
    const key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') },
      format: 'jwk',
    });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
