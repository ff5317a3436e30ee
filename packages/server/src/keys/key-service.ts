import type { Clock } from '../core/index.js';
import { aesGcmDecrypt, aesGcmEncrypt, newGcmNonce, randomId, randomKey, type Kms, type Sealer } from '../crypto/index.js';
import type { Db } from '../store/index.js';

const FORMAT = 'v2';
const DEFAULT_SCOPE = 'server';

/** Thrown when a value's data key was destroyed (crypto-shredding): the value is gone for good. */
export class KeyDestroyedError extends Error {
  constructor() {
    super('the data key of this value was destroyed');
    this.name = 'KeyDestroyedError';
  }
}

/**
 * Envelope encryption: each scope (the server, a user, a conversation) has a data key, stored wrapped
 * by the KMS's current KEK; values are sealed with AES-256-GCM under their scope's key, with AAD that
 * binds table, column, row and key id, so a ciphertext moved elsewhere does not open.
 * Format: `v2.<keyId>.<nonce>.<ciphertext>.<tag>` (base64url). Unwrapped keys are cached in memory.
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
    const cached = this.current.get(scope);
    if (cached) return { id: cached, key: await this.keyById(cached) };
    const row = await this.db.selectFrom('data_keys').select('id').where('scope', '=', scope).where('retired_at', 'is', null).where('destroyed_at', 'is', null).orderBy('created_at', 'desc').executeTakeFirst();
    if (row) {
      this.current.set(scope, row.id);
      return { id: row.id, key: await this.keyById(row.id) };
    }
    const key = randomKey(32);
    const { version, wrapped } = await this.kms.wrap(key);
    const id = randomId();
    await this.db.insertInto('data_keys').values({ id, scope, kek_version: version, wrapped: wrapped.toString('base64'), created_at: this.clock.now(), retired_at: null, destroyed_at: null }).execute();
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
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, key);
    return key;
  }

  async seal(plaintext: Uint8Array, aad: string, scope = DEFAULT_SCOPE): Promise<string> {
    const { id, key } = await this.activeKey(scope);
    const iv = newGcmNonce();
    const { ct, tag } = aesGcmEncrypt(key, iv, plaintext, Buffer.from(`${aad}|key:${id}`));
    return [FORMAT, id, iv.toString('base64url'), ct.toString('base64url'), tag.toString('base64url')].join('.');
  }

  async unseal(sealed: string, aad: string): Promise<Uint8Array> {
    const [format, id, iv, ct, tag] = sealed.split('.');
    if (format !== FORMAT || !id || !iv || ct === undefined || !tag) throw new Error('not an envelope-sealed value');
    const key = await this.keyById(id);
    return aesGcmDecrypt(key, Buffer.from(iv, 'base64url'), Buffer.from(ct, 'base64url'), Buffer.from(tag, 'base64url'), Buffer.from(`${aad}|key:${id}`));
  }

  /** Crypto-shredding: destroys every data key of a scope; what they sealed can never be read again. */
  async destroyScope(scope: string): Promise<number> {
    const r = await this.db.updateTable('data_keys').set({ destroyed_at: this.clock.now(), wrapped: '' }).where('scope', '=', scope).where('destroyed_at', 'is', null).executeTakeFirst();
    this.current.delete(scope);
    this.cache.clear();
    return Number(r.numUpdatedRows);
  }

  /**
   * Rewraps every live data key under the KMS's current KEK, one row at a time (online, and safe to
   * interrupt: each row is either old or new, and running it again finishes the job).
   */
  async rewrapAll(onProgress?: (done: number, total: number) => void): Promise<number> {
    const version = await this.kms.currentVersion();
    const rows = await this.db.selectFrom('data_keys').select(['id', 'kek_version', 'wrapped']).where('destroyed_at', 'is', null).where('kek_version', '<', version).execute();
    let done = 0;
    for (const r of rows) {
      const key = await this.kms.unwrap(r.kek_version, Buffer.from(r.wrapped, 'base64'));
      const w = await this.kms.wrap(key);
      await this.db.updateTable('data_keys').set({ kek_version: w.version, wrapped: w.wrapped.toString('base64') }).where('id', '=', r.id).where('kek_version', '=', r.kek_version).execute();
      done++;
      onProgress?.(done, rows.length);
    }
    return done;
  }

  /** Data keys per KEK version and destroyed keys, for `palisade keys status`. */
  async status() {
    const rows = await this.db.selectFrom('data_keys').select(['kek_version', 'destroyed_at']).execute();
    const perVersion: Record<string, number> = {};
    for (const r of rows) if (r.destroyed_at === null) perVersion[r.kek_version] = (perVersion[r.kek_version] ?? 0) + 1;
    return { provider: this.kms.provider, kekVersions: await this.kms.versions(), currentVersion: await this.kms.currentVersion(), dataKeysPerVersion: perVersion, destroyed: rows.filter((r) => r.destroyed_at !== null).length };
  }
}
