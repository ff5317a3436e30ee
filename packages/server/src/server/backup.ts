import {
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config/index.js';
import { systemClock } from '../core/index.js';
import {
  decryptBackupFile,
  encryptBackupFile,
  randomKey,
  readBackupHeader,
  type BackupHeader,
} from '../crypto/index.js';
import { prepareRestore, snapshotStore, storeDialect, storeHoldsData } from '../store/index.js';
import { keyringPath, openKeyringInMemory, openKms, storeOptions } from './compose.js';
import { acquireDataDirLock } from './data-dir-lock.js';

type Progress = (line: string) => void;

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
export async function createBackup(
  config: Config,
  env: NodeJS.ProcessEnv,
  out: string,
  progress: Progress = () => undefined,
) {
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
    const keyring =
      kms.provider === 'local' ? (JSON.parse(readFileSync(keyringPath(config), 'utf8')) as unknown) : undefined;
    const bytes = await encryptBackupFile(snap, out, key, {
      format: 'palisade-backup-v1',
      createdAt: new Date().toISOString(),
      dialect,
      kms: { provider: kms.provider, version, wrappedKey: wrapped.toString('base64') },
      ...(keyring ? { keyring } : {}),
    });
    key.fill(0);
    return { path: out, bytes, dialect, kekVersion: version };
  });
}

/** What a restore did: where the store and keyring it replaced were kept. */
export interface RestoreResult {
  dialect: 'sqlite' | 'postgres';
  createdAt: string;
  /** The replaced SQLite file or PostgreSQL schema, kept aside (absent when there was none). */
  keptStore?: string;
  /** The replaced keyring, kept as keyring.json.bak-<UTC time> (absent when none was replaced). */
  keptKeyring?: string;
}

/** UTC time for names of what a restore keeps aside, e.g. 20261201T112233Z. */
const utcStamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');

const sameKeyring = (text: string, keyring: unknown) => {
  try {
    return JSON.stringify(JSON.parse(text)) === JSON.stringify(keyring);
  } catch {
    return false;
  }
};

/** Reports decryption progress in steps of 10 % (a large backup takes a while). */
function meter(progress: Progress) {
  let shown = -1;
  return (done: number, total: number) => {
    const pct = Math.floor((100 * done) / Math.max(total, 1));
    if (pct >= 100 || Math.floor(pct / 10) > shown) {
      shown = Math.floor(pct / 10);
      progress(`  checked ${(done / 2 ** 20).toFixed(1)} of ${(total / 2 ** 20).toFixed(1)} MiB (${pct}%)`);
    }
  };
}

/** Opens the backup key: with the local KMS, from the keyring in the header, held in memory only. */
async function openBackupKey(config: Config, env: NodeJS.ProcessEnv, header: BackupHeader): Promise<Buffer> {
  let kms;
  try {
    kms =
      header.keyring !== undefined
        ? openKeyringInMemory(config, env, header.keyring)
        : openKms(config, env, systemClock, { create: false }).kms;
  } catch (e) {
    const m = (e as Error).message;
    throw new Error(/^no master secret/.test(m) ? m : `the keyring in this backup does not open: ${m}`);
  }
  try {
    return await kms.unwrap(header.kms.version, Buffer.from(header.kms.wrappedKey, 'base64'));
  } catch (e) {
    throw new Error(`the KMS cannot open this backup's key (KEK v${header.kms.version}): ${(e as Error).message}`);
  }
}

/**
 * `palisade backup restore`: the server must be stopped. Checks the WHOLE backup before it changes
 * anything: the backup key is opened with the keyring from the header held in memory, every chunk is
 * decrypted and authenticated into a 0600 scratch file in the data directory, and the database is
 * checked. Only then are the store and the keyring replaced, each by one atomic rename; what they
 * replace is kept aside (`keyring.json.bak-<UTC time>`, `palisade.db.bak-<UTC time>`).
 * SECURITY: a backup that was altered, cut short or made under another master secret changes no byte
 * of the live keyring or store. The clear header is trusted for nothing before the chunks (whose AAD
 * binds the header hash) have all been authenticated, except to choose which key to try.
 */
export async function restoreBackup(
  config: Config,
  env: NodeJS.ProcessEnv,
  file: string,
  force: boolean,
  progress: Progress = () => undefined,
): Promise<RestoreResult> {
  const createdDir = !existsSync(config.dataDir);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  let lock;
  try {
    // SECURITY: no server (and no other restore) may use the data directory while it is replaced.
    lock = acquireDataDirLock(config.dataDir, 'palisade backup restore');
  } catch (e) {
    if (createdDir) rmSync(config.dataDir, { recursive: true, force: true });
    throw e;
  }
  try {
    return await restoreLocked(config, env, file, force, progress);
  } catch (e) {
    lock.release();
    // A failed restore into a new data directory leaves nothing behind (no keyring, no scratch).
    if (createdDir) rmSync(config.dataDir, { recursive: true, force: true });
    throw e;
  } finally {
    lock.release();
  }
}

async function restoreLocked(
  config: Config,
  env: NodeJS.ProcessEnv,
  file: string,
  force: boolean,
  progress: Progress,
): Promise<RestoreResult> {
  const { header } = await readBackupHeader(file);
  const opts = storeOptions(config, env);
  if (header.dialect !== storeDialect(opts))
    throw new Error(`this backup is of a ${header.dialect} store; configure store.url for ${header.dialect}`);
  if (header.kms.provider !== config.keys.provider)
    throw new Error(
      `this backup's key is held by the ${header.kms.provider} KMS; configure keys.provider: ${header.kms.provider}`,
    );
  if (header.kms.provider === 'local' && header.keyring === undefined)
    throw new Error('this backup carries no keyring; it cannot be opened with the local KMS');
  const ringPath = keyringPath(config);
  const replaceRing =
    header.keyring !== undefined &&
    existsSync(ringPath) &&
    !sameKeyring(readFileSync(ringPath, 'utf8'), header.keyring);
  if (replaceRing && !force)
    throw new Error(
      `${ringPath} already holds another keyring; restore into an empty data directory, or pass --force (the old keyring is kept beside it)`,
    );
  if (!force && (await storeHoldsData(opts)))
    throw new Error(
      `${storeName(config)} already exists; restore into an empty data directory, or pass --force to replace it (the old one is kept aside)`,
    );

  const key = await openBackupKey(config, env, header);
  // A restore that was killed leaves its scratch behind (clear snapshot of sealed values): remove it.
  for (const f of readdirSync(config.dataDir))
    if (f.startsWith('.restore-')) rmSync(join(config.dataDir, f), { recursive: true, force: true });
  const scratch = mkdtempSync(join(config.dataDir, '.restore-'));
  const staged = `${ringPath}.restoring`;
  try {
    const snap = join(scratch, 'snapshot');
    progress('decrypting and checking every chunk (nothing is changed until all of them check out)...');
    try {
      await decryptBackupFile(file, snap, key, meter(progress));
    } finally {
      key.fill(0);
    }
    progress(`checking the ${header.dialect} database in the backup...`);
    const prepared = await prepareRestore(opts, snap);
    const installRing = header.keyring !== undefined && (replaceRing || !existsSync(ringPath));
    if (installRing) writeStagedKeyring(staged, header.keyring);
    let stamp = utcStamp();
    for (let n = 2; existsSync(`${ringPath}.bak-${stamp}`); n++) stamp = `${utcStamp()}-${n}`;
    progress(`installing the ${header.dialect} store...`);
    const keptStore = await prepared.install(stamp);
    let keptKeyring: string | undefined;
    if (installRing) {
      if (replaceRing) {
        keptKeyring = `${ringPath}.bak-${stamp}`;
        keepCopy(ringPath, keptKeyring); // keyring.json never disappears: the rename below replaces it
      }
      renameSync(staged, ringPath);
    }
    return {
      dialect: header.dialect,
      createdAt: header.createdAt,
      ...(keptStore ? { keptStore } : {}),
      ...(keptKeyring ? { keptKeyring } : {}),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    rmSync(staged, { force: true });
  }
}

/** Writes the keyring to install next to keyring.json (0600, synced), ready for one rename. */
function writeStagedKeyring(path: string, keyring: unknown): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const fd = openSync(path, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(keyring, null, 2));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Keeps `path` under a second name (a hard link; a copy where links are not possible). */
function keepCopy(path: string, as: string): void {
  try {
    linkSync(path, as);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new Error(`${as} already exists; move it away and restore again`);
    copyFileSync(path, as, constants.COPYFILE_EXCL);
  }
}

/** The store, named for messages. */
function storeName(config: Config): string {
  const url = config.store.url ?? `sqlite:${join(config.dataDir, 'palisade.db')}`;
  return url.startsWith('sqlite:')
    ? resolve(url.slice('sqlite:'.length))
    : `PostgreSQL schema "${config.store.schema}"`;
}
