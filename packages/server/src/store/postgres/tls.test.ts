import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PG_URL } from '../../test-support/with-all-stores.js';
import { openPostgres, postgresClientConfig, postgresReachable } from './driver.js';
import { libpqTlsEnv, postgresSslOptions, withoutSslParams } from './tls.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-pgtls-'));
const ca = join(dir, 'ca.pem');
writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nTEST-CA\n-----END CERTIFICATE-----\n');
const cert = join(dir, 'client.pem');
writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n');

describe('PostgreSQL TLS options (node-postgres and libpq)', () => {
  it('S22: verify-full builds ssl {ca, cert, key, rejectUnauthorized: true, servername} and keeps the host-name check', () => {
    const ssl = postgresSslOptions('postgres://p@db.internal:5432/x', { mode: 'verify-full', caFile: ca, certFile: cert, key: 'KEY-PEM' });
    expect(ssl).toEqual({ rejectUnauthorized: true, ca: readFileSync(ca, 'utf8'), cert: readFileSync(cert, 'utf8'), key: 'KEY-PEM', servername: 'db.internal', minVersion: 'TLSv1.2' });
    // An IP address is checked against the certificate's IP SANs (node-postgres passes it as host; no SNI).
    expect(postgresSslOptions('postgres://p@10.0.0.5/x', { mode: 'verify-full', caFile: ca })).not.toHaveProperty('servername');
    const vca = postgresSslOptions('postgres://p@db.internal/x', { mode: 'verify-ca', caFile: ca }) as { rejectUnauthorized: boolean; checkServerIdentity: () => unknown };
    expect(vca.rejectUnauthorized).toBe(true);
    expect(vca.checkServerIdentity()).toBeUndefined();
    expect(postgresSslOptions('postgres://p@127.0.0.1/x', { mode: 'disable' })).toBe(false);
    expect(postgresSslOptions('postgres://p@127.0.0.1/x', undefined)).toBe(false);
    expect(() => postgresSslOptions('postgres://p@db/x', { mode: 'verify-full' })).toThrow(/needs a CA certificate/);
  });

  it('S22: TLS parameters in the URL never reach the driver, so the URL cannot weaken the ssl option', () => {
    expect(withoutSslParams('postgres://p@db/x?sslmode=no-verify&application_name=pal&sslrootcert=/x&ssl=true')).toBe('postgres://p@db/x?application_name=pal');
    expect(withoutSslParams('postgres://p@db/x?sslmode=disable')).toBe('postgres://p@db/x');
    const c = postgresClientConfig({ url: 'postgres://p@db.internal/x?sslmode=disable', tls: { mode: 'verify-full', caFile: ca } });
    expect(c.connectionString).toBe('postgres://p@db.internal/x');
    expect(c.ssl).toMatchObject({ rejectUnauthorized: true, servername: 'db.internal' });
  });

  it('S22: pg_dump and pg_restore get the same TLS through PGSSL* variables; the client key goes to a 0600 file that is removed', () => {
    expect(libpqTlsEnv({ mode: 'disable' }, dir).env).toEqual({ PGSSLMODE: 'disable' });
    const t = libpqTlsEnv({ mode: 'verify-full', caFile: ca, certFile: cert, key: 'KEY-PEM' }, dir);
    expect(t.env).toEqual({ PGSSLMODE: 'verify-full', PGSSLROOTCERT: ca, PGSSLCERT: cert, PGSSLKEY: join(dir, 'pg-client.key') });
    expect(statSync(t.env.PGSSLKEY!).mode & 0o777).toBe(0o600);
    expect(readFileSync(t.env.PGSSLKEY!, 'utf8')).toBe('KEY-PEM');
    t.cleanup();
    expect(existsSync(join(dir, 'pg-client.key'))).toBe(false);
  });

  it('S22: with verify-full the driver insists on TLS: a server without TLS is refused, even if the URL says sslmode=disable', async (ctx) => {
    if (!(await postgresReachable(PG_URL))) return ctx.skip();
    const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}sslmode=disable`;
    await expect(openPostgres({ url, schema: 'palisade_tls_never', poolSize: 1, tls: { mode: 'verify-full', caFile: ca } })).rejects.toThrow(/does not support SSL/);
  });
});
