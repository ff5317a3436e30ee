import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { aesKeyUnwrapPad, aesKeyWrapPad, hkdfSha256 } from '../primitives.js';
import type { Kms } from './kms.js';

interface KeyringFile {
  format: 'palisade-keyring-v1';
  /** Random salt for deriving the root key from the master secret. */
  salt: string;
  kek: { version: number; createdAt: number; wrapped: string }[];
}

/** Checks the shape of a keyring (from the file or from a backup's clear header) before any use. */
function parseKeyring(raw: unknown, where: string): KeyringFile {
  const r = raw as Partial<KeyringFile> | null;
  const ok =
    typeof r === 'object' &&
    r !== null &&
    r.format === 'palisade-keyring-v1' &&
    typeof r.salt === 'string' &&
    Array.isArray(r.kek) &&
    r.kek.every(
      (k) =>
        typeof k === 'object' &&
        k !== null &&
        Number.isInteger(k.version) &&
        typeof k.createdAt === 'number' &&
        typeof k.wrapped === 'string',
    );
  if (!ok) throw new Error(`${where} is not a Palisade keyring`);
  return r as KeyringFile;
}

/**
 * The default KMS: a keyring file in the data directory holding versioned KEKs, each wrapped
 * (AES-KWP) under a root key derived (HKDF-SHA-256) from a master secret that lives elsewhere
 * (`secret://env/...`, `secret://file/...`, or a generated file outside the data directory).
 * SECURITY: a copy of the data directory alone reveals no key; the keyring is rewritten atomically
 * (write then rename), so a crash during rotation leaves the old or the new keyring, never half.
 */
export class LocalKms implements Kms {
  readonly provider = 'local';
  private root: Buffer;
  private ring: KeyringFile;
  /** Set for a keyring held only in memory (a backup's, while a restore checks it): never written. */
  private readonly readOnly: boolean;

  /**
   * Opens the keyring at `keyringPath` (created when missing), or, when `inMemory` is given, that
   * keyring without reading or writing any file.
   */
  constructor(
    private readonly keyringPath: string,
    masterSecret: Uint8Array,
    private readonly now: () => number = () => Date.now(),
    inMemory?: { keyring: unknown },
  ) {
    if (masterSecret.length < 32) throw new Error('the master secret must hold at least 32 bytes');
    this.readOnly = inMemory !== undefined;
    if (inMemory) {
      this.ring = parseKeyring(inMemory.keyring, 'the keyring in this backup');
      if (this.ring.kek.length === 0) throw new Error('the keyring in this backup holds no KEK');
    } else if (existsSync(keyringPath)) {
      this.ring = parseKeyring(JSON.parse(readFileSync(keyringPath, 'utf8')), keyringPath);
    } else {
      this.ring = { format: 'palisade-keyring-v1', salt: randomBytes(32).toString('base64'), kek: [] };
    }
    this.root = hkdfSha256(
      masterSecret,
      Buffer.from(this.ring.salt, 'base64'),
      Buffer.from('palisade-local-kms-root-v1'),
      32,
    );
    if (this.ring.kek.length === 0) this.addVersion();
    // Fails now (not later) when the master secret does not match the keyring.
    this.kek(this.ring.kek[this.ring.kek.length - 1]!.version).fill(0);
  }

  /**
   * A keyring held in memory only (e.g. from a backup's header), to check that the master secret
   * opens it and to unwrap keys before anything on disk changes. Rotation and other writes throw.
   */
  static inMemory(keyring: unknown, masterSecret: Uint8Array): LocalKms {
    return new LocalKms('(in memory)', masterSecret, undefined, { keyring });
  }

  private addVersion(): number {
    const version = (this.ring.kek.at(-1)?.version ?? 0) + 1;
    const kek = randomBytes(32);
    try {
      this.write({
        ...this.ring,
        kek: [
          ...this.ring.kek,
          { version, createdAt: this.now(), wrapped: aesKeyWrapPad(this.root, kek).toString('base64') },
        ],
      });
    } finally {
      kek.fill(0);
    }
    return version;
  }

  /** Replaces the keyring file atomically (write, then rename). */
  private write(next: KeyringFile): void {
    if (this.readOnly) throw new Error('this keyring is held in memory only and cannot be changed');
    mkdirSync(dirname(this.keyringPath), { recursive: true, mode: 0o700 });
    const tmp = `${this.keyringPath}.tmp`;
    writeFileSync(tmp, JSON.stringify(next, null, 2), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.keyringPath);
    this.ring = next;
  }

  private kek(version: number): Buffer {
    const entry = this.ring.kek.find((k) => k.version === version);
    if (!entry) throw new Error(`no KEK version ${version} in the keyring`);
    try {
      return aesKeyUnwrapPad(this.root, Buffer.from(entry.wrapped, 'base64'));
    } catch {
      throw new Error('the master secret does not open this keyring (wrong secret, or the keyring was altered)');
    }
  }

  currentVersion(): Promise<number> {
    return Promise.resolve(this.ring.kek[this.ring.kek.length - 1]!.version);
  }

  /** Readiness: the keyring is loaded and the root key still opens its current KEK (zeroed at once). */
  async health(): Promise<string | undefined> {
    try {
      this.withKek(await this.currentVersion(), () => undefined);
      return undefined;
    } catch {
      return 'the local keyring cannot be opened with the master secret';
    }
  }

  versions() {
    return Promise.resolve(this.ring.kek.map((k) => ({ version: k.version, createdAt: k.createdAt })));
  }

  /** Runs `fn` with the unwrapped KEK, then zeroes it (S23: no KEK lingers in memory between calls). */
  private withKek<T>(version: number, fn: (kek: Buffer) => T): T {
    const kek = this.kek(version);
    try {
      return fn(kek);
    } finally {
      kek.fill(0);
    }
  }

  async wrap(dataKey: Uint8Array) {
    const version = await this.currentVersion();
    return { version, wrapped: this.withKek(version, (kek) => aesKeyWrapPad(kek, dataKey)) };
  }

  // `async` without `await` on purpose: a failed unwrap or keyring write is a rejection, as KmsProvider says.
  // eslint-disable-next-line @typescript-eslint/require-await -- the sync throw must become a rejection
  async unwrap(version: number, wrapped: Uint8Array) {
    return this.withKek(version, (kek) => aesKeyUnwrapPad(kek, wrapped));
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- the sync throw must become a rejection
  async rotate() {
    return this.addVersion();
  }

  /**
   * Re-seals the keyring under a new master secret (new salt, every KEK rewrapped; the KEKs themselves
   * do not change, so no data key needs rewrapping). Afterwards the old secret opens nothing written
   * from now on; destroying it makes backups that carry the old keyring unreadable.
   * Only with the server stopped: a running server keeps the old root in memory.
   */
  changeMasterSecret(newSecret: Uint8Array): void {
    if (newSecret.length < 32) throw new Error('the master secret must hold at least 32 bytes');
    const keks = this.ring.kek.map((k) => ({ ...k, key: this.kek(k.version) }));
    const salt = randomBytes(32);
    const root = hkdfSha256(newSecret, salt, Buffer.from('palisade-local-kms-root-v1'), 32);
    try {
      this.write({
        ...this.ring,
        salt: salt.toString('base64'),
        kek: keks.map((k) => ({
          version: k.version,
          createdAt: k.createdAt,
          wrapped: aesKeyWrapPad(root, k.key).toString('base64'),
        })),
      });
    } finally {
      for (const k of keks) k.key.fill(0);
    }
    this.root.fill(0);
    this.root = root;
  }

  async destroyVersion(version: number) {
    if (version === (await this.currentVersion())) throw new Error('the current KEK version cannot be destroyed');
    if (!this.ring.kek.some((k) => k.version === version)) throw new Error(`no KEK version ${version} in the keyring`);
    this.write({ ...this.ring, kek: this.ring.kek.filter((k) => k.version !== version) });
  }
}
