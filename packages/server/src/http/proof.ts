import { httpProofMessage } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import { verifyEd25519 } from '../crypto/index.js';

/** How far a request's proof timestamp may be from the server's clock. */
export const PROOF_WINDOW_MS = 120_000;

/**
 * Checks the `X-Palisade-Proof: <unix-ms>.<signature>` header: the device key's signature over the
 * method, path and time of this request.
 * SECURITY: binds every authenticated HTTP request to the device key, so a token alone is useless.
 */
export function assertHttpProof(header: string | undefined, method: string, url: string, publicKey: string, now: number): void {
  if (!header) throw new AppError('device_proof_failed', 'send the X-Palisade-Proof header');
  const dot = header.indexOf('.');
  const ts = Number(header.slice(0, dot));
  if (dot < 1 || !Number.isSafeInteger(ts) || Math.abs(now - ts) > PROOF_WINDOW_MS) throw new AppError('device_proof_failed', 'proof timestamp missing or outside the allowed window');
  const message = new TextEncoder().encode(httpProofMessage(method, url, ts));
  if (!verifyEd25519(Buffer.from(publicKey, 'base64url'), message, Buffer.from(header.slice(dot + 1), 'base64url'))) {
    throw new AppError('device_proof_failed');
  }
}
