import { decodeMlsMessage, encodeMlsMessage, type KeyPackage, type MLSMessage, type PrivateKeyPackage } from 'ts-mls';
import { MlsError, type MlsPeek } from './adapter.js';

/**
 * Byte formats of the ts-mls adapter that are ours (not RFC 9420): the private half of a
 * KeyPackage and the group snapshot header. Every decoder here throws only MlsError('decode').
 */

/** Decodes a whole MLSMessage (no trailing bytes). Throws MlsError('decode'). */
export function decodeMessage(bytes: Uint8Array): MLSMessage {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new MlsError('decode', 'empty MLS message');
  let decoded: [MLSMessage, number] | undefined;
  try {
    decoded = decodeMlsMessage(bytes, 0);
  } catch {
    decoded = undefined;
  }
  if (decoded === undefined) throw new MlsError('decode', 'not an MLS message');
  if (decoded[1] !== bytes.length) throw new MlsError('decode', 'trailing bytes after the MLS message');
  if (decoded[0].version !== 'mls10') throw new MlsError('decode', 'not MLS 1.0');
  return decoded[0];
}

/** Encodes an MLSMessage of MLS 1.0. */
export const encodeMessage = (m: MLSMessage): Uint8Array => encodeMlsMessage(m);

/** Reads header facts without keys. Throws MlsError('decode'). */
export function peekMessage(bytes: Uint8Array): MlsPeek {
  return peekDecoded(decodeMessage(bytes));
}

/** The header facts of a decoded message. */
export function peekDecoded(m: MLSMessage): MlsPeek {
  switch (m.wireformat) {
    case 'mls_private_message':
      return {
        wireformat: 'private_message',
        groupId: m.privateMessage.groupId,
        epoch: Number(m.privateMessage.epoch),
        contentType: m.privateMessage.contentType,
      };
    case 'mls_public_message':
      return {
        wireformat: 'public_message',
        groupId: m.publicMessage.content.groupId,
        epoch: Number(m.publicMessage.content.epoch),
        contentType: m.publicMessage.content.contentType,
      };
    case 'mls_group_info':
      return {
        wireformat: 'group_info',
        groupId: m.groupInfo.groupContext.groupId,
        epoch: Number(m.groupInfo.groupContext.epoch),
      };
    case 'mls_welcome':
      return { wireformat: 'welcome' };
    case 'mls_key_package':
      return { wireformat: 'key_package' };
  }
}

const KP_SECRET_VERSION = 1;

function putField(out: number[], b: Uint8Array): void {
  out.push((b.length >>> 24) & 0xff, (b.length >>> 16) & 0xff, (b.length >>> 8) & 0xff, b.length & 0xff);
  for (const x of b) out.push(x);
}

/**
 * The private half of a KeyPackage as stored by the device: version 1, then four length-prefixed
 * fields (the MLSMessage KeyPackage, init key, leaf HPKE key, signature key).
 * SECURITY: it holds the device's signature secret as well (ts-mls needs it to join): store it as
 * carefully as the device key itself.
 */
export function encodeKeyPackageSecret(publicPackage: Uint8Array, priv: PrivateKeyPackage): Uint8Array {
  const out: number[] = [KP_SECRET_VERSION];
  putField(out, publicPackage);
  putField(out, priv.initPrivateKey);
  putField(out, priv.hpkePrivateKey);
  putField(out, priv.signaturePrivateKey);
  return Uint8Array.from(out);
}

/** Reads {@link encodeKeyPackageSecret}. Throws MlsError('decode'). */
export function decodeKeyPackageSecret(bytes: Uint8Array): { keyPackage: KeyPackage; priv: PrivateKeyPackage } {
  const bad = () => new MlsError('decode', 'not a KeyPackage secret');
  if (!(bytes instanceof Uint8Array) || bytes[0] !== KP_SECRET_VERSION) throw bad();
  let at = 1;
  const fields: Uint8Array[] = [];
  for (let i = 0; i < 4; i++) {
    if (at + 4 > bytes.length) throw bad();
    const n =
      (((bytes[at] ?? 0) << 24) | ((bytes[at + 1] ?? 0) << 16) | ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0)) >>>
      0;
    at += 4;
    if (at + n > bytes.length) throw bad();
    fields.push(bytes.slice(at, at + n));
    at += n;
  }
  if (at !== bytes.length) throw bad();
  const [kp, initPrivateKey, hpkePrivateKey, signaturePrivateKey] = fields as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ];
  const m = decodeMessage(kp);
  if (m.wireformat !== 'mls_key_package') throw bad();
  return { keyPackage: m.keyPackage, priv: { initPrivateKey, hpkePrivateKey, signaturePrivateKey } };
}

/** Lower-case hex. */
export function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
