import { z } from 'zod';
import { parseJsonBounded, type ParseResult } from './json.js';

/**
 * A device credential: the organisation's statement "device `deviceId` of user `userId` signs with
 * `signatureKey`". It is the MLS basic-credential identity of every leaf, and the leaf of the key
 * transparency log. Encoded as canonical JSON (fixed key order, no spaces), so the bytes are unique.
 */
export interface DeviceCredential {
  v: 1;
  userId: string;
  username: string;
  deviceId: string;
  /** base64url of the device's 32-byte Ed25519 public key (its MLS signature key). */
  signatureKey: string;
  /** ISO 8601 UTC. */
  issuedAt: string;
  /** Id of the organisation signing key that signed it. */
  keyId: string;
  /** base64url Ed25519 signature by that key over {@link credentialSigningMessage}. */
  signature: string;
}

/** The credential fields the organisation signs. */
export type UnsignedDeviceCredential = Omit<DeviceCredential, 'signature'>;

const MAX_CREDENTIAL_BYTES = 1024;
const b64 = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[A-Za-z0-9_-]+$/);
const Schema = z.strictObject({
  v: z.literal(1),
  userId: z.string().min(1).max(64),
  username: z.string().min(1).max(64),
  deviceId: z.string().min(1).max(64),
  signatureKey: b64(43).length(43),
  issuedAt: z.iso.datetime(),
  keyId: z.string().min(1).max(64),
  signature: b64(86).length(86),
});

function canonical(c: UnsignedDeviceCredential | DeviceCredential): string {
  const o: Record<string, unknown> = {
    v: c.v,
    userId: c.userId,
    username: c.username,
    deviceId: c.deviceId,
    signatureKey: c.signatureKey,
    issuedAt: c.issuedAt,
    keyId: c.keyId,
  };
  if ('signature' in c) o.signature = c.signature;
  return JSON.stringify(o);
}

/**
 * The exact text the organisation key signs for a credential.
 * SECURITY: a fixed context string, so a credential signature can never be replayed as another kind
 * of signature by the same key (tree heads use a different context).
 */
export function credentialSigningMessage(c: UnsignedDeviceCredential): string {
  return `palisade-device-credential-v1:${canonical(c)}`;
}

/** The credential as bytes (the MLS identity and the transparency-log leaf). */
export function encodeDeviceCredential(c: DeviceCredential): Uint8Array {
  return new TextEncoder().encode(canonical(c));
}

/**
 * Reads credential bytes. Never throws. SECURITY: only the canonical encoding is accepted, so one
 * credential has exactly one byte form (what the log and the tree commit to).
 */
export function decodeDeviceCredential(bytes: Uint8Array): ParseResult<DeviceCredential> {
  if (bytes.length > MAX_CREDENTIAL_BYTES) return { ok: false, code: 'bad_request', message: 'credential too large' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, code: 'bad_request', message: 'credential is not UTF-8' };
  }
  const json = parseJsonBounded(text, MAX_CREDENTIAL_BYTES, 2);
  if (!json.ok) return json;
  const parsed = Schema.safeParse(json.value);
  if (!parsed.success) return { ok: false, code: 'bad_request', message: 'not a device credential' };
  const value: DeviceCredential = parsed.data;
  if (canonical(value) !== text) return { ok: false, code: 'bad_request', message: 'credential is not canonical' };
  return { ok: true, value };
}
