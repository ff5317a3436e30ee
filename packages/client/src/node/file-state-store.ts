/**
 * `FileStateStore`: the device's E2EE state, encrypted at rest in one folder of the profile (0700).
 *
 * Layout of the folder:
 * - `store.json`  the clear header: store id, how the key is protected, the wrapped data key (state-key.ts);
 * - `manifest`    sealed: the generation number and, for every key name, the id of the file holding it;
 * - `r-<id>`      one sealed record per file, written once and never changed (its id is random);
 * - `lock`        the pid of the process that has the store open.
 *
 * Atomicity (SECURITY: a device must never come back with half an epoch): a put or putMany writes
 * every new value to a fresh `r-<id>` file (fsync), fsyncs the folder, then replaces the manifest
 * (temp, fsync, rename, fsync the folder). The rename of the manifest is the commit point of the
 * whole batch: before it, the store is the old one (the new files are unnamed by the manifest, and
 * removed as garbage at the next open); after it, the new one. Files the new manifest no longer names
 * are removed after the commit (or, after a crash, at the next open). Reads go through the manifest
 * in memory, so a reader never sees a record of a batch that did not commit.
 *
 * Binding (SECURITY): each record is sealed with AAD = store id, its key name and its file id, and the
 * manifest with AAD = store id: a flipped byte, a record copied over another key's file or an older
 * copy of the same key's record put back is `state_corrupt`. Key names live only inside the sealed
 * manifest, so the folder shows how many records there are and their sizes, not what they are.
 * Not covered: an attacker who can write the folder can put back a whole older copy of it (rollback);
 * that needs a trusted counter the platform does not offer.
 */
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { checkEntries, checkKey, checkPrefix, StateStoreError, type StateStore } from '../e2ee/state-store.js';
import { random, seal, unseal, type ScryptParams } from './state-crypto.js';
import { acquireLock, ensurePrivateDir, readIfExists, syncDir, writeAtomic, writeNew } from './state-fs.js';
import {
  defaultKeyFile,
  Keyring,
  protect,
  readHeader,
  unlock,
  type KeyPlaces,
  type StateHeader,
  type StateProtection,
} from './state-key.js';

/** Options of `FileStateStore.open`. */
export interface FileStateStoreOptions {
  /** Protect the store key with this passphrase (scrypt); without it, the OS keyring or a key file. */
  passphrase?: string;
  /** `off` never uses the OS keyring (default `auto`: `secret-tool` when installed and working). */
  keyring?: 'auto' | 'off';
  /** Where the key file goes when the keyring is not used (default `<dir>.key`). */
  keyFile?: string;
  /** scrypt cost for a new passphrase (default N = 2^17, r = 8, p = 1; at least N = 2^14). */
  scrypt?: ScryptParams;
}

const MANIFEST = 'manifest';
const RECORD = /^r-([0-9a-f]{32})$/;

interface Manifest {
  generation: number;
  records: Map<string, string>;
}

/** The Node state store (see the file comment for its design). */
export class FileStateStore implements StateStore {
  #manifest: Manifest;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(
    private readonly dir: string,
    private readonly places: KeyPlaces,
    private header: StateHeader,
    private readonly dek: Buffer,
    manifest: Manifest,
    private readonly releaseLock: () => Promise<void>,
  ) {
    this.#manifest = manifest;
  }

  /**
   * Opens the store in `dir`, creating it when absent. Fails with `state_locked` (wrong or missing
   * passphrase, key gone), `state_corrupt` (tampered or damaged), `state_busy` (open elsewhere).
   */
  static async open(dir: string, opts: FileStateStoreOptions = {}): Promise<FileStateStore> {
    return asStateError(FileStateStore.#open(dir, opts));
  }

  static async #open(dir: string, opts: FileStateStoreOptions): Promise<FileStateStore> {
    if (opts.passphrase !== undefined) checkPassphrase(opts.passphrase);
    await ensurePrivateDir(dir);
    const release = await acquireLock(dir);
    let dek: Buffer | undefined;
    try {
      const places: KeyPlaces = {
        dir,
        keyFile: opts.keyFile ?? defaultKeyFile(dir),
        keyring: opts.keyring === 'off' ? undefined : Keyring.detect(),
      };
      let header = await readHeader(dir);
      if (header === undefined) {
        if ((await readdir(dir)).some((n) => n === MANIFEST || RECORD.test(n)))
          throw new StateStoreError('state_corrupt', 'the state store header is missing');
        dek = random(32);
        header = await protect(dek, random(16).toString('hex'), places, opts);
        const empty = { generation: 0, records: new Map<string, string>() };
        await writeAtomic(dir, MANIFEST, sealManifest(header.storeId, dek, empty));
      } else {
        dek = await unlock(header, places, opts.passphrase);
      }
      const manifest = await readManifest(dir, header.storeId, dek);
      await collectGarbage(dir, manifest);
      return new FileStateStore(dir, places, header, dek, manifest, release);
    } catch (e) {
      dek?.fill(0);
      await release();
      throw e;
    }
  }

  /**
   * How the store in `dir` protects its key, without opening it (undefined when there is no store
   * yet): lets a client ask for a passphrase only when one is needed.
   */
  static async protectionOf(dir: string): Promise<StateProtection | undefined> {
    return asStateError(readHeader(dir).then((h) => h?.protection));
  }

  /** How the store key is protected now. */
  get protection(): StateProtection {
    return this.header.protection;
  }

  /** The number of committed batches (for tests and diagnostics). */
  get generation(): number {
    return this.#manifest.generation;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    checkKey(key);
    return this.#serial(async () => {
      const id = this.#manifest.records.get(key);
      if (id === undefined) return undefined;
      const blob = await readIfExists(join(this.dir, `r-${id}`));
      if (blob === undefined) throw new StateStoreError('state_corrupt', 'a state record is missing');
      return new Uint8Array(unseal(this.dek, 'record', this.#recordAad(key, id), blob));
    });
  }

  put(key: string, value: Uint8Array): Promise<void> {
    return this.putMany([[key, value]]);
  }

  delete(key: string): Promise<void> {
    return this.putMany([[key, undefined]]);
  }

  async keys(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    return this.#serial(() =>
      Promise.resolve([...this.#manifest.records.keys()].filter((k) => k.startsWith(prefix)).sort()),
    );
  }

  async putMany(entries: [string, Uint8Array | undefined][]): Promise<void> {
    const batch = checkEntries(entries);
    await this.#serial(async () => {
      const records = new Map(this.#manifest.records);
      const written: string[] = [];
      // Nothing to undo on a failure: files the manifest on disk does not name are garbage, removed at
      // the next open (deleting them here could race a manifest rename that happened before an fsync failed).
      for (const [key, value] of batch) {
        if (value === undefined) {
          records.delete(key);
          continue;
        }
        const id = random(16).toString('hex');
        await writeNew(join(this.dir, `r-${id}`), seal(this.dek, 'record', this.#recordAad(key, id), value));
        written.push(id);
        records.set(key, id);
      }
      if (written.length > 0) await syncDir(this.dir); // the new names before the manifest that names them
      const next = { generation: this.#manifest.generation + 1, records };
      await writeAtomic(this.dir, MANIFEST, sealManifest(this.header.storeId, this.dek, next)); // the commit
      const live = new Set(records.values());
      const stale = [...this.#manifest.records.values()].filter((id) => !live.has(id));
      this.#manifest = next;
      for (const id of stale) await unlink(join(this.dir, `r-${id}`)).catch(() => undefined);
    });
  }

  /**
   * Changes how the store key is protected: a new passphrase, or (without one) the OS keyring or a
   * key file. Atomic: after a crash the store opens with the old protection or the new one.
   */
  async rekey(opts: { passphrase?: string; scrypt?: ScryptParams }): Promise<void> {
    if (opts.passphrase !== undefined) checkPassphrase(opts.passphrase);
    await this.#serial(async () => {
      this.header = await protect(this.dek, this.header.storeId, this.places, opts, this.header);
    });
  }

  /** Waits for pending operations, releases the lock and forgets the key; later calls fail with `state_invalid`. */
  close(): Promise<void> {
    this.#closing ??= this.#serial(async () => {
      this.#closed = true;
      this.dek.fill(0);
      await this.releaseLock();
    });
    return this.#closing;
  }

  #recordAad(key: string, id: string): Buffer {
    return Buffer.from(`palisade-state-record-v1\0${this.header.storeId}\0${id}\0${key}`);
  }

  /** One operation at a time, in call order (a put is never overtaken by a later get). */
  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.#closed) throw new StateStoreError('state_invalid', 'the state store is closed');
      return asStateError(op());
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/** Platform errors (ENOSPC, EACCES, ...) become `state_io`, with the errno code and no path or content. */
async function asStateError<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof StateStoreError) throw e;
    const code = (e as NodeJS.ErrnoException | undefined)?.code ?? 'unknown';
    throw new StateStoreError('state_io', `the state store could not be read or written (${code})`);
  }
}

function checkPassphrase(p: unknown): void {
  if (typeof p !== 'string' || p.length === 0 || p.length > 1024)
    throw new StateStoreError('state_invalid', 'a passphrase is 1 to 1024 characters');
}

const manifestAad = (storeId: string) => Buffer.from(`palisade-state-manifest-v1\0${storeId}`);

function sealManifest(storeId: string, dek: Buffer, m: Manifest): Buffer {
  const body = JSON.stringify({ generation: m.generation, records: [...m.records] });
  return seal(dek, 'manifest', manifestAad(storeId), Buffer.from(body, 'utf8'));
}

async function readManifest(dir: string, storeId: string, dek: Buffer): Promise<Manifest> {
  const blob = await readIfExists(join(dir, MANIFEST));
  if (blob === undefined) {
    // A new store writes its empty manifest right after its header, so records without one mean
    // that the manifest was removed: refuse rather than show an empty store.
    if ((await readdir(dir)).some((n) => RECORD.test(n)))
      throw new StateStoreError('state_corrupt', 'the state manifest is missing');
    return { generation: 0, records: new Map() };
  }
  const text = unseal(dek, 'manifest', manifestAad(storeId), blob).toString('utf8');
  try {
    const m = JSON.parse(text) as { generation: unknown; records: unknown };
    const records = m.records as [string, string][];
    if (
      !Number.isSafeInteger(m.generation) ||
      !Array.isArray(records) ||
      !records.every((r) => Array.isArray(r) && typeof r[0] === 'string' && /^[0-9a-f]{32}$/.test(String(r[1])))
    )
      throw new Error('shape');
    return { generation: m.generation as number, records: new Map(records) };
  } catch {
    throw new StateStoreError('state_corrupt', 'the state manifest is not valid');
  }
}

/** Removes temp files and records no manifest names (left by a batch that crashed before its commit). */
async function collectGarbage(dir: string, m: Manifest): Promise<void> {
  const live = new Set(m.records.values());
  let removed = false;
  for (const name of await readdir(dir)) {
    const rec = RECORD.exec(name);
    if (name.endsWith('.tmp') || (rec && !live.has(rec[1]!))) {
      await unlink(join(dir, name)).catch(() => undefined);
      removed = true;
    }
  }
  if (removed) await syncDir(dir);
}
