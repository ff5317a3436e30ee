/**
 * Seals what the server must keep but must not store in clear. Implemented by the keys module's
 * envelope encryption (per-scope data keys wrapped by the KMS).
 */
export interface Sealer {
  /**
   * AES-256-GCM under the current key of `scope` (default: the server's own); `aad` binds the value
   * to where it is stored (table, column, row).
   */
  seal(plaintext: Uint8Array, aad: string, scope?: string): Promise<string>;
  /** Opens a sealed value; throws if it was altered or moved to another place (aad). */
  unseal(sealed: string, aad: string): Promise<Uint8Array>;
  /** Binary form of `seal` for BLOB columns (message payloads): smaller and faster, same guarantees. */
  sealBytes(plaintext: Uint8Array, aad: string, scope: string): Promise<Uint8Array>;
  /**
   * Like `sealBytes`, but never creates a data key: undefined when `scope` has no active key yet.
   * For callers that must authorize before anything is created (a send to a conversation).
   */
  sealBytesIfKeyed(plaintext: Uint8Array, aad: string, scope: string): Promise<Uint8Array | undefined>;
  /** Opens `sealBytes` output. */
  unsealBytes(sealed: Uint8Array, aad: string): Promise<Uint8Array>;
  /**
   * Loads (creating it if needed) the active key of `scope`, so that `sealText` can then run inside a
   * database transaction without touching the database.
   */
  prepare(scope: string): Promise<void>;
  /** Seals text under a prepared scope, synchronously; throws if `prepare(scope)` was not awaited. */
  sealText(text: string, aad: string, scope: string): string;
  /** Opens a value sealed by `sealText`. */
  openText(sealed: string, aad: string): Promise<string>;
  /** Crypto-shredding: destroys every data key of a scope; what they sealed can never be read again. */
  destroyScope(scope: string): Promise<number>;
  /** Keyed blind index (HMAC-SHA-256 under a KMS-wrapped key) for exact lookup of a sealed value. */
  blindIndex(purpose: string, value: string): Promise<string>;
}
