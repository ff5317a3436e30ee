import { request } from 'node:https';
import { describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import { DeviceKey, MemoryStateStore, openBotMessaging, type E2eeMessage, type PalisadeClient } from '@palisade/client';
import { useServerWithAdmin } from '../support/harness.js';
import type { ServerProcess } from '../support/server-process.js';
import { createUsers, deviceClient, secureReader, waitFor } from '../support/users.js';

const codeFor = (secret: string, at: number) =>
  new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({ timestamp: at });

/** One raw HTTPS request with exactly the given headers (no proof unless the caller adds one). */
function raw(server: ServerProcess, method: string, path: string, headers: Record<string, string>) {
  return new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path, ca: server.ca, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { code?: string }) => e.code,
  );

describe('a bot is an end-to-end encrypted MLS member through a device-bound service token', () => {
  const ctx = useServerWithAdmin({ env: { PALISADE_E2EE_REQUIRED: 'true' } });

  it('the bot decrypts over HTTP and replies encrypted; plaintext and proof-less requests are refused; revoking its token removes it', async () => {
    const admin = ctx.admin;
    const t = await admin.api.enrolTotp();
    await admin.api.confirmTotp(t.id, codeFor(t.secret, Date.now()));
    await admin.api.stepUp(codeFor(t.secret, Date.now() + 30_000));
    const svc = await admin.api.call<{ id: string; username: string }>('POST', '/v1/service-accounts', {
      name: 'echo',
    });
    const botKey = DeviceKey.generate();
    const scopes = [
      { action: 'message.send', conversations: '*' },
      { action: 'conversation.read', conversations: '*' },
    ];
    // A bad device key is refused with a stable code and creates nothing.
    expect(
      await codeOf(
        admin.api.call('POST', `/v1/service-accounts/${svc.id}/tokens`, {
          scopes,
          expiresInDays: 1,
          devicePublicKey: 'AAAA',
        }),
      ),
    ).toBe('invalid_device_key');
    const tok = await admin.api.call<{ id: string; token: string; deviceId: string }>(
      'POST',
      `/v1/service-accounts/${svc.id}/tokens`,
      { scopes, expiresInDays: 1, ratePerMinute: 3000, devicePublicKey: botKey.publicKey },
    );
    expect(tok.token.startsWith('svc_')).toBe(true);
    expect(typeof tok.deviceId).toBe('string');

    const botClient = deviceClient(ctx.server, botKey, tok.token);
    expect((await botClient.api.me()).deviceId).toBe(tok.deviceId);
    const bot = await openBotMessaging(botClient, { store: new MemoryStateStore() });
    const botGot: E2eeMessage[] = [];
    bot.secure.on.message = (m) => botGot.push(m);
    expect(bot.deviceId).toBe(tok.deviceId);
    expect(bot.warnings).toEqual([]);

    const [alice] = (await createUsers(ctx.server, admin, ['botalice'])) as [PalisadeClient];
    const a = await secureReader(alice);
    await alice.connect();
    const conv = await alice.api.createGroup('with-bot', [svc.username]);
    await a.session.secure.sendText(conv.id, 'hello bot');

    // The bot reads over HTTP only: it joins by its Welcome and decrypts.
    expect(await bot.poll()).toContain(conv.id);
    expect(botGot.map((m) => m.text)).toEqual(['hello bot']);
    expect(botGot[0]!.senderId).toBe(a.session.userId);

    // The bot replies encrypted over the HTTP send route; alice decrypts it from her live connection.
    const seq = await bot.secure.sendText(conv.id, 'hello alice, from the bot');
    await waitFor(() => a.got.some((m) => m.text === 'hello alice, from the bot'), 15_000, 'alice to decrypt');
    const reply = a.got.find((m) => m.text === 'hello alice, from the bot')!;
    expect([reply.seq, reply.senderDeviceId]).toEqual([seq, tok.deviceId]);
    const stored = await alice.api.history(conv.id, 0, 100);
    expect(stored.find((m) => m.seq === seq)?.kind).toBe('mls');
    expect(stored.every((m) => !Buffer.from(m.payload, 'base64').includes('from the bot'))).toBe(true);

    // Plaintext through the HTTP send route is refused (the server requires MLS).
    const plain = new TextEncoder().encode('plaintext from the bot');
    expect(await codeOf(botClient.api.sendMessage(conv.id, plain, 'bot-plain-1'))).toBe('e2ee_required');

    // The bound token without a proof, or with a proof by another key, is refused; an unbound one is not.
    const bearer = { authorization: `Bearer ${tok.token}` };
    const noProof = await raw(ctx.server, 'GET', '/v1/me', bearer);
    expect([noProof.status, noProof.json.code]).toEqual([401, 'device_proof_failed']);
    const forged = DeviceKey.generate().httpProof('GET', '/v1/me', Date.now(), tok.token);
    const wrongKey = await raw(ctx.server, 'GET', '/v1/me', { ...bearer, 'x-palisade-proof': forged });
    expect(wrongKey.json.code).toBe('device_proof_failed');
    const unbound = await admin.api.call<{ token: string; deviceId?: string }>(
      'POST',
      `/v1/service-accounts/${svc.id}/tokens`,
      { scopes, expiresInDays: 1 },
    );
    expect(unbound.deviceId).toBeUndefined();
    const unboundMe = await raw(ctx.server, 'GET', '/v1/me', { authorization: `Bearer ${unbound.token}` });
    expect(unboundMe.status).toBe(200);
    // An unbound token cannot take part in MLS: no credential for it.
    const unboundClient = deviceClient(ctx.server, DeviceKey.generate(), unbound.token);
    expect(await codeOf(unboundClient.api.call('POST', '/v1/e2ee/credential'))).toBe('forbidden');
    // A bound token still cannot write its profile.
    expect(await codeOf(botClient.api.updateProfile({ displayName: 'Not a bot' }))).toBe('forbidden');

    // Revoking the token revokes its device: the bot's leaf is stale, and alice's next send removes it.
    await admin.api.call('DELETE', `/v1/service-accounts/${svc.id}/tokens/${tok.id}`);
    expect(await codeOf(botClient.api.me())).toBe('session_invalid');
    const before = await alice.api.call<{ stale: string[] }>('GET', `/v1/conversations/${conv.id}/mls`);
    expect(before.stale).toEqual([tok.deviceId]);
    const sendErrors: string[] = [];
    const send = alice.send.bind(alice);
    alice.send = (c, p, id) =>
      send(c, p, id).catch((e: { code?: string }) => {
        sendErrors.push(String(e.code));
        throw e;
      });
    await a.session.secure.sendText(conv.id, 'the bot is gone');
    expect(sendErrors).toContain('roster_stale');
    const after = await alice.api.call<{ stale: string[]; inGroup: string[] }>(
      'GET',
      `/v1/conversations/${conv.id}/mls`,
    );
    expect(after.stale).toEqual([]);
    expect(after.inGroup).not.toContain(tok.deviceId);
    const tail = (await alice.api.history(conv.id, 0, 100)).slice(-2).map((m) => m.kind);
    expect(tail).toEqual(['commit', 'mls']);
    botClient.close();
    unboundClient.close();
  });
});
