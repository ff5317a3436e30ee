import type { Clock } from '../core/index.js';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  hkdfSha256,
  hmacSha256,
  newGcmNonce,
  randomId,
  randomKey,
  type Kms,
  type Sealer,
} from '../crypto/index.js';
import type { Db } from '../store/index.js';
import { TABLE_SCOPES } from './sealed-fields.js';
import { BINARY_FORMAT, boundAad, keyIdOfBytes, TEXT_FORMAT } from './sealed-format.js';

const DEFAULT_SCOPE = 'server';
/** Scope of the blind-index key: never retired by `--reencrypt` (indexes must stay comparable). */
export const INDEX_SCOPE = 'index';

/** Thrown when a value's data key was destroyed (crypto-shredding): the value is gone for good. */
export class KeyDestroyedError extends Error {
  constructor() {
    super('the data key of this value was destroyed');
    this.name = 'KeyDestroyedError';
  }
}

/** AES-256-GCM under a data key with a fresh nonce; the AAD is bound to the key id. */
function encrypt(id: string, key: Buffer, plaintext: Uint8Array, aad: string): { iv: Buffer; ct: Buffer; tag: Buffer } {
  // SECURITY (S23): a destroyed key is zeroed in memory; a seal that raced with its destruction must
  // fail, never encrypt under an all-zero key.
  if (key.every((b) => b === 0)) throw new KeyDestroyedError();
  const iv = newGcmNonce();
  return { iv, ...aesGcmEncrypt(key, iv, plaintext, boundAad(aad, id)) };
}

/**
 * Envelope encryption: each scope (the server, a user, a conversation) has a data key, stored wrapped
 * by the KMS's current KEK; values are sealed with AES-256-GCM under their scope's key, with AAD that
 * binds table, column, row and key id, so a ciphertext moved elsewhere does not open.
 * Stored forms: see sealed-format.ts. Unwrapped keys are cached in memory.
 */
export class EnvelopeSealer implements Sealer {
  private readonly cache = new Map<string, Buffer>();
  private readonly current = new Map<string, string>();

  constructor(
    private readonly db: Db,
    private readonly kms: Kms,
    private readonly clock: Clock,
  ) {}

  /** The active data key of a scope, created on first use. */
  private async activeKey(scope: string): Promise<{ id: string; key: Buffer }> {
    return (await this.existingKey(scope)) ?? this.createKey(scope);
  }

  /** The active data key of a scope if it has one; never creates one. */
  private async existingKey(scope: string): Promise<{ id: string; key: Buffer } | undefined> {
    const cached = this.current.get(scope);
    if (cached) return { id: cached, key: await this.keyById(cached) };
    const row = await this.db
      .selectFrom('data_keys')
      .select('id')
      .where('scope', '=', scope)
      .where('retired_at', 'is', null)
      .where('destroyed_at', 'is', null)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    if (!row) return undefined;
    this.current.set(scope, row.id);
    return { id: row.id, key: await this.keyById(row.id) };
  }

  private async createKey(scope: string): Promise<{ id: string; key: Buffer }> {
    const key = randomKey(32);
    const { version, wrapped } = await this.kms.wrap(key);
    const id = randomId();
    await this.db
      .insertInto('data_keys')
      .values({
        id,
        scope,
        kek_version: version,
        wrapped: wrapped.toString('base64'),
        created_at: this.clock.now(),
        retired_at: null,
        destroyed_at: null,
      })
      .execute();
    this.cache.set(id, key);
    this.current.set(scope, id);
    return { id, key };
  }

  private async keyById(id: string): Promise<Buffer> {
    const hit = this.cache.get(id);
    if (hit) return hit;
    const row = await this.db.selectFrom('data_keys').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new Error('unknown data key');
    if (row.destroyed_at !== null) throw new KeyDestroyedError();
    const key = await this.kms.unwrap(row.kek_version, Buffer.from(row.wrapped, 'base64'));
    if (this.cache.size > 10_000) {
      // Keep the active keys (sealText needs them without touching the database); drop the rest.
      const active = new Set(this.current.values());
      for (const k of this.cache.keys()) if (!active.has(k)) this.cache.delete(k);
    }
    this.cache.set(id, key);
    return key;
  }

  /** The active key of a scope when it is loaded already (no promise, no database). */
  private loaded(scope: string): { id: string; key: Buffer } | undefined {
    const id = this.current.get(scope);
    const key = id === undefined ? undefined : this.cache.get(id);
    return id !== undefined && key ? { id, key } : undefined;
  }

  async seal(plaintext: Uint8Array, aad: string, scope = DEFAULT_SCOPE): Promise<string> {
    const { id, key } = this.loaded(scope) ?? (await this.activeKey(scope));
    return this.sealWith(id, key, plaintext, aad);
  }

  /**
   * Binary form for large values in BLOB columns (message payloads): no base64, 62 bytes of overhead.
   * Layout: 0x02, key-id length, key id, 12-byte nonce, ciphertext, 16-byte tag; same AAD as text.
   */
  async sealBytes(plaintext: Uint8Array, aad: string, scope: string): Promise<Buffer> {
    const { id, key } = this.loaded(scope) ?? (await this.activeKey(scope));
    return this.bytesWith(id, key, plaintext, aad);
  }

  private bytesWith(id: string, key: Buffer, plaintext: Uint8Array, aad: string): Buffer {
    const { iv, ct, tag } = encrypt(id, key, plaintext, aad);
    const idBytes = Buffer.from(id, 'latin1');
    return Buffer.concat([Buffer.from([BINARY_FORMAT, idBytes.length]), idBytes, iv, ct, tag]);
  }

  async sealBytesIfKeyed(plaintext: Uint8Array, aad: string, scope: string): Promise<Buffer | undefined> {
    const k = this.loaded(scope) ?? (await this.existingKey(scope));
    return k && this.bytesWith(k.id, k.key, plaintext, aad);
  }

  /** Opens `sealBytes` output, or the text form stored as bytes by earlier versions. */
  async unsealBytes(sealed: Uint8Array, aad: string): Promise<Uint8Array> {
    const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (b[0] !== BINARY_FORMAT) return this.unseal(b.toString(), aad);
    const id = keyIdOfBytes(b);
    if (id === undefined) throw new Error('not an envelope-sealed value');
    const at = 2 + id.length;
    const key = this.cache.get(id) ?? (await this.keyById(id));
    return aesGcmDecrypt(
      key,
      b.subarray(at, at + 12),
      b.subarray(at + 12, b.length - 16),
      b.subarray(b.length - 16),
      boundAad(aad, id),
    );
  }

  async prepare(scope: string): Promise<void> {
    await this.activeKey(scope);
  }

  /** Loads, at start, the scopes sealed inside transactions (server, blind index, table scopes). */
  async prepareServerScopes(): Promise<void> {
    for (const scope of [DEFAULT_SCOPE, INDEX_SCOPE, ...TABLE_SCOPES]) await this.prepare(scope);
  }

  sealText(text: string, aad: string, scope: string): string {
    const k = this.loaded(scope);
    // SECURITY: never falls back to storing clear text; a missing prepare() is a programming error.
    if (!k) throw new Error(`data key of scope ${scope} not prepared before sealing`);
    return this.sealWith(k.id, k.key, Buffer.from(text, 'utf8'), aad);
  }

  async openText(sealed: string, aad: string): Promise<string> {
    return Buffer.from(await this.unseal(sealed, aad)).toString('utf8');
  }

  async blindIndex(purpose: string, value: string): Promise<string> {
    // The index key is derived from the data key of scope `index`; it is rewrapped with every KEK
    // rotation but never retired, so indexes stay valid.
    const { key } = await this.activeKey(INDEX_SCOPE);
    const k = hkdfSha256(key, Buffer.alloc(0), Buffer.from(`palisade-blind-index:${purpose}`), 32);
    try {
      return hmacSha256(k, Buffer.from(value, 'utf8')).toString('base64url');
    } finally {
      k.fill(0); // S23: the derived index key lives for this call only
    }
  }

  private sealWith(id: string, key: Buffer, plaintext: Uint8Array, aad: string): string {
    const { iv, ct, tag } = encrypt(id, key, plaintext, aad);
    return [TEXT_FORMAT, id, iv.toString('base64url'), ct.toString('base64url'), tag.toString('base64url')].join('.');
  }

  async unseal(sealed: string, aad: string): Promise<Uint8Array> {
    const [format, id, iv, ct, tag] = sealed.split('.');
    if (format !== TEXT_FORMAT || !id || !iv || ct === undefined || !tag)
      throw new Error('not an envelope-sealed value');
    const key = this.cache.get(id) ?? (await this.keyById(id));
    return aesGcmDecrypt(
      key,
      Buffer.from(iv, 'base64url'),
      Buffer.from(ct, 'base64url'),
      Buffer.from(tag, 'base64url'),
      boundAad(aad, id),
    );
  }

  /**
   * Retires the active data key of every scope (but the blind-index key): new values get new keys,
   * old values still open until `resealAll` moves them.
   */
  async retireActiveKeys(): Promise<void> {
    const live = await this.db
      .selectFrom('data_keys')
      .select('id')
      .where('retired_at', 'is', null)
      .where('destroyed_at', 'is', null)
      .where('scope', '!=', INDEX_SCOPE)
      .execute();
    if (live.length > 0)
      await this.db
        .updateTable('data_keys')
        .set({ retired_at: this.clock.now() })
        .where(
          'id',
          'in',
          live.map((r) => r.id),
        )
        .execute();
    // Scopes loaded in memory get their new key now (so sealText keeps working); others on next use.
    for (const scope of [...this.current.keys()]) {
      if (scope === INDEX_SCOPE) continue;
      this.current.delete(scope);
      await this.activeKey(scope);
    }
  }

  /** Ids of retired data keys that still exist (their values may need resealing). */
  async retiredKeyIds(): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom('data_keys')
      .select('id')
      .where('retired_at', 'is not', null)
      .where('destroyed_at', 'is', null)
      .execute();
    return new Set(rows.map((r) => r.id));
  }

  /** Crypto-shredding: destroys every data key of a scope; what they sealed can never be read again. */
  async destroyScope(scope: string): Promise<number> {
    const ids = await this.db.selectFrom('data_keys').select('id').where('scope', '=', scope).execute();
    const r = await this.db
      .updateTable('data_keys')
      .set({ destroyed_at: this.clock.now(), wrapped: '' })
      .where('scope', '=', scope)
      .where('destroyed_at', 'is', null)
      .executeTakeFirst();
    this.current.delete(scope);
    for (const { id } of ids) {
      // SECURITY (S23): zero the unwrapped key, not just drop the reference (encrypt refuses a zero key).
      this.cache.get(id)?.fill(0);
      this.cache.delete(id);
    }
    return Number(r.numUpdatedRows);
  }

  /**
   * Rewraps every live data key under the KMS's current KEK, one row at a time (online, and safe to
   * interrupt: each row is either old or new, and running it again finishes the job).
   */
  async rewrapAll(): Promise<number> {
    const version = await this.kms.currentVersion();
    const rows = await this.db
      .selectFrom('data_keys')
      .select(['id', 'kek_version', 'wrapped'])
      .where('destroyed_at', 'is', null)
      .where('kek_version', '<', version)
      .execute();
    let done = 0;
    for (const r of rows) {
      const key = await this.kms.unwrap(r.kek_version, Buffer.from(r.wrapped, 'base64'));
      const w = await this.kms.wrap(key);
      await this.db
        .updateTable('data_keys')
        .set({ kek_version: w.version, wrapped: w.wrapped.toString('base64') })
        .where('id', '=', r.id)
        .where('kek_version', '=', r.kek_version)
        .execute();
      done++;
    }
    return done;
  }

  /** Data keys per KEK version and destroyed keys, for `palisade keys status`. */
  async status() {
    const rows = await this.db.selectFrom('data_keys').select(['kek_version', 'destroyed_at']).execute();
    const perVersion: Record<string, number> = {};
    for (const r of rows) if (r.destroyed_at === null) perVersion[r.kek_version] = (perVersion[r.kek_version] ?? 0) + 1;
    return {
      provider: this.kms.provider,
      kekVersions: await this.kms.versions(),
      currentVersion: await this.kms.currentVersion(),
      dataKeysPerVersion: perVersion,
      destroyed: rows.filter((r) => r.destroyed_at !== null).length,
    };
  }
}
