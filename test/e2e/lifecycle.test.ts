import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { utf8, type PalisadeClient } from '@palisade/client';
import { palisade } from '../support/cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { createUsers, deviceClient, enrolAdmin, waitFor } from '../support/users.js';

describe('server lifecycle', () => {
  const started: ServerProcess[] = [];
  afterAll(async () => {
    for (const s of started) if (s.child.exitCode === null) await s.kill();
  });

  it('prints a bootstrap token only while no account exists, keeps its certificate, and never logs the token', async () => {
    const a = await startServerProcess();
    started.push(a);
    expect(a.bootstrapToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.stderr()).toMatch(/fingerprint: ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    const admin = await enrolAdmin(a);
    admin.close();
    expect(a.stdout()).not.toContain(a.bootstrapToken as string);
    expect(await a.stop()).toBe(0);
    const b = await startServerProcess({ dataDir: a.dataDir });
    started.push(b);
    expect(b.bootstrapToken).toBeUndefined();
    expect(b.ca).toBe(a.ca);
    await b.stop();
  });

  it('refuses to start with one clear line when the key store cannot be opened (no stack trace)', async () => {
    const first = await startServerProcess();
    started.push(first);
    await first.stop();
    // The data directory's keyring, with another master secret: nothing may start on it.
    const other = join(mkdtempSync(join(tmpdir(), 'palisade-secret-')), 'master');
    writeFileSync(other, randomBytes(32).toString('base64url'), { mode: 0o600 });
    const r = await palisade(['serve'], {
      PALISADE_DATA_DIR: first.dataDir,
      PALISADE_PORT: '0',
      PALISADE_MASTER_SECRET: `secret://file/${other}`,
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^cannot start: the master secret does not open this keyring/m);
    expect(r.err).not.toMatch(/^\s+at /m);
  });

  it('changes the local master secret offline: the new one opens everything, the old one nothing', async () => {
    const a = await startServerProcess();
    started.push(a);
    const admin = await enrolAdmin(a);
    await admin.api.updateProfile({ displayName: 'Keeper of keys' });
    admin.close();
    const env = { PALISADE_DATA_DIR: a.dataDir };
    const newSecret = join(mkdtempSync(join(tmpdir(), 'palisade-secret-')), 'master');
    writeFileSync(newSecret, randomBytes(32).toString('base64url'), { mode: 0o600 });
    const refused = await palisade(['keys', 'change-master-secret', '--new', `secret://file/${newSecret}`], env);
    expect(refused.err).toMatch(/server is running on this data directory: stop it first/);
    await a.stop();
    const changed = await palisade(['keys', 'change-master-secret', '--new', `secret://file/${newSecret}`], env);
    expect(changed.code, changed.err).toBe(0);
    const old = await palisade(['serve'], { ...env, PALISADE_PORT: '0' }); // the generated (old) secret
    expect(old.err).toMatch(/^cannot start: the master secret does not open this keyring/m);
    const b = await startServerProcess({
      dataDir: a.dataDir,
      env: { PALISADE_MASTER_SECRET: `secret://file/${newSecret}` },
    });
    started.push(b);
    expect((await deviceClient(b, admin.deviceKey, admin.token).api.me()).displayName).toBe('Keeper of keys');
    await b.stop();
  });

  it('shuts down gracefully on SIGTERM: acknowledged sends are kept and sockets close with 1001', async () => {
    const s = await startServerProcess();
    started.push(s);
    const admin = await enrolAdmin(s);
    const [alice] = (await createUsers(s, admin, ['alice'])) as [PalisadeClient];
    const conv = await alice.api.openDirect('admin');
    // Every close the client sees, in order: after the server's own close, reconnect attempts fail too.
    const closes: string[] = [];
    alice.on.state = (st, detail) => {
      if (st === 'disconnected') closes.push(detail ?? '');
    };
    await alice.connect();
    let committed = 0;
    const sends = Array.from({ length: 200 }, (_, i) =>
      alice
        .send(conv.id, utf8(`g${i}`), `g${i}`)
        .then((seq) => {
          committed++;
          return [i, seq] as const;
        })
        .catch(() => undefined),
    );
    await expect.poll(() => committed, { interval: 1 }).toBeGreaterThan(0); // stop while the rest are in flight
    const code = await s.stop();
    expect(code).toBe(0);
    await waitFor(() => closes.length > 0, 5000, 'socket close');
    expect(closes[0]).toMatch(/shutting down/);
    alice.close();
    const done = (await Promise.all(sends)).filter((x) => x !== undefined);
    const again = await startServerProcess({ dataDir: s.dataDir, env: { PALISADE_PORT: String(s.port) } });
    started.push(again);
    const reader = deviceClient(again, alice.deviceKey, alice.token);
    const history = await reader.api.history(conv.id, 0, 500);
    const stored = new Map(history.map((m) => [m.clientMsgId, m.seq]));
    for (const [i, seq] of done) expect(stored.get(`g${i}`)).toBe(seq);
    await again.stop();
  });
});
