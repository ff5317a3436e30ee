import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  randomFillSync,
  timingSafeEqual,
} from 'node:crypto';

/**
 * The vetted primitives of SECURITY-BASELINE.md, and only the shapes it allows: AES-256-GCM with
 * 96-bit nonces and 128-bit tags, AES key wrap (RFC 3394) and with padding (RFC 5649), HKDF-SHA-256,
 * HMAC-SHA-256 with full-length tags, X25519. Other shapes are refused with `CryptoShapeError`
 * instead of being accepted.
 */
export class CryptoShapeError extends Error {
  constructor(what: string) {
    super(`unsupported shape: ${what}`);
    this.name = 'CryptoShapeError';
  }
}

/** Raised when authentication or unwrapping fails (never says why). */
export class CryptoIntegrityError extends Error {
  constructor() {
    super('integrity check failed');
    this.name = 'CryptoIntegrityError';
  }
}

const GCM_KEY = 32;
const GCM_IV = 12;
const GCM_TAG = 16;

// Nonces are drawn from a pool of CSPRNG output filled 4,096 at a time: one call to the RNG instead of
// one per message (each costs about 2 µs). SECURITY: every byte of the pool is used once, then the
// pool is refilled; a nonce is copied out, so nothing can alias the pool.
const noncePool = Buffer.alloc(GCM_IV * 4096);
let nonceAt = noncePool.length;

/** A fresh 96-bit random nonce. SECURITY: never reuse a nonce with the same key. */
export function newGcmNonce(): Buffer {
  if (nonceAt + GCM_IV > noncePool.length) {
    randomFillSync(noncePool);
    nonceAt = 0;
  }
  const n = Buffer.from(noncePool.subarray(nonceAt, nonceAt + GCM_IV));
  nonceAt += GCM_IV;
  return n;
}

function assertGcmShape(key: Uint8Array, iv: Uint8Array, tag?: Uint8Array): void {
  if (key.length !== GCM_KEY) throw new CryptoShapeError(`AES-GCM key of ${key.length * 8} bits (only 256)`);
  if (iv.length !== GCM_IV) throw new CryptoShapeError(`AES-GCM nonce of ${iv.length * 8} bits (only 96)`);
  if (tag !== undefined && tag.length !== GCM_TAG)
    throw new CryptoShapeError(`AES-GCM tag of ${tag.length * 8} bits (only 128)`);
}

/** AES-256-GCM encryption; returns ciphertext and the 128-bit tag. */
export function aesGcmEncrypt(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = new Uint8Array(),
): { ct: Buffer; tag: Buffer } {
  assertGcmShape(key, iv);
  const c = createCipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG });
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return { ct, tag: c.getAuthTag() };
}

/** AES-256-GCM decryption; throws CryptoIntegrityError when the tag does not verify. */
export function aesGcmDecrypt(
  key: Uint8Array,
  iv: Uint8Array,
  ct: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array = new Uint8Array(),
): Buffer {
  assertGcmShape(key, iv, tag);
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG });
    d.setAAD(aad);
    d.setAuthTag(tag);
    return Buffer.concat([d.update(ct), d.final()]);
  } catch {
    throw new CryptoIntegrityError();
  }
}

const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
const KWP_IV = Buffer.from('a65959a6', 'hex');

function kwCipher(key: Uint8Array, padded: boolean): string {
  if (![16, 24, 32].includes(key.length)) throw new CryptoShapeError(`key-encryption key of ${key.length * 8} bits`);
  return `id-aes${key.length * 8}-wrap${padded ? '-pad' : ''}`;
}

/**
 * AES key wrap (RFC 3394). The key data must be at least 16 bytes and a multiple of 8 (a deliberate
 * choice: 8-byte data, which some implementations wrap, is refused).
 */
export function aesKeyWrap(kek: Uint8Array, keyData: Uint8Array): Buffer {
  if (keyData.length < 16 || keyData.length % 8 !== 0)
    throw new CryptoShapeError(`RFC 3394 key data of ${keyData.length} bytes`);
  const c = createCipheriv(kwCipher(kek, false), kek, KW_IV);
  return Buffer.concat([c.update(keyData), c.final()]);
}

/** AES key unwrap (RFC 3394); throws CryptoIntegrityError on any malformed or altered input. */
export function aesKeyUnwrap(kek: Uint8Array, wrapped: Uint8Array): Buffer {
  return unwrap(kwCipher(kek, false), kek, KW_IV, wrapped, 24);
}

/** AES key wrap with padding (RFC 5649): any length from 1 byte. */
export function aesKeyWrapPad(kek: Uint8Array, keyData: Uint8Array): Buffer {
  if (keyData.length < 1) throw new CryptoShapeError('empty key data');
  const c = createCipheriv(kwCipher(kek, true), kek, KWP_IV);
  return Buffer.concat([c.update(keyData), c.final()]);
}

/** AES key unwrap with padding (RFC 5649); throws CryptoIntegrityError on failure. */
export function aesKeyUnwrapPad(kek: Uint8Array, wrapped: Uint8Array): Buffer {
  return unwrap(kwCipher(kek, true), kek, KWP_IV, wrapped, 16);
}

function unwrap(cipher: string, kek: Uint8Array, iv: Buffer, wrapped: Uint8Array, minLength: number): Buffer {
  if (wrapped.length < minLength || wrapped.length % 8 !== 0) throw new CryptoIntegrityError();
  try {
    const d = createDecipheriv(cipher, kek, iv);
    return Buffer.concat([d.update(wrapped), d.final()]);
  } catch {
    throw new CryptoIntegrityError();
  }
}

/** HKDF-SHA-256 (RFC 5869). Refuses output longer than 255 hash lengths. */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Buffer {
  if (!Number.isInteger(length) || length < 1 || length > 255 * 32)
    throw new CryptoShapeError(`HKDF output of ${length} bytes`);
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, length));
}

/** HMAC-SHA-256 tag (32 bytes). */
export function hmacSha256(key: Uint8Array, msg: Uint8Array): Buffer {
  return createHmac('sha256', key).update(msg).digest();
}

/** Verifies a full-length HMAC-SHA-256 tag in constant time; truncated tags are refused. */
export function hmacSha256Verify(key: Uint8Array, msg: Uint8Array, tag: Uint8Array): boolean {
  if (tag.length !== 32) throw new CryptoShapeError(`HMAC tag of ${tag.length * 8} bits (only 256)`);
  return timingSafeEqual(hmacSha256(key, msg), tag);
}

const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');

/**
 * X25519 key agreement. SECURITY: an all-zero shared secret (a low-order public key) is refused, so a
 * peer cannot force a known secret.
 */
export function x25519(privateKey: Uint8Array, publicKey: Uint8Array): Buffer {
  if (privateKey.length !== 32 || publicKey.length !== 32) throw new CryptoShapeError('X25519 keys are 32 bytes');
  let shared: Buffer;
  try {
    shared = diffieHellman({
      privateKey: createPrivateKey({ key: Buffer.concat([X25519_PKCS8, privateKey]), format: 'der', type: 'pkcs8' }),
      publicKey: createPublicKey({ key: Buffer.concat([X25519_SPKI, publicKey]), format: 'der', type: 'spki' }),
    });
  } catch {
    throw new CryptoIntegrityError();
  }
  if (shared.every((b) => b === 0)) throw new CryptoIntegrityError();
  return shared;
}
