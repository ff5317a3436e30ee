import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DirectoryApi, fromBase64Url, KeyTransparency } from '@palisade/client';
import { describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import { deviceClient, PASS } from '../support/users.js';
import { useServerWithAdmin } from '../support/harness.js';
import { palisade } from '../support/cli.js';

describe('palisade admin CLI and config check', () => {
  const ctx = useServerWithAdmin();

  it('creates invites over the 0600 admin socket and offline, and revokes sessions', async () => {
    const env = { PALISADE_DATA_DIR: ctx.server.dataDir };
    expect(statSync(join(ctx.server.dataDir, 'admin.sock')).mode & 0o777).toBe(0o600);
    const inv = await palisade(['admin', 'invite', '--ttl-hours', '2'], env);
    expect(inv.code).toBe(0);
    const token = inv.out.trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const c = deviceClient(ctx.server);
    await c.api.enrol({ token, username: 'frank', password: PASS });
    await expect(
      deviceClient(ctx.server).api.enrol({ token, username: 'frank2', password: PASS }),
    ).rejects.toMatchObject({ code: 'token_invalid' });
    const offline = await palisade(['admin', 'invite', '--offline'], env);
    expect(offline.out.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await c.login('frank', PASS, 'x');
    const rev = await palisade(['admin', 'revoke-sessions', 'frank'], env);
    expect(rev.out).toMatch(/revoked 1 session/);
    await expect(c.api.me()).rejects.toMatchObject({ code: 'session_invalid' });
    const status = JSON.parse((await palisade(['admin', 'status', '--json'], env)).out) as {
      store: string;
      port: number;
    };
    expect(status).toMatchObject({ store: 'sqlite', port: ctx.server.port });
    const bad = await palisade(['admin', 'invite', '--role', 'root'], env);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--role must be member or guest/);
  });

  it('generates the master secret outside the data directory and rotates the KEK while the server runs', async () => {
    const env = { PALISADE_DATA_DIR: ctx.server.dataDir };
    const masterPath = `${ctx.server.dataDir}.master-key`;
    expect(statSync(masterPath).mode & 0o777).toBe(0o600);
    expect(ctx.server.stderr()).toContain(`Generated the master secret of the local key store at ${masterPath}`);
    const t = await ctx.admin.api.enrolTotp(); // seals a TOTP secret: creates a data key
    const human = (await palisade(['keys', 'status'], env)).out;
    expect(human).toMatch(/KMS provider: local/);
    expect(human).toMatch(/v1 {2}created .* \(0 days old\)/);
    expect(human).toMatch(/rotation policy: every 90 days, automatic/);
    const before = JSON.parse((await palisade(['keys', 'status', '--json'], env)).out) as {
      provider: string;
      currentVersion: number;
      dataKeysPerVersion: Record<string, number>;
    };
    expect(before).toMatchObject({ provider: 'local', currentVersion: 1 });
    expect(before.dataKeysPerVersion['1']).toBeGreaterThanOrEqual(1);
    const rot = await palisade(['keys', 'rotate'], env);
    expect(rot.out).toMatch(/KEK version 2 is current; \d+ data key\(s\) rewrapped/);
    const after = JSON.parse((await palisade(['keys', 'status', '--json'], env)).out) as {
      dataKeysPerVersion: Record<string, number>;
      nextRotationAt: number;
      overdue: boolean;
    };
    expect(Object.keys(after.dataKeysPerVersion)).toEqual(['2']);
    expect(after.overdue).toBe(false);
    expect(after.nextRotationAt).toBeGreaterThan(Date.now() + 89 * 86_400_000);
    // Re-encryption: every value moves to a new data key; old ones are retired.
    const re = await palisade(['keys', 'rotate', '--reencrypt'], env);
    expect(re.out).toMatch(/KEK version 3 is current/);
    expect(re.out).toMatch(
      /re-encryption: [1-9]\d* value\(s\) resealed under new data keys, 0 clear legacy value\(s\) sealed, 0 unreadable/,
    );
    const st = JSON.parse((await palisade(['keys', 'status', '--json'], env)).out) as {
      retiredDataKeys: number;
      lastReencrypt: { finishedAt: number | null };
    };
    expect(st.retiredDataKeys).toBeGreaterThanOrEqual(1);
    expect(st.lastReencrypt.finishedAt).not.toBeNull();
    // Old KEK versions are kept until pruned, and a prune spares versions replaced too recently.
    const none = await palisade(['keys', 'prune', '--replaced-days', '30'], env);
    expect(none.out).toMatch(/nothing to destroy/);
    const pruned = await palisade(['keys', 'prune', '--replaced-days', '0'], env);
    expect(pruned.out).toMatch(/destroyed KEK version\(s\) 1, 2/);
    expect(
      (
        JSON.parse((await palisade(['keys', 'status', '--json'], env)).out) as { kekVersions: { version: number }[] }
      ).kekVersions.map((v) => v.version),
    ).toEqual([3]);
    // The secret sealed before the rotation still opens: confirming the app needs it.
    const code = new TOTP({ secret: Secret.fromBase32(t.secret), digits: 6, period: 30 }).generate();
    expect((await ctx.admin.api.confirmTotp(t.id, code)).recoveryCodes).toHaveLength(10);
  });

  it('checks a config file without starting, listing every problem', async () => {
    const file = join(ctx.server.dataDir, 'bad.yaml');
    writeFileSync(file, 'server:\n  port: -1\nauth:\n  sessionTtlHours: 48\n');
    const r = await palisade(['config', 'check', '--config', file], {});
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/server\.port/);
    expect(r.err).toMatch(/auth\.sessionTtlHours/);
    const ok = await palisade(['config', 'check'], {});
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/configuration OK/);
    const help = await palisade(['admin', 'invite', '--help'], {});
    expect(help.out).toMatch(/--ttl-hours/);
  });

  it('rotates the organisation signing key while the server runs; credentials it signed still verify', async () => {
    const env = { PALISADE_DATA_DIR: ctx.server.dataDir };
    const help = await palisade(['keys', 'rotate-org-key', '--help'], {});
    expect(help.out).toMatch(/endorsed by it/);
    const dir = new DirectoryApi(ctx.admin.api);
    const issued = await dir.issueCredential();
    const kt = new KeyTransparency(dir);
    const before = await kt.refreshHead();
    const r = await palisade(['keys', 'rotate-org-key'], env);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`endorsed by ${before.keyId} \\(retired, still published\\)`));
    const after = await kt.refreshHead();
    expect(after.keyId).not.toBe(before.keyId);
    const me = await kt.verifyCredential(
      fromBase64Url(issued.credential),
      ctx.admin.deviceKey.publicKey,
      issued.leafIndex,
    );
    expect(me.keyId).toBe(before.keyId);
  });

  it('S22: config check and serve refuse a PostgreSQL store on another host without TLS; with a CA it reports verify-full', async () => {
    const remote = {
      PALISADE_STORE_URL: 'postgres://palisade@db.internal:5432/palisade',
      PALISADE_DATA_DIR: join(ctx.server.dataDir, 'never'),
    };
    const check = await palisade(['config', 'check'], remote);
    expect(check.code).toBe(2);
    expect(check.err).toMatch(/store\.tls\.ca: TLS verify-full needs the CA certificate/);
    const plain = await palisade(['config', 'check'], { ...remote, PALISADE_STORE_TLS_MODE: 'disable' });
    expect(plain.code).toBe(2);
    expect(plain.err).toMatch(/PostgreSQL at db\.internal is not on this machine and the link would have no TLS/);
    const serve = await palisade(['serve'], { ...remote, PALISADE_STORE_TLS_MODE: 'disable' });
    expect(serve.code).not.toBe(0);
    expect(serve.err).toMatch(/not on this machine and the link would have no TLS/);
    const ca = join(ctx.server.dataDir, 'tls', 'cert.pem'); // any readable PEM file stands in for the CA here
    const ok = await palisade(['config', 'check'], { ...remote, PALISADE_STORE_TLS_CA: ca });
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(
      /store postgres:\/\/palisade@db\.internal:5432\/palisade \(TLS verify-full, CA .*cert\.pem\)/,
    );
    const missing = await palisade(['config', 'check'], { ...remote, PALISADE_STORE_TLS_CA: '/nonexistent/ca.pem' });
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/store\.tls\.ca: cannot read \/nonexistent\/ca\.pem/);
    expect(
      (await palisade(['config', 'check'], { PALISADE_STORE_URL: 'postgres://postgres@127.0.0.1:5432/test' })).out,
    ).toMatch(/\(no TLS\)/);
  });
});
