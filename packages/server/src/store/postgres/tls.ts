import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import type { Secret } from '../../core/index.js';

/**
 * TLS to PostgreSQL, already decided by the configuration (config/ checks the policy: which modes
 * are allowed for which hosts). `disable` means a plain TCP link.
 */
export interface PostgresTls {
  /** `verify-full`: the certificate must chain to `caFile` and name the host; `verify-ca`: chain only. */
  mode: 'verify-full' | 'verify-ca' | 'disable';
  /** PEM file of the CA that signed the server's certificate (required unless `disable`). */
  caFile?: string;
  /** Client certificate (PEM file) for mutual TLS. */
  certFile?: string;
  /** Client private key (PEM text, resolved from a secret:// reference). */
  key?: Secret<string>;
}

/** URL query parameters that libpq and node-postgres read as TLS settings. */
const SSL_PARAMS = [
  'ssl',
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'sslcrl',
  'sslpassword',
  'sslcompression',
  'sslnegotiation',
  'uselibpqcompat',
];

/**
 * The URL without its TLS parameters. SECURITY: node-postgres lets TLS parameters in the URL override
 * the `ssl` option it is given (e.g. `sslmode=no-verify`), so the URL that reaches a driver never holds
 * them: the configuration has already turned them into a PostgresTls (or refused them).
 */
export function withoutSslParams(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const p of SSL_PARAMS) params.delete(p);
  const rest = params.toString();
  return rest ? `${url.slice(0, q)}?${rest}` : url.slice(0, q);
}

/** The host a URL names (first of a list), without IPv6 brackets; '' for a unix socket default. */
function urlHost(url: string): string {
  const m = /^postgres(?:ql)?:\/\/(?:[^@/?]*@)?(\[[^\]]*\]|[^:/?,]*)/.exec(url);
  return (m?.[1] ?? '').replace(/^\[|\]$/g, '');
}

/**
 * The node-postgres `ssl` option for a store. SECURITY: `rejectUnauthorized` is always true when TLS
 * is on, and only `verify-ca` drops the host-name check (its CA must then be the cluster's own).
 */
export function postgresSslOptions(url: string, tls: PostgresTls | undefined): false | ConnectionOptions {
  if (!tls || tls.mode === 'disable') return false;
  if (!tls.caFile) throw new Error(`PostgreSQL TLS ${tls.mode} needs a CA certificate (store.tls.ca)`);
  const host = urlHost(url);
  return {
    rejectUnauthorized: true,
    ca: readFileSync(tls.caFile, 'utf8'),
    ...(tls.certFile ? { cert: readFileSync(tls.certFile, 'utf8') } : {}),
    ...(tls.key ? { key: tls.key.reveal() } : {}),
    ...(host && isIP(host) === 0 ? { servername: host } : {}),
    ...(tls.mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
    minVersion: 'TLSv1.2',
  };
}

/**
 * Environment for libpq tools (pg_dump, pg_restore, psql) so they use the same TLS as the server.
 * The client key, when there is one, goes to a 0600 file in `privateDir` (a 0700 scratch directory):
 * call `cleanup()` when the tool has finished.
 */
export function libpqTlsEnv(
  tls: PostgresTls | undefined,
  privateDir: string,
): { env: Record<string, string>; cleanup: () => void } {
  if (!tls || tls.mode === 'disable') return { env: { PGSSLMODE: 'disable' }, cleanup: () => undefined };
  const env: Record<string, string> = { PGSSLMODE: tls.mode, PGSSLROOTCERT: tls.caFile ?? '' };
  if (tls.certFile) env.PGSSLCERT = tls.certFile;
  let keyFile: string | undefined;
  if (tls.key) {
    keyFile = join(privateDir, 'pg-client.key');
    writeFileSync(keyFile, tls.key.reveal(), { mode: 0o600 });
    env.PGSSLKEY = keyFile;
  }
  return { env, cleanup: () => keyFile && rmSync(keyFile, { force: true }) };
}
