import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Secret, TOTP } from 'otpauth';
import { afterAll, describe, expect, it } from 'vitest';
import { utf8, type PalisadeClient } from '@palisade/client';
import { useServerWithAdmin } from '../support/harness.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { createUsers, deviceClient, enrolAdmin, PASS } from '../support/users.js';

const codeFor = (secret: string, at = Date.now()) =>
  new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({ timestamp: at });
const failure = (p: Promise<unknown>) =>
  p.then(
    () => ({ status: 200, code: 'ok' }),
    (e: { status?: number; code?: string }) => ({ status: e.status, code: e.code }),
  );

/** Enrols an authenticator app for `c` and steps up with the next step's code (the first one is spent). */
async function stepUp(c: PalisadeClient): Promise<void> {
  const t = await c.api.enrolTotp();
  await c.api.confirmTotp(t.id, codeFor(t.secret));
  await c.api.stepUp(codeFor(t.secret, Date.now() + 30_000));
}

describe('hostile input against a real server (issue 8)', () => {
  const ctx = useServerWithAdmin();
  const open = () => new Database(join(ctx.server.dataDir, 'palisade.db'), { readonly: true, fileMustExist: true });
  const count = (sql: string, ...args: unknown[]) => {
    const db = open();
    try {
      return (db.prepare(sql).get(...args) as { n: number }).n;
    } finally {
      db.close();
    }
  };
  let stepped = false;
  const admin = async () => {
    if (!stepped) await stepUp(ctx.admin);
    stepped = true;
    return ctx.admin;
  };

  it('S13: deleted.<victim id> and bot.alerts cannot be enrolled; deleting the victim works and destroys its data key', async () => {
    const [victim] = (await createUsers(ctx.server, ctx.admin, ['victim'])) as [PalisadeClient];
    const victimId = (await victim.api.me()).userId;
    const squat = async (username: string) => {
      const inv = await ctx.admin.api.invite('member');
      return failure(deviceClient(ctx.server).api.enrol({ token: inv.token, username, password: PASS }));
    };
    // The review's reproduction: the squat that made the victim undeletable, and the bot impersonation.
    expect(await squat(`deleted.${victimId.slice(0, 16)}`)).toEqual({ status: 400, code: 'username_reserved' });
    expect(await squat('bot.alerts')).toEqual({ status: 400, code: 'username_reserved' });
    // A look-alike of the admin prefix (only the bootstrap account may use it); more look-alikes in auth's unit test.
    expect(await squat('adm1n-helpdesk')).toEqual({ status: 400, code: 'username_reserved' });
    const a = await admin();
    expect(await a.api.call('POST', '/v1/service-accounts', { name: 'alerts' })).toMatchObject({
      username: 'bot.alerts',
    });
    await a.api.deleteUser(victimId);
    expect(
      count('SELECT count(*) AS n FROM data_keys WHERE scope = ? AND destroyed_at IS NULL', `user:${victimId}`),
    ).toBe(0);
    expect(
      count('SELECT count(*) AS n FROM data_keys WHERE scope = ? AND destroyed_at IS NOT NULL', `user:${victimId}`),
    ).toBeGreaterThan(0);
    const gone = (await a.api.users()).find((u) => u.id === victimId);
    expect(gone?.username).toMatch(new RegExp(`^deleted\\.${victimId}\\.`));
    // A deleted account stays disabled for good: enable does not find it.
    expect(await failure(a.api.call('POST', `/v1/admin/users/${victimId}/enable`))).toEqual({
      status: 404,
      code: 'not_found',
    });
    victim.close();
  });

  it('issue 8: every admin route aimed at a user id that does not exist answers 404 and audits no success', async () => {
    const a = await admin();
    const ghost = 'f'.repeat(32);
    const calls: [string, string, unknown?][] = [
      ['GET', `/v1/admin/users/${ghost}/roles`],
      ['POST', `/v1/admin/users/${ghost}/roles`, { role: 'auditor', reason: 'for the audit' }],
      ['DELETE', `/v1/admin/users/${ghost}/roles/auditor`],
      ['POST', `/v1/admin/users/${ghost}/disable`],
      ['POST', `/v1/admin/users/${ghost}/enable`],
      ['DELETE', `/v1/admin/users/${ghost}`],
      ['POST', `/v1/admin/users/${ghost}/revoke-sessions`],
      ['POST', '/v1/approvals', { action: 'factor.reset', userId: ghost, reason: 'lost phone' }],
      ['POST', `/v1/admin/devices/${ghost}/revoke`],
      [
        'POST',
        `/v1/service-accounts/${ghost}/tokens`,
        { scopes: [{ action: 'message.send', conversations: '*' }], expiresInDays: 1 },
      ],
    ];
    for (const [method, path, body] of calls)
      expect(await failure(a.api.call(method, path, body)), `${method} ${path}`).toEqual({
        status: 404,
        code: 'not_found',
      });
    expect(count("SELECT count(*) AS n FROM audit_log WHERE outcome = 'success' AND target LIKE ?", `%${ghost}%`)).toBe(
      0,
    );
    expect(count('SELECT count(*) AS n FROM approvals')).toBe(0);
  });

  it('issue 8: 20 refused sends and renames over HTTP and WebSocket create no data key', async () => {
    const [mallory, bob] = (await createUsers(ctx.server, ctx.admin, ['mallory', 'bobk'])) as [
      PalisadeClient,
      PalisadeClient,
    ];
    const others = await bob.api.openDirect('admin'); // no message yet: no data key yet
    const group = await bob.api.createGroup('bob and admin', ['admin']);
    await mallory.connect();
    const keys = () => count('SELECT count(*) AS n FROM data_keys');
    const before = keys();
    const outcomes: unknown[] = [];
    for (let i = 0; i < 20; i++) {
      const target = [`nope${i}`, others.id, group.id][i % 3]!;
      outcomes.push(
        await failure(
          mallory.api.call('POST', `/v1/conversations/${target}/messages`, {
            clientMsgId: `h${i}`,
            payload: Buffer.from('x').toString('base64'),
          }),
        ),
      );
      outcomes.push(await failure(mallory.send(target, utf8('x'), `w${i}`)));
      outcomes.push(await failure(mallory.api.updateConversation(i % 2 ? target : `nope${i}`, { name: `mine ${i}` })));
    }
    expect(outcomes.every((o) => (o as { code: string }).code === 'not_found')).toBe(true);
    expect(keys()).toBe(before);
    mallory.close();
    bob.close();
  });
});

describe('S10: a nearly full disk refuses new messages and keeps the acknowledged ones', () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const s of servers) if (s.child.exitCode === null) await s.stop();
  });

  it('S10: below the free-disk reserve a send gets 503 storage_full; history is intact; sends resume with room', async () => {
    const first = await startServerProcess();
    servers.push(first);
    const admin = await enrolAdmin(first);
    const [kit] = (await createUsers(first, admin, ['kit'])) as [PalisadeClient];
    const conv = await kit.api.openDirect('admin');
    await kit.connect();
    const acked = [await kit.send(conv.id, utf8('one'), 'one'), await kit.send(conv.id, utf8('two'), 'two')];
    kit.close();
    admin.close();
    await first.stop();
    // The same data on a disk with less free space than the reserve (the reserve is larger than any disk).
    const full = await startServerProcess({
      dataDir: first.dataDir,
      config: 'limits:\n  storageReserveMiB: 1000000000\n',
    });
    servers.push(full);
    const again = deviceClient(full, kit.deviceKey, kit.token);
    expect(
      await failure(
        again.api.call('POST', `/v1/conversations/${conv.id}/messages`, {
          clientMsgId: 'three',
          payload: Buffer.from('three').toString('base64'),
        }),
      ),
    ).toEqual({ status: 503, code: 'storage_full' });
    await again.connect();
    expect(await failure(again.send(conv.id, utf8('four'), 'four'))).toMatchObject({ code: 'storage_full' });
    expect((await again.api.history(conv.id)).map((m) => [m.seq, m.clientMsgId])).toEqual([
      [acked[0], 'one'],
      [acked[1], 'two'],
    ]);
    again.close();
    await full.stop();
    const roomy = await startServerProcess({ dataDir: first.dataDir });
    servers.push(roomy);
    const later = deviceClient(roomy, kit.deviceKey, kit.token);
    expect(
      await later.api.call('POST', `/v1/conversations/${conv.id}/messages`, {
        clientMsgId: 'three',
        payload: Buffer.from('three').toString('base64'),
      }),
    ).toMatchObject({ seq: 3 });
    await roomy.stop();
  });
});
