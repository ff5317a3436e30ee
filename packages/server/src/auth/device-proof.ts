import { deviceProofMessage } from '@palisade/protocol';
import { randomToken, verifyEd25519 } from '../crypto/index.js';

/** A fresh challenge for one connection (256 random bits). */
export function newChallenge(): string {
  return randomToken(32);
}

/**
 * Checks that `signature` is the device key's signature over this connection's challenge.
 * SECURITY: a stolen token alone is useless: the proof needs the device's private key.
 */
export function verifyDeviceProof(publicKeyB64Url: string, nonce: string, signatureB64Url: string): boolean {
  const message = new TextEncoder().encode(deviceProofMessage(nonce));
  return verifyEd25519(Buffer.from(publicKeyB64Url, 'base64url'), message, Buffer.from(signatureB64Url, 'base64url'));
}
