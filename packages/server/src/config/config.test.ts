import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Secret } from '../core/index.js';
import { ConfigError, loadConfig, resolveSecret, secretFilePath } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-config-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const issues = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  return [];
};

describe('configuration', () => {
  it('has safe defaults: TLS 1.3, port 8443, argon2 at the baseline', () => {
    const c = loadConfig();
    expect(c.server.tls.minVersion).toBe('TLSv1.3');
    expect(c.server.port).toBe(8443);
    expect(c.auth.argon2.memoryKiB).toBeGreaterThanOrEqual(47104);
    expect(c.auth.sessionTtlHours).toBeLessThanOrEqual(24);
    expect(c.auth.idleTimeoutMinutes).toBeLessThanOrEqual(60);
  });

  it('reports every problem at once, with its path', () => {
    const p = file(
      'bad.yaml',
      'server:\n  port: 70000\n  tls:\n    minVersion: TLSv1.1\n    certFile: /x\nauth:\n  argon2:\n    memoryKiB: 1024\nstor: {}\n',
    );
    const found = issues(() => loadConfig({ file: p }));
    const paths = found.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining(['server.port', 'server.tls.minVersion', 'auth.argon2.memoryKiB', '(root)']),
    );
    expect(found.find((i) => i.path === '(root)')?.message).toMatch(/unknown key.*stor/);
    expect(found).toHaveLength(4);
    const half = file('half.yaml', 'server:\n  tls:\n    certFile: /etc/cert.pem\n');
    expect(issues(() => loadConfig({ file: half }))[0]?.message).toMatch(/both certFile and keyFile/);
  });

  it('refuses a password inside the store URL and points to secret://', () => {
    const found = issues(() => loadConfig({ env: { PALISADE_STORE_URL: 'postgres://u:hunter2@db/x' } }));
    expect(found[0]?.message).toMatch(/secret:\/\//);
    expect(JSON.stringify(found)).not.toContain('hunter2');
  });

  it('lets environment variables override the file', () => {
    const p = file('ok.yaml', 'server:\n  port: 9000\n  allowedOrigins: ["https://a.example"]\n');
    const c = loadConfig({
      file: p,
      env: { PALISADE_PORT: '9443', PALISADE_ALLOWED_ORIGINS: 'https://b.example, https://c.example' },
    });
    expect(c.server.port).toBe(9443);
    expect(c.server.allowedOrigins).toEqual(['https://b.example', 'https://c.example']);
  });

  it('explains unreadable and malformed files', () => {
    expect(issues(() => loadConfig({ file: join(dir, 'missing.yaml') }))[0]?.message).toMatch(/cannot read/);
    expect(issues(() => loadConfig({ file: file('broken.yaml', 'a: [1, 2') }))[0]?.message).toMatch(/not valid YAML/);
    expect(issues(() => loadConfig({ file: file('list.yaml', '- 1\n- 2\n') }))[0]?.message).toMatch(/mapping/);
  });
});

describe('secrets', () => {
  it('resolves secret://env and secret://file, and a Secret never prints its value', () => {
    const s = resolveSecret('secret://env/PAL_TEST_SECRET', { PAL_TEST_SECRET: 's3cr3t-value' });
    expect(s.reveal()).toBe('s3cr3t-value');
    expect(String(s)).toBe('[REDACTED]');
    expect(JSON.stringify({ s })).toBe('{"s":"[REDACTED]"}');
    expect(inspect(s)).toBe('[REDACTED]');
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- template stringification is what is tested
    expect(`${new Secret(42)}`).toBe('[REDACTED]');
    const p = file('secret.txt', 'from-file\n');
    chmodSync(p, 0o600);
    expect(resolveSecret(`secret://file/${p}`, {}).reveal()).toBe('from-file');
  });

  it('refuses a missing variable and a world-readable secret file without echoing values', () => {
    expect(() => resolveSecret('secret://env/NOPE_NOT_SET', {})).toThrow(/NOPE_NOT_SET is not set/);
    const p = file('open.txt', 'leaky');
    chmodSync(p, 0o644);
    expect(() => resolveSecret(`secret://file/${p}`, {})).toThrow(/chmod 600/);
  });

  it('reads secret://file/PATH as the absolute /PATH; only ./ and ../ are relative (to the working directory)', () => {
    expect(secretFilePath('secret://file/etc/palisade/master')).toBe('/etc/palisade/master');
    expect(secretFilePath('secret://file//etc/palisade/master')).toBe('/etc/palisade/master');
    expect(secretFilePath('secret://file/./master.key')).toBe(join(process.cwd(), 'master.key'));
    expect(secretFilePath('secret://file/../ops/master.key')).toBe(join(process.cwd(), '..', 'ops', 'master.key'));
    const p = file('abs.txt', 'absolute\n');
    chmodSync(p, 0o600);
    expect(resolveSecret(`secret://file${p}`, {}).reveal()).toBe('absolute');
    expect(() => resolveSecret('secret://file/nonexistent-palisade/x', {})).toThrow(
      'secret://file/nonexistent-palisade/x: cannot read /nonexistent-palisade/x (ENOENT)',
    );
  });
});

describe('environment variables in errors', () => {
  it('names the variable, not the YAML key, and hides what may be a secret', () => {
    expect(issues(() => loadConfig({ env: { PALISADE_PORT: 'abc' } }))).toEqual([
      { path: 'PALISADE_PORT=abc', message: 'expected a number (it sets server.port)' },
    ]);
    const pin = issues(() => loadConfig({ env: { PALISADE_MASTER_SECRET: 'raw-secret-value' } }));
    expect(pin[0]?.path).toBe('PALISADE_MASTER_SECRET=(value hidden)');
    expect(JSON.stringify(pin)).not.toContain('raw-secret-value');
  });
});
