/**
 * The store key of a file state store and how it is protected.
 *
 * A random 32-byte data key (DEK) encrypts every record. It is kept only wrapped (sealed) by a
 * key-encryption key (KEK) in the header file `store.json`, and the KEK comes from one of:
 * - `passphrase`: scrypt(passphrase, per-store random salt), parameters in the header;
 * - `keyring`: a random KEK in the OS keyring (libsecret's `secret-tool`, when installed and working);
 * - `key-file`: a random KEK in a 0600 file next to the store folder (`<dir>.key`). Weaker: anyone who
 *   can read the user's files (a backup, a stolen disk without full-disk encryption) has the key.
 * Changing the protection rewraps the same DEK and replaces the header in one atomic rename, so a
 * crash leaves either the old protection or the new, never a store that nothing opens.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { rename } from 'node:fs/promises';
import { basename, delimiter, dirname, join } from 'node:path';
import { StateStoreError } from '../e2ee/state-store.js';
import {
  checkScrypt,
  deriveFromPassphrase,
  random,
  SCRYPT_DEFAULT,
  seal,
  unseal,
  type ScryptParams,
} from './state-crypto.js';
import { readIfExists, removeIfExists, syncDir, writeAtomic } from './state-fs.js';

/** How a store's key is protected. */
export type StateProtection = 'passphrase' | 'keyring' | 'key-file';

/** The clear header of a store (`store.json`). */
export interface StateHeader {
  format: 'palisade-state';
  version: 1;
  storeId: string;
  protection: StateProtection;
  /** Which KEK wraps the DEK (keyring entry or key file), for the keyring and key-file protections. */
  keyId?: string;
  scrypt?: ScryptParams & { salt: string };
  wrappedKey: string;
}

/** Where the keys of a store live besides its folder. */
export interface KeyPlaces {
  dir: string;
  keyFile: string;
  keyring: Keyring | undefined;
}

const HEADER = 'store.json';
const wrapAad = (h: Pick<StateHeader, 'storeId' | 'protection'>) =>
  Buffer.from(`palisade-state-dek-v1\0${h.storeId}\0${h.protection}`);

/** The default key file of a store folder: `<dir>.key`, beside it in the profile. */
export const defaultKeyFile = (dir: string): string => join(dirname(dir), `${basename(dir)}.key`);

/** Reads and checks the header; undefined when the store does not exist yet. */
export async function readHeader(dir: string): Promise<StateHeader | undefined> {
  const raw = await readIfExists(join(dir, HEADER));
  if (raw === undefined) return undefined;
  let h: StateHeader;
  try {
    h = JSON.parse(raw.toString('utf8')) as StateHeader;
  } catch {
    throw new StateStoreError('state_corrupt', 'the state store header does not parse');
  }
  const ok =
    h?.format === 'palisade-state' &&
    h.version === 1 &&
    typeof h.storeId === 'string' &&
    /^[0-9a-f]{32}$/.test(h.storeId) &&
    typeof h.wrappedKey === 'string' &&
    (h.protection === 'passphrase'
      ? checkScrypt(h.scrypt) && typeof h.scrypt.salt === 'string'
      : (h.protection === 'keyring' || h.protection === 'key-file') && /^[0-9a-f]{32}$/.test(h.keyId ?? ''));
  if (!ok) throw new StateStoreError('state_corrupt', 'the state store header is not valid');
  return h;
}

/** Opens the DEK of an existing store. A wrong passphrase or a missing key is `state_locked`. */
export async function unlock(h: StateHeader, places: KeyPlaces, passphrase: string | undefined): Promise<Buffer> {
  let kek: Buffer | undefined;
  if (h.protection === 'passphrase') {
    if (passphrase === undefined) throw new StateStoreError('state_locked', 'this state store needs its passphrase');
    kek = await deriveFromPassphrase(passphrase, Buffer.from(h.scrypt!.salt, 'base64'), h.scrypt!);
    await removeKeyFiles(places, h.storeId); // a rekey to a passphrase that stopped before its clean-up
  } else {
    if (passphrase !== undefined) throw new StateStoreError('state_locked', 'this state store has no passphrase');
    kek = h.protection === 'keyring' ? await places.keyring?.lookup(h.storeId, h.keyId!) : await readKeyFile(places, h);
    if (kek === undefined)
      throw new StateStoreError(
        'state_locked',
        h.protection === 'keyring' ? 'the OS keyring did not give the state key' : 'the state key file is missing',
      );
  }
  try {
    return unseal(kek, 'dek', wrapAad(h), Buffer.from(h.wrappedKey, 'base64'), 'state_locked');
  } finally {
    kek.fill(0);
  }
}

/**
 * Protects `dek` as asked (a passphrase, else the keyring when it works, else a key file) and
 * commits the new header atomically; the old protection's key is removed after the commit.
 */
export async function protect(
  dek: Uint8Array,
  storeId: string,
  places: KeyPlaces,
  opts: { passphrase?: string; scrypt?: ScryptParams },
  old?: StateHeader,
): Promise<StateHeader> {
  let h: StateHeader;
  if (opts.passphrase !== undefined) {
    const params = opts.scrypt ?? SCRYPT_DEFAULT;
    if (!checkScrypt(params)) throw new StateStoreError('state_invalid', 'scrypt parameters are too weak or too large');
    const salt = random(16);
    const kek = await deriveFromPassphrase(opts.passphrase, salt, params);
    h = base(storeId, 'passphrase', { scrypt: { ...params, salt: salt.toString('base64') } });
    h.wrappedKey = seal(kek, 'dek', wrapAad(h), dek).toString('base64');
    kek.fill(0);
  } else {
    const kek = random(32);
    const keyId = random(16).toString('hex');
    const inKeyring = (await places.keyring?.store(storeId, keyId, kek)) === true;
    h = base(storeId, inKeyring ? 'keyring' : 'key-file', { keyId });
    // SECURITY: the new key file gets a new name first; the header naming it is the commit.
    if (!inKeyring) await writeAtomic(dirname(places.keyFile), `${basename(places.keyFile)}.new`, keyFileText(h, kek));
    h.wrappedKey = seal(kek, 'dek', wrapAad(h), dek).toString('base64');
    kek.fill(0);
  }
  await writeAtomic(places.dir, HEADER, Buffer.from(JSON.stringify(h, null, 2)));
  if (h.protection === 'key-file') await finishKeyFile(places);
  else await removeKeyFiles(places, storeId);
  if (old?.protection === 'keyring') await places.keyring?.clear(storeId, old.keyId!);
  return h;
}

function base(storeId: string, protection: StateProtection, extra: Partial<StateHeader>): StateHeader {
  return { format: 'palisade-state', version: 1, storeId, protection, ...extra, wrappedKey: '' };
}

function keyFileText(h: StateHeader, kek: Uint8Array): Buffer {
  return Buffer.from(JSON.stringify({ storeId: h.storeId, keyId: h.keyId, key: Buffer.from(kek).toString('base64') }));
}

async function readKeyFile(places: KeyPlaces, h: StateHeader): Promise<Buffer | undefined> {
  for (const path of [places.keyFile, `${places.keyFile}.new`]) {
    const raw = await readIfExists(path);
    if (raw === undefined) continue;
    try {
      const k = JSON.parse(raw.toString('utf8')) as { storeId?: string; keyId?: string; key?: string };
      if (k.storeId === h.storeId && k.keyId === h.keyId && typeof k.key === 'string') {
        if (path !== places.keyFile) await finishKeyFile(places);
        return Buffer.from(k.key, 'base64');
      }
    } catch {
      // a damaged key file is a missing key: state_locked
    }
  }
  return undefined;
}

/** `<key>.new` becomes the key file (after the header that names it committed). */
async function finishKeyFile(places: KeyPlaces): Promise<void> {
  await rename(`${places.keyFile}.new`, places.keyFile);
  await syncDir(dirname(places.keyFile));
}

async function removeKeyFiles(places: KeyPlaces, storeId: string): Promise<void> {
  for (const path of [places.keyFile, `${places.keyFile}.new`]) {
    const raw = await readIfExists(path);
    if (raw !== undefined && raw.toString('utf8').includes(storeId)) await removeIfExists(path);
  }
}

/** The OS keyring through libsecret's `secret-tool` (GNOME Keyring, KWallet's Secret Service, ...). */
export class Keyring {
  private constructor(private readonly tool: string) {}

  /** The keyring, when `secret-tool` is on the PATH; whether it works shows at the first store. */
  static detect(path = process.env.PATH ?? ''): Keyring | undefined {
    for (const d of path.split(delimiter).filter(Boolean)) {
      const tool = join(d, 'secret-tool');
      try {
        accessSync(tool, constants.X_OK);
        return new Keyring(tool);
      } catch {
        // not here
      }
    }
    return undefined;
  }

  /** Stores a key; false when the keyring refuses (no D-Bus session, locked and dismissed, ...). */
  async store(storeId: string, keyId: string, key: Uint8Array): Promise<boolean> {
    const label = 'Palisade end-to-end encryption state key';
    const r = await this.run(
      ['store', `--label=${label}`, ...attrs(storeId, keyId)],
      Buffer.from(key).toString('base64'),
    );
    return r !== undefined && (await this.lookup(storeId, keyId)) !== undefined;
  }

  /** The key, or undefined when the keyring has none (or cannot be reached). */
  async lookup(storeId: string, keyId: string): Promise<Buffer | undefined> {
    const out = await this.run(['lookup', ...attrs(storeId, keyId)]);
    const key = out === undefined ? undefined : Buffer.from(out.trim(), 'base64');
    return key?.length === 32 ? key : undefined;
  }

  /** Removes a key (after a rekey). */
  async clear(storeId: string, keyId: string): Promise<void> {
    await this.run(['clear', ...attrs(storeId, keyId)]);
  }

  private run(args: string[], input?: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      const child = execFile(this.tool, args, { timeout: 60_000, encoding: 'utf8' }, (e, stdout) =>
        resolve(e ? undefined : stdout),
      );
      child.stdin?.on('error', () => undefined); // a tool that exits without reading: its answer says enough
      child.stdin?.end(input ?? '');
    });
  }
}

const attrs = (storeId: string, keyId: string) => ['application', 'palisade-state', 'store', storeId, 'key', keyId];
