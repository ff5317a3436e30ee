import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { resolveSecret, type Config } from '../config/index.js';
import { systemClock } from '../core/index.js';
import { decryptBackupFile, encryptBackupFile, randomKey, readBackupHeader } from '../crypto/index.js';
import { restoreStore, snapshotStore, storeDialect, type StoreOptions } from '../store/index.js';
import { keyringPath, openKms } from './compose.js';

type Progress = (line: string) => void;

const storeOptions = (config: Config, env: NodeJS.ProcessEnv): StoreOptions => ({
  url: config.store.url, dataDir: config.dataDir, schema: config.store.schema,
  ...(config.store.password ? { password: resolveSecret(config.store.password, env).reveal() } : {}),
});

/** A private scratch directory for the clear snapshot, removed whatever happens. */
async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-backup-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `palisade backup create`: a consistent snapshot (SQLite online backup or pg_dump), encrypted with
 * a fresh backup key that the KMS wraps. Works while the server runs.
 * SECURITY: the clear snapshot exists only in a 0700 scratch directory and is deleted at once; the
 * backup file holds values that were already sealed, inside a second layer of encryption.
 */
export async function createBackup(config: Config, env: NodeJS.ProcessEnv, out: string, progress: Progress = () => undefined) {
  if (existsSync(out)) throw new Error(`${out} already exists; choose another --out`);
  const { kms } = openKms(config, env, systemClock, { create: false });
  return withScratch(async (dir) => {
    const snap = join(dir, 'snapshot');
    progress('taking a consistent snapshot of the store...');
    const dialect = await snapshotStore(storeOptions(config, env), snap);
    const key = randomKey(32);
    const { version, wrapped } = await kms.wrap(key);
    progress(`encrypting (backup key wrapped by ${kms.provider} KEK v${version})...`);
    mkdirSync(dirname(out), { recursive: true });
    const keyring = kms.provider === 'local' ? (JSON.parse(readFileSync(keyringPath(config), 'utf8')) as unknown) : undefined;
    const bytes = await encryptBackupFile(snap, out, key, {
      format: 'palisade-backup-v1', createdAt: new Date().toISOString(), dialect,
      kms: { provider: kms.provider, version, wrappedKey: wrapped.toString('base64') },
      ...(keyring ? { keyring } : {}),
    });
    key.fill(0);
    return { path: out, bytes, dialect, kekVersion: version };
  });
}

/**
 * `palisade backup restore`: the server must be stopped. Opens the backup key with the KMS (for the
 * local KMS, the keyring inside the backup and the master secret of the server that made it), then
 * puts the snapshot back as the store.
 */
export async function restoreBackup(config: Config, env: NodeJS.ProcessEnv, file: string, force: boolean, progress: Progress = () => undefined) {
  const { header } = await readBackupHeader(file);
  if (header.dialect !== storeDialect(storeOptions(config, env))) throw new Error(`this backup is of a ${header.dialect} store; configure store.url for ${header.dialect}`);
  if (header.kms.provider !== config.keys.provider) throw new Error(`this backup's key is held by the ${header.kms.provider} KMS; configure keys.provider: ${header.kms.provider}`);
  if (header.keyring !== undefined) {
    const path = keyringPath(config);
    const mine = JSON.stringify(header.keyring, null, 2);
    if (existsSync(path) && readFileSync(path, 'utf8') !== mine && !force) throw new Error(`${path} already holds another keyring; restore into an empty data directory, or pass --force`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, mine, { mode: 0o600 });
  }
  const { kms } = openKms(config, env, systemClock, { create: false });
  let key: Buffer;
  try {
    key = await kms.unwrap(header.kms.version, Buffer.from(header.kms.wrappedKey, 'base64'));
  } catch (e) {
    throw new Error(`the KMS cannot open this backup's key (KEK v${header.kms.version}): ${(e as Error).message}`);
  }
  return withScratch(async (dir) => {
    const snap = join(dir, 'snapshot');
    progress('decrypting and checking every chunk...');
    await decryptBackupFile(file, snap, key);
    key.fill(0);
    progress(`restoring the ${header.dialect} store...`);
    await restoreStore(storeOptions(config, env), snap, force);
    return { dialect: header.dialect, createdAt: header.createdAt };
  });
}
