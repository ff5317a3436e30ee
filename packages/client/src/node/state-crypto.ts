/**
 * Sealing for the file state store: AES-256-GCM under a fresh key per sealed blob.
 *
 * Blob: `PSS1` | salt (16) | nonce (12) | ciphertext | tag (16). The blob's key is
 * HKDF-SHA-256(store key, salt, "palisade-state/" + purpose), so every blob has its own key and
 * a random 96-bit nonce is never at risk of reuse however many records a device writes.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, scrypt } from 'node:crypto';
import { StateStoreError } from '../e2ee/state-store.js';

const MAGIC = Buffer.from('PSS1');
const SALT = 16;
const NONCE = 12;
const TAG = 16;
/** Bytes a sealed blob adds to its plaintext. */
export const SEAL_OVERHEAD = MAGIC.length + SALT + NONCE + TAG;

function blobKey(storeKey: Uint8Array, salt: Uint8Array, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', storeKey, salt, `palisade-state/${purpose}`, 32));
}

/** Seals `plaintext` for `purpose`, bound to `aad` (SECURITY: the AAD names what the blob is). */
export function seal(storeKey: Uint8Array, purpose: string, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  const salt = randomBytes(SALT);
  const nonce = randomBytes(NONCE);
  const key = blobKey(storeKey, salt, purpose);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  key.fill(0);
  return Buffer.concat([MAGIC, salt, nonce, body, c.getAuthTag()]);
}

/**
 * Opens a blob sealed by `seal` with the same purpose and AAD; anything else (a flipped byte, a blob
 * of another record, a cut) is refused with `failCode` (state_corrupt by default).
 */
export function unseal(
  storeKey: Uint8Array,
  purpose: string,
  aad: Uint8Array,
  blob: Uint8Array,
  failCode: 'state_corrupt' | 'state_locked' = 'state_corrupt',
): Buffer {
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (b.length < SEAL_OVERHEAD || !b.subarray(0, MAGIC.length).equals(MAGIC))
    throw new StateStoreError(failCode, `the ${purpose} is not a sealed state blob`);
  const salt = b.subarray(MAGIC.length, MAGIC.length + SALT);
  const nonce = b.subarray(MAGIC.length + SALT, MAGIC.length + SALT + NONCE);
  const body = b.subarray(MAGIC.length + SALT + NONCE, b.length - TAG);
  const key = blobKey(storeKey, salt, purpose);
  try {
    const d = createDecipheriv('aes-256-gcm', key, nonce);
    d.setAAD(aad);
    d.setAuthTag(b.subarray(b.length - TAG));
    return Buffer.concat([d.update(body), d.final()]);
  } catch {
    throw new StateStoreError(failCode, `the ${purpose} failed authentication`);
  } finally {
    key.fill(0);
  }
}

/** `n` random bytes. */
export const random = (n: number): Buffer => randomBytes(n);

/** scrypt cost parameters, stored in the store's header. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** The default: N = 2^17, r = 8, p = 1 (128 MiB, OWASP's recommendation for scrypt). */
export const SCRYPT_DEFAULT: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };

/**
 * SECURITY: the bounds every header is held to: at least N = 2^14 (so a weak store cannot be made by
 * a typo), at most 2^22 and 1 GiB of memory (so an altered header cannot make the device exhaust itself).
 */
export function checkScrypt(p: unknown): p is ScryptParams {
  const q = p as Partial<ScryptParams> | null;
  if (typeof q !== 'object' || q === null) return false;
  const { N, r, p: par } = q;
  if (!Number.isInteger(N) || !Number.isInteger(r) || !Number.isInteger(par)) return false;
  const n = N!;
  return (
    n >= 2 ** 14 &&
    n <= 2 ** 22 &&
    (n & (n - 1)) === 0 &&
    r! >= 8 &&
    r! <= 32 &&
    par! >= 1 &&
    par! <= 16 &&
    128 * n * r! <= 2 ** 30
  );
}

/** The 32-byte key-encryption key of a passphrase. */
export function deriveFromPassphrase(passphrase: string, salt: Uint8Array, p: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      passphrase.normalize('NFC'),
      salt,
      32,
      { N: p.N, r: p.r, p: p.p, maxmem: 128 * p.N * p.r + 2 ** 24 },
      (e, k) => (e ? reject(new StateStoreError('state_invalid', 'scrypt failed')) : resolve(k)),
    ),
  );
}
