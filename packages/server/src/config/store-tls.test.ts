import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, isLoopbackHost, loadConfig, postgresUrlInfo } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-store-tls-'));
const yaml = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  chmodSync(p, 0o600);
  return p;
};
const problems = (store: string) => {
  try {
    loadConfig({ file: yaml('c.yaml', `store:\n${store}`) });
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  return [];
};

describe('store.tls: the TLS policy for PostgreSQL (baseline Transport, 12.3.x)', () => {
  it('S22: a PostgreSQL URL that leaves the machine without TLS is refused, naming the fix and the explicit opt-out', () => {
    const p = problems('  url: postgres://palisade@db.internal:5432/palisade\n');
    expect(p).toEqual([
      {
        path: 'store.tls.ca',
        message: "TLS verify-full needs the CA certificate (PEM file) that signed the PostgreSQL server's certificate",
      },
    ]);
    const off = problems('  url: postgres://palisade@db.internal:5432/palisade\n  tls: { mode: disable }\n');
    expect(off).toHaveLength(1);
    expect(off[0]!.path).toBe('store.tls');
    expect(off[0]!.message).toMatch(
      /PostgreSQL at db\.internal is not on this machine and the link would have no TLS: set store\.tls\.ca .*or, knowingly, store\.tls\.mode: disable with store\.tls\.insecureAllowPlaintext: true/,
    );
    expect(problems('  url: postgres://palisade@10.0.0.5/palisade?sslmode=disable\n')[0]!.message).toMatch(
      /not on this machine/,
    );
    // The explicit opt-out is accepted (and only with both settings).
    expect(
      problems(
        '  url: postgres://palisade@db.internal:5432/palisade\n  tls: { mode: disable, insecureAllowPlaintext: true }\n',
      ),
    ).toEqual([]);
  });

  it('S22: loopback and unix-socket stores may go without TLS; with a CA the default is verify-full', () => {
    for (const url of [
      'postgres://postgres@127.0.0.1:5432/test',
      'postgres://p@localhost/db',
      'postgres://p@[::1]:5432/db',
      'postgres:///db?host=/var/run/postgresql',
    ])
      expect(problems(`  url: ${url}\n`), url).toEqual([]);
    const c = loadConfig({
      file: yaml(
        'v.yaml',
        'store:\n  url: postgres://palisade@db.internal/palisade\n  tls: { ca: /etc/palisade/pg-ca.pem }\n',
      ),
    });
    expect(c.store.tls).toMatchObject({ ca: '/etc/palisade/pg-ca.pem', insecureAllowPlaintext: false });
    expect(c.store.tls?.mode).toBeUndefined(); // the decision (verify-full) is made by storeTlsDecision
  });

  it('S22: sslmode in the URL is respected when it verifies, refused when it does not, and may not contradict store.tls.mode', () => {
    expect(problems('  url: postgres://p@db.internal/x?sslmode=require\n')[0]!.message).toMatch(
      /sslmode=require does not verify the server's certificate; use sslmode=verify-full/,
    );
    expect(problems('  url: postgres://p@db.internal/x?sslmode=prefer\n  tls: { ca: /ca.pem }\n')[0]!.message).toMatch(
      /sslmode=prefer does not verify/,
    );
    expect(
      problems('  url: postgres://p@db.internal/x?sslmode=verify-ca\n  tls: { ca: /ca.pem, mode: verify-full }\n'),
    ).toEqual([
      {
        path: 'store.tls.mode',
        message: 'the URL says sslmode=verify-ca but store.tls.mode is verify-full; keep one of them',
      },
    ]);
    expect(problems('  url: postgres://p@db.internal/x?sslmode=verify-ca\n  tls: { ca: /ca.pem }\n')).toEqual([]);
    expect(
      problems(
        '  url: postgres://p@db.internal/x?sslrootcert=/ca.pem&sslmode=verify-full\n  tls: { ca: /ca.pem }\n',
      )[0]!.message,
    ).toMatch(/remove sslrootcert from the URL/);
    expect(problems('  url: postgres://p@127.0.0.1/x?sslmode=verify-full\n')[0]!.path).toBe('store.tls.ca');
  });

  it('S22: a client certificate needs its key (a secret:// reference), TLS files with mode disable are a contradiction, and store.tls is for PostgreSQL only', () => {
    expect(problems('  url: postgres://p@db.internal/x\n  tls: { ca: /ca.pem, cert: /c.pem }\n')[0]!.message).toMatch(
      /give both store.tls.cert and store.tls.key/,
    );
    expect(
      problems('  url: postgres://p@db.internal/x\n  tls: { ca: /ca.pem, cert: /c.pem, key: /k.pem }\n')[0]!.path,
    ).toBe('store.tls.key');
    expect(
      problems(
        '  url: postgres://p@db.internal/x\n  tls: { ca: /ca.pem, cert: /c.pem, key: "secret://file/etc/k.pem" }\n',
      ),
    ).toEqual([]);
    expect(problems('  url: postgres://p@127.0.0.1/x\n  tls: { mode: disable, ca: /ca.pem }\n')[0]!.message).toMatch(
      /mode is disable but TLS files are given/,
    );
    expect(problems('  url: sqlite:/tmp/x.db\n  tls: { ca: /ca.pem }\n')[0]!.message).toMatch(
      /postgres:\/\/ store only/,
    );
  });

  it('S22: recognises loopback hosts strictly (a name that merely contains localhost is not one)', () => {
    for (const h of ['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]', '/tmp', ''])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['localhost.evil.example', '128.0.0.1', '10.0.0.1', 'db', '::2'])
      expect(isLoopbackHost(h), h).toBe(false);
    expect(postgresUrlInfo('postgres://u@127.0.0.1,db.internal:5432/x').loopback).toBe(false);
    expect(postgresUrlInfo('postgres://u@127.0.0.1/x?host=db.internal').loopback).toBe(false);
  });
});
