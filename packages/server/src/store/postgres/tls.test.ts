import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../core/index.js';
import { PG_URL } from '../../test-support/with-all-stores.js';
import pg from 'pg';
import { openPostgres, postgresClientClass, postgresClientConfig, postgresReachable } from './driver.js';
import { snapshotPostgres } from './snapshot.js';
import { libpqTlsEnv, postgresSslOptions, withoutSslParams, type PostgresTls } from './tls.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-pgtls-'));
const ca = join(dir, 'ca.pem');
writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nTEST-CA\n-----END CERTIFICATE-----\n');
const cert = join(dir, 'client.pem');
writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n');

describe('PostgreSQL TLS options (node-postgres and libpq)', () => {
  it('S22: verify-full builds ssl {ca, cert, key, rejectUnauthorized: true, servername} and keeps the host-name check', () => {
    const ssl = postgresSslOptions('postgres://p@db.internal:5432/x', {
      mode: 'verify-full',
      caFile: ca,
      certFile: cert,
      key: new Secret('KEY-PEM'),
    });
    expect(ssl).toEqual({
      rejectUnauthorized: true,
      ca: readFileSync(ca, 'utf8'),
      cert: readFileSync(cert, 'utf8'),
      key: 'KEY-PEM',
      servername: 'db.internal',
      minVersion: 'TLSv1.2',
    });
    // An IP address is checked against the certificate's IP SANs (node-postgres passes it as host; no SNI).
    expect(postgresSslOptions('postgres://p@10.0.0.5/x', { mode: 'verify-full', caFile: ca })).not.toHaveProperty(
      'servername',
    );
    const vca = postgresSslOptions('postgres://p@db.internal/x', { mode: 'verify-ca', caFile: ca }) as {
      rejectUnauthorized: boolean;
      checkServerIdentity: () => unknown;
    };
    expect(vca.rejectUnauthorized).toBe(true);
    expect(vca.checkServerIdentity()).toBeUndefined();
    expect(postgresSslOptions('postgres://p@127.0.0.1/x', { mode: 'disable' })).toBe(false);
    expect(postgresSslOptions('postgres://p@127.0.0.1/x', undefined)).toBe(false);
    expect(() => postgresSslOptions('postgres://p@db/x', { mode: 'verify-full' })).toThrow(/needs a CA certificate/);
  });

  it('S22: TLS parameters in the URL never reach the driver, so the URL cannot weaken the ssl option', () => {
    expect(withoutSslParams('postgres://p@db/x?sslmode=no-verify&application_name=pal&sslrootcert=/x&ssl=true')).toBe(
      'postgres://p@db/x?application_name=pal',
    );
    expect(withoutSslParams('postgres://p@db/x?sslmode=disable')).toBe('postgres://p@db/x');
    const c = postgresClientConfig({
      url: 'postgres://p@db.internal/x?sslmode=disable',
      tls: { mode: 'verify-full', caFile: ca },
    });
    expect(c.connectionString).toBe('postgres://p@db.internal/x');
    expect(c.ssl).toMatchObject({ rejectUnauthorized: true, servername: 'db.internal' });
  });

  it('S23: the store password reaches node-postgres (which drops one given beside a URL) and stays in its Secret', () => {
    const url = 'postgres://p@127.0.0.1/x';
    // What the old code did: the URL's empty password wins over the option.
    expect(new pg.Client({ connectionString: url, password: 'hunter2-pg' }).password).toBeNull();
    const Client = postgresClientClass(new Secret('hunter2-pg'));
    const c = new Client(postgresClientConfig({ url }));
    expect((c.password as unknown as () => string)()).toBe('hunter2-pg');
    expect(JSON.stringify(postgresClientConfig({ url }))).not.toContain('hunter2-pg');
    expect(postgresClientClass(undefined)).toBe(pg.Client);
  });

  it('S22: pg_dump and pg_restore get the same TLS through PGSSL* variables; the client key goes to a 0600 file that is removed', () => {
    expect(libpqTlsEnv({ mode: 'disable' }, dir).env).toEqual({ PGSSLMODE: 'disable' });
    const t = libpqTlsEnv({ mode: 'verify-full', caFile: ca, certFile: cert, key: new Secret('KEY-PEM') }, dir);
    expect(t.env).toEqual({
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: ca,
      PGSSLCERT: cert,
      PGSSLKEY: join(dir, 'pg-client.key'),
    });
    expect(statSync(t.env.PGSSLKEY!).mode & 0o777).toBe(0o600);
    expect(readFileSync(t.env.PGSSLKEY!, 'utf8')).toBe('KEY-PEM');
    t.cleanup();
    expect(existsSync(join(dir, 'pg-client.key'))).toBe(false);
  });

  it('S22: with verify-full the driver insists on TLS: a server without TLS is refused, even if the URL says sslmode=disable', async (ctx) => {
    if (!(await postgresReachable(PG_URL))) return ctx.skip();
    const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}sslmode=disable`;
    await expect(
      openPostgres({ url, schema: 'palisade_tls_never', poolSize: 1, tls: { mode: 'verify-full', caFile: ca } }),
    ).rejects.toThrow(/does not support SSL/);
  });
});

/**
 * Against a real PostgreSQL with TLS, when one is given (the shared test server has ssl off):
 * PALISADE_TEST_PG_TLS_URL names it by a host name its certificate holds (e.g. localhost, no IP SAN),
 * PALISADE_TEST_PG_TLS_DIR holds ca.pem, other-ca.pem, client.crt, client.key; pg_hba requires hostssl
 * with clientcert=verify-ca.
 */
const TLS_URL = process.env.PALISADE_TEST_PG_TLS_URL;
const TLS_DIR = process.env.PALISADE_TEST_PG_TLS_DIR ?? '';
describe.skipIf(!TLS_URL)('PostgreSQL over real TLS (PALISADE_TEST_PG_TLS_URL)', () => {
  const url = TLS_URL ?? '';
  const full: PostgresTls = {
    mode: 'verify-full',
    caFile: join(TLS_DIR, 'ca.pem'),
    certFile: join(TLS_DIR, 'client.crt'),
    key: new Secret(TLS_DIR ? readFileSync(join(TLS_DIR, 'client.key'), 'utf8') : ''),
  };
  const open = (tls: PostgresTls, at = url) =>
    openPostgres({ url: at, schema: `palisade_tls_${process.pid}`, poolSize: 1, tls });

  it('S22: verify-full with the cluster CA and a client certificate connects, and the session really is TLS', async () => {
    const db = await open(full);
    try {
      const r = await sql<{
        ssl: boolean;
        version: string;
      }>`SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()`.execute(db);
      expect(r.rows[0]).toMatchObject({ ssl: true, version: expect.stringMatching(/^TLSv1\.[23]$/) });
      await sql.raw(`DROP SCHEMA IF EXISTS "palisade_tls_${process.pid}"`).execute(db);
    } finally {
      await db.destroy();
    }
  });

  it('S22: a server certificate from another CA, or one that does not name the host, is refused; verify-ca accepts the latter', async () => {
    await expect(open({ ...full, caFile: join(TLS_DIR, 'other-ca.pem') })).rejects.toThrow(
      /self[- ]signed|unable to verify|certificate/i,
    );
    const byIp = url.replace(/@localhost:/, '@127.0.0.1:');
    await expect(open(full, byIp)).rejects.toThrow(/IP: 127\.0\.0\.1 is not in the cert's list|does not match/);
    const db = await open({ ...full, mode: 'verify-ca' }, byIp);
    await db.destroy();
  });

  it('S23: store.password authenticates (SCRAM over TLS) when PALISADE_TEST_PG_TLS_PASSWORD names a role:password', async (ctx) => {
    const [role, password] = (process.env.PALISADE_TEST_PG_TLS_PASSWORD ?? '').split(':');
    if (!role || !password) return ctx.skip();
    const at = url.replace(/\/\/[^@]*@/, `//${role}@`);
    const db = await openPostgres({
      url: at,
      password: new Secret(password),
      schema: `palisade_pw_${process.pid}`,
      poolSize: 1,
      tls: full,
    });
    const r = await sql<{ u: string }>`SELECT current_user AS u`.execute(db);
    expect(r.rows[0]?.u).toBe(role);
    await sql.raw(`DROP SCHEMA IF EXISTS "palisade_pw_${process.pid}"`).execute(db);
    await db.destroy();
    await expect(
      openPostgres({ url: at, password: new Secret(`${password}-wrong`), schema: 'x', poolSize: 1, tls: full }),
    ).rejects.toThrow(/password authentication failed/);
  });

  it('S22: without the client certificate the server (clientcert=verify-ca) refuses the link', async () => {
    await expect(open({ mode: 'verify-full', caFile: full.caFile })).rejects.toThrow(/certificate|connection/i);
  });

  it('S22: pg_dump reaches the server with the same TLS (PGSSL* and a 0600 key file), and fails with a wrong CA', async () => {
    const out = mkdtempSync(join(tmpdir(), 'palisade-pgtls-dump-'));
    await snapshotPostgres({ url, schema: 'public', tls: full }, join(out, 'dump'));
    expect(statSync(join(out, 'dump')).size).toBeGreaterThan(0);
    expect(existsSync(join(out, 'pg-client.key'))).toBe(false);
    await expect(
      snapshotPostgres(
        { url, schema: 'public', tls: { ...full, caFile: join(TLS_DIR, 'other-ca.pem') } },
        join(out, 'dump2'),
      ),
    ).rejects.toThrow(/pg_dump failed.*certificate verify failed/);
  });
});
