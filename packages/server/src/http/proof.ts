import { HTTP_PROOF_WINDOW_MS, httpProofMessage } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import { sha256Hex, verifyEd25519 } from '../crypto/index.js';

/** How far (each way) a request's proof timestamp may be from the server's clock (SECURITY-BASELINE: <= 30 s). */
export const PROOF_WINDOW_MS = HTTP_PROOF_WINDOW_MS;

/** SHA-256 of zero bytes: the body hash of a request without a body. */
export const EMPTY_BODY_SHA256 = sha256Hex(new Uint8Array(0));

/** One request as the proof check sees it. */
export interface ProofRequest {
  method: string;
  /** The request target as received (path and query, not normalised). */
  url: string;
  /** The session token from `Authorization` (hashed into the signed string, never stored). */
  token: string;
  /** Hex SHA-256 of the raw body bytes, or EMPTY_BODY_SHA256. */
  bodySha256: string;
}

/**
 * Remembers the proofs each device has used while they are inside the window, so each is accepted
 * once. Bounded: an entry lives only until its timestamp leaves the window, and a device may hold at
 * most `maxPerDevice` live entries (past that, its requests are refused until entries expire).
 * SECURITY: in memory and per process: with several nodes, a proof could be replayed once on each
 * other node within the window (documented in docs/protocol.md).
 */
export class ProofReplayCache {
  private readonly byDevice = new Map<string, Map<string, number>>();
  private nextSweep = 0;

  constructor(
    private readonly windowMs = PROOF_WINDOW_MS,
    private readonly maxPerDevice = 10_000,
  ) {}

  /** Number of remembered proofs (all devices). */
  get size(): number {
    let n = 0;
    for (const m of this.byDevice.values()) n += m.size;
    return n;
  }

  /** Records a proof; throws `device_proof_failed` when it was seen before, `rate_limited` when the device is over its cap. */
  remember(deviceId: string, ts: number, signature: string, now: number): void {
    if (now >= this.nextSweep) this.sweep(now);
    let seen = this.byDevice.get(deviceId);
    if (!seen) this.byDevice.set(deviceId, (seen = new Map<string, number>()));
    const key = `${ts}.${signature}`;
    if (seen.has(key))
      throw new AppError('device_proof_failed', 'this proof was already used; sign every request afresh');
    if (seen.size >= this.maxPerDevice) {
      for (const [k, expiry] of seen) if (expiry <= now) seen.delete(k);
      if (seen.size >= this.maxPerDevice)
        throw new AppError('rate_limited', 'too many requests from this device', { retryAfterMs: this.windowMs });
    }
    seen.set(key, ts + this.windowMs);
  }

  private sweep(now: number): void {
    this.nextSweep = now + this.windowMs;
    for (const [device, seen] of this.byDevice) {
      for (const [k, expiry] of seen) if (expiry <= now) seen.delete(k);
      if (seen.size === 0) this.byDevice.delete(device);
    }
  }
}

/**
 * Checks the `X-Palisade-Proof: <unix-ms>.<signature>` header: the device key's signature over the
 * method, target, body hash, session and time of this request; then records it as used.
 * SECURITY: binds every authenticated HTTP request to the device key, the session and the exact body,
 * so neither a token alone nor a captured (token, proof) pair can be reused.
 */
export function assertHttpProof(
  header: string | undefined,
  req: ProofRequest,
  device: { id: string; publicKey: string },
  now: number,
  replay: ProofReplayCache,
): void {
  if (!header) throw new AppError('device_proof_failed', 'send the X-Palisade-Proof header');
  const dot = header.indexOf('.');
  const ts = Number(header.slice(0, dot));
  if (
    dot < 1 ||
    !/^\d+$/.test(header.slice(0, dot)) ||
    !Number.isSafeInteger(ts) ||
    Math.abs(now - ts) > PROOF_WINDOW_MS
  ) {
    throw new AppError('device_proof_failed', 'proof timestamp missing or outside the allowed window');
  }
  const signature = Buffer.from(header.slice(dot + 1), 'base64url');
  const message = httpProofMessage({
    method: req.method,
    pathAndQuery: req.url,
    unixMs: ts,
    bodySha256: req.bodySha256,
    sessionSha256: sha256Hex(req.token),
  });
  if (!verifyEd25519(Buffer.from(device.publicKey, 'base64url'), new TextEncoder().encode(message), signature)) {
    throw new AppError('device_proof_failed');
  }
  // SECURITY: only after the signature holds, so nobody can fill another device's cache. Keyed on the
  // decoded bytes: base64url is decoded leniently, so the header text is not canonical.
  replay.remember(device.id, ts, signature.toString('base64url'), now);
}
