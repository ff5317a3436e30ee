import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomToken } from '../crypto/index.js';

/**
 * Where the generated master secret goes when none is configured: beside the data directory, not in
 * it, so a copy of the data directory alone opens nothing.
 */
export function defaultMasterSecretPath(dataDir: string): string {
  return `${resolve(dataDir)}.master-key`;
}

/** Reads the generated master secret, creating it (0600) on first start; says whether it was created. */
export function loadOrCreateMasterSecret(path: string): { secret: Buffer; created: boolean } {
  if (existsSync(path)) return { secret: Buffer.from(readFileSync(path, 'utf8').trim(), 'base64url'), created: false };
  const value = randomToken(32);
  writeFileSync(path, value, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { secret: Buffer.from(value, 'base64url'), created: true };
}
