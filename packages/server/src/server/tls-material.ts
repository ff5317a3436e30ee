import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certificateFingerprint, generateSelfSignedCertificate } from '../crypto/index.js';
import type { Config } from '../config/index.js';

/** The certificate the server presents, where it came from, and its fingerprint. */
export interface TlsMaterial {
  certPem: string;
  keyPem: string;
  fingerprint: string;
  source: 'operator' | 'generated' | 'self-signed';
}

/**
 * Loads the operator's certificate and key, or on first start generates a self-signed pair into
 * `<dataDir>/tls/` (key mode 0600) and reuses it afterwards.
 */
export async function loadTlsMaterial(config: Config): Promise<TlsMaterial> {
  const { certFile, keyFile } = config.server.tls;
  if (certFile && keyFile) {
    const certPem = readFileSync(certFile, 'utf8');
    return {
      certPem,
      keyPem: readFileSync(keyFile, 'utf8'),
      fingerprint: certificateFingerprint(certPem),
      source: 'operator',
    };
  }
  const dir = join(config.dataDir, 'tls');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  if (existsSync(certPath) && existsSync(keyPath)) {
    const certPem = readFileSync(certPath, 'utf8');
    return {
      certPem,
      keyPem: readFileSync(keyPath, 'utf8'),
      fingerprint: certificateFingerprint(certPem),
      source: 'self-signed',
    };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pair = await generateSelfSignedCertificate();
  writeFileSync(keyPath, pair.keyPem, { mode: 0o600 });
  chmodSync(keyPath, 0o600);
  writeFileSync(certPath, pair.certPem, { mode: 0o644 });
  return { ...pair, fingerprint: certificateFingerprint(pair.certPem), source: 'generated' };
}
