import { resolveSecret, SecretRef, type Config } from '../config/index.js';
import { systemClock } from '../core/index.js';
import { LocalKms } from '../crypto/index.js';
import { existsSync } from 'node:fs';
import { keyringPath, openKms } from './compose.js';
import { acquireDataDirLock } from './data-dir-lock.js';

/**
 * `palisade keys change-master-secret`: re-seals the local keyring under a new master secret (server
 * stopped). The KEKs and data keys stay as they are; the old secret stops opening the keyring, and
 * once it is destroyed, backups carrying the old keyring can no longer be opened.
 */
export function changeMasterSecret(config: Config, env: NodeJS.ProcessEnv, newRef: string): void {
  if (config.keys.provider !== 'local')
    throw new Error('only the local KMS has a master secret (the PKCS#11 token holds its own keys)');
  const ref = SecretRef.safeParse(newRef);
  if (!ref.success) throw new Error('--new must be secret://env/NAME or secret://file/PATH');
  const secret = Buffer.from(resolveSecret(ref.data, env).reveal(), 'base64url');
  if (secret.length < 32) throw new Error('the new master secret must hold at least 32 random bytes (base64url)');
  if (!existsSync(keyringPath(config))) throw new Error(`no keyring at ${keyringPath(config)}: is dataDir right?`);
  // SECURITY: a running server holds the old root key; re-sealing under it would split the two.
  const lock = acquireDataDirLock(config.dataDir, 'palisade keys change-master-secret');
  try {
    const { kms } = openKms(config, env, systemClock, { create: false });
    if (!(kms instanceof LocalKms)) throw new Error('the configured KMS is not the local one');
    kms.changeMasterSecret(secret);
  } finally {
    secret.fill(0);
    lock.release();
  }
}
