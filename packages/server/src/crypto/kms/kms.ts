/**
 * A key management service holds the key-encryption keys (KEKs) and never lets them out: callers hand
 * it data keys to wrap and wrapped keys to unwrap. KEKs are versioned; rotation adds a version and
 * old versions stay usable for unwrapping until every data key has been rewrapped.
 */
export interface Kms {
  /** Provider name for status output (`local`, `pkcs11`). */
  readonly provider: string;
  /** The version new data keys are wrapped under. */
  currentVersion(): Promise<number>;
  /** Every KEK version with when it was created. */
  versions(): Promise<{ version: number; createdAt: number }[]>;
  /** Wraps a data key under the current KEK; returns the version used. */
  wrap(dataKey: Uint8Array): Promise<{ version: number; wrapped: Buffer }>;
  /** Unwraps a data key wrapped under `version`; throws on any alteration. */
  unwrap(version: number, wrapped: Uint8Array): Promise<Buffer>;
  /** Creates a new KEK version and makes it current. */
  rotate(): Promise<number>;
  /**
   * Destroys an old KEK version for good (never the current one): whatever is wrapped only by it,
   * including in old backups, can no longer be opened. The caller checks nothing live still uses it.
   */
  destroyVersion(version: number): Promise<void>;
  /**
   * A cheap readiness check (no key leaves the KMS): undefined when the provider can wrap and unwrap
   * now, otherwise why not. Providers without one count as healthy.
   */
  health?(): Promise<string | undefined>;
}
