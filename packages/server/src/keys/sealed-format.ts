/**
 * The stored forms of a sealed value, in one place:
 * - text `v2.<keyId>.<nonce>.<ciphertext>.<tag>` (base64url parts), for TEXT columns;
 * - binary `0x02, key-id length, key id, 12-byte nonce, ciphertext, 16-byte tag`, for BLOB columns.
 * Both bind the data-key id into the AAD (`boundAad`).
 */
export const TEXT_FORMAT = 'v2';
export const BINARY_FORMAT = 0x02;

/** The AAD actually given to AES-GCM: where the value belongs, plus the data key that sealed it. */
export const boundAad = (aad: string, keyId: string): Buffer => Buffer.from(`${aad}|key:${keyId}`);

/** True when a stored text is an envelope-sealed value. */
export function isSealedText(v: string): boolean {
  return /^v2\.[A-Za-z0-9_-]{10,40}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$/.test(v);
}

/** The data-key id inside a sealed text value. */
export function keyIdOf(v: string): string | undefined {
  return isSealedText(v) ? v.split('.')[1] : undefined;
}

/** The data-key id inside a binary sealed value (or inside the text form stored as bytes). */
export function keyIdOfBytes(b: Uint8Array): string | undefined {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf[0] !== BINARY_FORMAT) return keyIdOf(buf.toString());
  const n = buf[1] ?? 0;
  if (n < 1 || buf.length < 2 + n + 12 + 16) return undefined;
  return buf.toString('latin1', 2, 2 + n);
}
