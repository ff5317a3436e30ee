/**
 * The device's E2EE state store: a small key-value store for MLS state (unused KeyPackage private
 * halves, each group's encoded state, and whatever else the SDK must keep between runs). Platform
 * neutral: the Node store lives in `node/file-state-store.ts`; `MemoryStateStore` serves tests and,
 * until IndexedDB arrives, browsers.
 *
 * SECURITY: the SDK saves a group's new state (and deletes a used KeyPackage secret) with ONE
 * `putMany` before it acts on an MLS result, so a crash never leaves a device with half an epoch.
 */

/** Stable codes of state-store failures. */
export type StateStoreErrorCode =
  /** The store key could not be obtained: a wrong passphrase, a missing keyring entry or key file. */
  | 'state_locked'
  /** A record, the manifest or the header failed authentication or does not parse: tampered or damaged. */
  | 'state_corrupt'
  /** Another process has the store open. */
  | 'state_busy'
  /** A bad argument (key name, value, passphrase), or the store was closed. */
  | 'state_invalid'
  /** The platform could not read or write the store (disk full, permissions, not a folder). */
  | 'state_io';

/** A state-store failure with a stable code (never a stack trace for the user). */
export class StateStoreError extends Error {
  constructor(
    readonly code: StateStoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StateStoreError';
  }
}

/** An encrypted, atomic key-value store for one device's MLS state. */
export interface StateStore {
  /** The value under `key`, or undefined. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Stores `value` under `key`, durably, replacing any value. */
  put(key: string, value: Uint8Array): Promise<void>;
  /** Applies every entry atomically: all or none; an `undefined` value deletes the key. */
  putMany(entries: [string, Uint8Array | undefined][]): Promise<void>;
  /** Removes `key` (no error when absent). */
  delete(key: string): Promise<void>;
  /** The keys that start with `prefix`, sorted. */
  keys(prefix: string): Promise<string[]>;
}

/** Longest key name, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 512;
/** Largest value (64 MiB): group states are a few hundred KB. */
export const MAX_VALUE_BYTES = 64 * 1024 * 1024;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Throws `state_invalid` unless `key` is a well-formed, non-empty key name of at most 512 bytes. */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0)
    throw new StateStoreError('state_invalid', 'a key must be a non-empty string');
  if (LONE_SURROGATE.test(key)) throw new StateStoreError('state_invalid', 'a key must be well-formed Unicode');
  if (new TextEncoder().encode(key).length > MAX_KEY_BYTES)
    throw new StateStoreError('state_invalid', `a key must be at most ${MAX_KEY_BYTES} bytes`);
}

/** Throws `state_invalid` unless `value` is a Uint8Array of at most 64 MiB. */
export function checkValue(value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new StateStoreError('state_invalid', 'a value must be a Uint8Array');
  if (value.length > MAX_VALUE_BYTES)
    throw new StateStoreError('state_invalid', `a value must be at most ${MAX_VALUE_BYTES} bytes`);
}

/** Throws `state_invalid` unless `prefix` is a string. */
export function checkPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string') throw new StateStoreError('state_invalid', 'a prefix must be a string');
}

/** Checks a whole batch before anything is applied; the last entry for a key wins. */
export function checkEntries(entries: unknown): Map<string, Uint8Array | undefined> {
  if (!Array.isArray(entries)) throw new StateStoreError('state_invalid', 'entries must be an array');
  const batch = new Map<string, Uint8Array | undefined>();
  for (const entry of entries as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 2)
      throw new StateStoreError('state_invalid', 'each entry is a [key, value] pair');
    const [key, value] = entry as [unknown, unknown];
    checkKey(key);
    if (value !== undefined) checkValue(value);
    batch.set(key, value);
  }
  return batch;
}

/**
 * A store in memory (tests; browsers until IndexedDB). Values are copied in and out, so a caller that
 * changes its buffer afterwards changes nothing stored.
 */
export class MemoryStateStore implements StateStore {
  readonly #records = new Map<string, Uint8Array>();

  async get(key: string): Promise<Uint8Array | undefined> {
    await Promise.resolve();
    checkKey(key);
    return this.#records.get(key)?.slice();
  }

  put(key: string, value: Uint8Array): Promise<void> {
    return this.putMany([[key, value]]);
  }

  async putMany(entries: [string, Uint8Array | undefined][]): Promise<void> {
    await Promise.resolve();
    const batch = checkEntries(entries); // all checked before any change: all or none
    for (const [key, value] of batch) {
      if (value === undefined) this.#records.delete(key);
      else this.#records.set(key, value.slice());
    }
  }

  delete(key: string): Promise<void> {
    return this.putMany([[key, undefined]]);
  }

  async keys(prefix: string): Promise<string[]> {
    await Promise.resolve();
    checkPrefix(prefix);
    return [...this.#records.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}
