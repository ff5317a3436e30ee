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
}
