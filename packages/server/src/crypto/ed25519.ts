import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify } from 'node:crypto';

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

/** An Ed25519 private key held as a non-exported KeyObject: it signs, it never gives its bytes back. */
export interface Ed25519Signer {
  /** The raw 32-byte public key. */
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

// PKCS#8 prefix of an Ed25519 private key (RFC 8410): the 32-byte seed follows.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A new random Ed25519 key: its 32-byte seed (for sealing, then zeroing) and its signer. */
export function generateEd25519Key(): { seed: Buffer; signer: Ed25519Signer } {
  const seed = randomBytes(32);
  return { seed, signer: ed25519SignerFromSeed(seed) };
}

/**
 * The signer of a 32-byte Ed25519 seed. SECURITY: the caller zeroes `seed` afterwards; the DER copy
 * made here is zeroed before returning, so only the KeyObject holds the key.
 */
export function ed25519SignerFromSeed(seed: Uint8Array): Ed25519Signer {
  if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
  const der = Buffer.concat([PKCS8_ED25519_PREFIX, seed]);
  let key;
  try {
    key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  const publicKey = new Uint8Array(Buffer.from(String(jwk.x), 'base64url'));
  return { publicKey, sign: (message) => new Uint8Array(sign(null, message, key)) };
}

/** SHA-256 of `data`, as 32 bytes. */
export function sha256Bytes(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}
