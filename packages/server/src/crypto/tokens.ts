import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

/** A url-safe random token of `bytes` random bytes (default 32 = 256 bits). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Fresh random key material (default 256 bits) for data keys. */
export function randomKey(bytes = 32): Buffer {
  return randomBytes(bytes);
}

/** A random id (UUID v4 without dashes: url-safe, 122 random bits). */
export function randomId(): string {
  return randomUUID().replaceAll('-', '');
}

/** SHA-256 of a string or bytes, hex encoded. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Compares two strings in time independent of where they differ.
 * SECURITY: use for every comparison of secrets or their hashes.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}
