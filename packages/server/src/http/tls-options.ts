import type { SecureContextOptions, TlsOptions } from 'node:tls';

/** TLS 1.3 suites (always allowed). */
const TLS13_SUITES = ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256'];
/** TLS 1.2 suites when an operator opts in: ECDHE key exchange with AEAD ciphers only. */
const TLS12_SUITES = [
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
];

/**
 * Server TLS options. SECURITY (ASVS 12.1.1): TLS 1.3 only by default; TLS 1.2 only when configured,
 * and then only ECDHE + AEAD suites; never older.
 */
export function tlsServerOptions(
  certPem: string,
  keyPem: string,
  minVersion: 'TLSv1.3' | 'TLSv1.2',
): TlsOptions & SecureContextOptions {
  return {
    cert: certPem,
    key: keyPem,
    minVersion,
    maxVersion: 'TLSv1.3',
    ciphers: [...TLS13_SUITES, ...(minVersion === 'TLSv1.2' ? TLS12_SUITES : [])].join(':'),
    honorCipherOrder: true,
  };
}
