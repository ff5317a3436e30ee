import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import {
  deviceProofMessage,
  gossipSigningMessage,
  httpProofMessage,
  ssoProofMessage,
  type SignedTreeHead,
} from '@palisade/protocol';
import { fromBase64Url, toBase64Url, utf8 } from './bytes.js';

/**
 * This device's Ed25519 key. The private half never leaves the device; the server knows only the
 * public key and checks signatures over its challenges.
 */
export class DeviceKey {
  private constructor(private readonly secret: Uint8Array) {}

  /** A new random key. */
  static generate(): DeviceKey {
    return new DeviceKey(ed25519.utils.randomSecretKey());
  }

  /** Restores a key saved with `export()`. */
  static import(saved: string): DeviceKey {
    const bytes = fromBase64Url(saved);
    if (bytes.length !== 32) throw new Error('a device key is 32 bytes');
    return new DeviceKey(bytes);
  }

  /** The private key as base64url, for the device's own protected storage. */
  export(): string {
    return toBase64Url(this.secret);
  }

  /** The public key as base64url (what the server stores). */
  get publicKey(): string {
    return toBase64Url(ed25519.getPublicKey(this.secret));
  }

  /** Signs the server's connection challenge. */
  signChallenge(nonce: string): string {
    return toBase64Url(ed25519.sign(utf8(deviceProofMessage(nonce)), this.secret));
  }

  /** Proves this device started a single sign-on, to collect its session. */
  signSso(ssoId: string): string {
    return toBase64Url(ed25519.sign(utf8(ssoProofMessage(ssoId)), this.secret));
  }

  /** Signs a tree head this device verified, for its sibling devices (`palisade-kt-gossip-v1:`). */
  signGossip(head: SignedTreeHead): string {
    return toBase64Url(ed25519.sign(utf8(gossipSigningMessage(head)), this.secret));
  }

  /**
   * The `X-Palisade-Proof` header value for one HTTP request: `<unix-ms>.<signature>` over the
   * method, the path and query as sent, the SHA-256 of the exact body bytes and the SHA-256 of the
   * session token. Pure JavaScript hashing (@noble/hashes), so it works in browsers too.
   * SECURITY: the server accepts each proof once, within 30 s of its time: use a new, strictly
   * increasing `nowMs` for every request (the `Api` class does).
   */
  httpProof(method: string, pathAndQuery: string, nowMs: number, token: string, body?: string | Uint8Array): string {
    if (typeof token !== 'string' || token === '')
      throw new TypeError('httpProof(method, path, nowMs, token, body?) needs the session token (proof v2)');
    const bytes = body === undefined ? new Uint8Array(0) : typeof body === 'string' ? utf8(body) : body;
    const message = httpProofMessage({
      method,
      pathAndQuery,
      unixMs: nowMs,
      bodySha256: bytesToHex(sha256(bytes)),
      sessionSha256: bytesToHex(sha256(utf8(token))),
    });
    return `${nowMs}.${toBase64Url(ed25519.sign(utf8(message), this.secret))}`;
  }
}
