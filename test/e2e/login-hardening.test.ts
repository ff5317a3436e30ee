import { request } from 'node:https';
import { describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import { DeviceKey, type PalisadeClient } from '@palisade/client';
import { useServerWithAdmin } from '../support/harness.js';
import type { ServerProcess } from '../support/server-process.js';
import { createUsers, deviceClient, PASS } from '../support/users.js';

/** One raw HTTPS request sent FROM `localAddress` (another loopback address stands for another network). */
function from(
  server: ServerProcess,
  localAddress: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        localAddress,
        method,
        path,
        ca: server.ca,
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }),
        );
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const loginBody = (username: string, password: string, publicKey = DeviceKey.generate().publicKey) => ({
  username,
  password,
  device: { publicKey, name: 'raw', platform: 'test' },
});
const codeFor = (secret: string, at: number) =>
  new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({ timestamp: at });

describe('login and profile hardening against a real server', () => {
  const env = useServerWithAdmin();

  it('S7: ten wrong passwords from one address no longer lock the owner out; the attacker stays throttled', async () => {
    // bob enrols and logs in once on his laptop: that device key is now known for bob.
    const laptop = DeviceKey.generate();
    const bob = deviceClient(env.server, laptop);
    await bob.api.enrol({ token: (await env.admin.api.invite('member')).token, username: 'bob', password: PASS });
    await bob.login('bob', PASS, 'bob laptop');
    bob.close();

    // The review's reproduction: 11 wrong passwords for bob from 127.0.20.1.
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++)
      statuses.push(
        (await from(env.server, '127.0.20.1', 'POST', '/v1/login', loginBody('bob', 'not bobs password at all')))
          .status,
      );
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual(Array(6).fill(429));

    // bob's correct password from 127.0.21.1 with his known device: he gets in (was 429 rate_limited).
    const owner = await from(env.server, '127.0.21.1', 'POST', '/v1/login', loginBody('bob', PASS, laptop.publicKey));
    expect(owner.status).toBe(200);
    expect(owner.json.token).toEqual(expect.any(String));
    // Even from the attacker's own network, the known device gets in.
    expect(
      (await from(env.server, '127.0.20.2', 'POST', '/v1/login', loginBody('bob', PASS, laptop.publicKey))).status,
    ).toBe(200);
    // The attacker's address is still throttled, and a right password from an unknown device there too
    // (the answer does not tell a right password from a wrong one).
    const wrong = await from(env.server, '127.0.20.1', 'POST', '/v1/login', loginBody('bob', 'still not the password'));
    const right = await from(env.server, '127.0.20.1', 'POST', '/v1/login', loginBody('bob', PASS));
    expect([wrong.status, wrong.json.code, right.status, right.json.code]).toEqual([
      429,
      'rate_limited',
      429,
      'rate_limited',
    ]);
    expect(wrong.json.retryAfterMs).toEqual(expect.any(Number));
    // An unknown name is throttled exactly alike (no account enumeration).
    const ghost: number[] = [];
    for (let i = 0; i < 6; i++)
      ghost.push(
        (
          await from(
            env.server,
            '127.0.22.1',
            'POST',
            '/v1/login',
            loginBody('nobody-here', 'not bobs password at all'),
          )
        ).status,
      );
    expect(ghost).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('S9: addresses of one /24 share a login budget (the review: 3 x 20 from one /24 gave 60 x 401, 0 x 429)', async () => {
    const answers: { status: number; json: Record<string, unknown> }[] = [];
    const started = Date.now();
    for (const a of ['127.0.40.1', '127.0.40.2', '127.0.40.3', '127.0.40.4', '127.0.40.5']) {
      for (let i = 0; i < 10; i++)
        answers.push(
          await from(env.server, a, 'POST', '/v1/login', loginBody(`user-${a}-${i}`, 'wrong password here')),
        );
    }
    // Each address stayed within its own budgets (20 a minute, 10 failures before a delay), yet the
    // /24's budget (30, refilled at 1 per 2 s) ran out.
    const refused = answers.filter((r) => r.status === 429);
    // 50 tries against a budget of 30 plus what refilled meanwhile (1 per 2 s; the old code refused none).
    const refilled = Math.ceil((Date.now() - started) / 2000);
    expect(refused.length).toBeGreaterThanOrEqual(Math.min(10, 50 - 30 - refilled));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => /login\.network/.test(String(r.json.message)))).toBe(true);
    expect(answers.filter((r) => r.status !== 401 && r.status !== 429)).toEqual([]);
  });

  it('S9: a bogus enrolment token is refused as token_invalid, with a strong or a weak password alike', async () => {
    const strong = await from(env.server, '127.0.50.1', 'POST', '/v1/enrol', {
      token: 'bogus-token-bogus-token-bogus-token-bogus',
      username: 'mallory',
      password: 'orbit lantern velvet glacier tulip quarry',
    });
    const weak = await from(env.server, '127.0.50.1', 'POST', '/v1/enrol', {
      token: 'bogus-token-bogus-token-bogus-token-bogus',
      username: 'mallory',
      password: 'password',
    });
    expect([strong.status, strong.json.code, weak.status, weak.json.code]).toEqual([
      401,
      'token_invalid',
      401,
      'token_invalid',
    ]);
  });

  it('S17: enrolment refuses a weak long password with a reason that does not echo it', async () => {
    const inv = await env.admin.api.invite('member');
    const r = await from(env.server, '127.0.60.1', 'POST', '/v1/enrol', {
      token: inv.token,
      username: 'weakling',
      password: 'P@ssw0rdP@ssw0rd',
    });
    expect([r.status, r.json.code]).toEqual([400, 'weak_password']);
    expect(String(r.json.message)).toMatch(/refused: it/);
    expect(JSON.stringify(r.json)).not.toContain('P@ssw0rdP@ssw0rd');
    // The invite was not spent by the refusal.
    const ok = await from(env.server, '127.0.60.1', 'POST', '/v1/enrol', {
      token: inv.token,
      username: 'weakling',
      password: 'harbour kettle saffron walrus prism',
    });
    expect(ok.status).toBe(201);
  });

  it('S14: a bot token cannot PATCH /v1/me, and unverified claims neither block nor show up', async () => {
    const admin = env.admin;
    // The admin needs a recent step-up to issue a service token: enrol TOTP and step up.
    const t = await admin.api.enrolTotp();
    await admin.api.confirmTotp(t.id, codeFor(t.secret, Date.now()));
    await admin.api.stepUp(codeFor(t.secret, Date.now() + 30_000));
    const svc = await admin.api.call<{ id: string }>('POST', '/v1/service-accounts', { name: 'deploy' });
    const tok = await admin.api.call<{ token: string }>('POST', `/v1/service-accounts/${svc.id}/tokens`, {
      scopes: [{ action: 'message.send', conversations: '*' }],
      expiresInDays: 1,
    });
    const bot = { authorization: `Bearer ${tok.token}` };

    // The review's reproduction: PATCH /v1/me with the bot token was 200.
    const patched = await from(
      env.server,
      '127.0.0.1',
      'PATCH',
      '/v1/me',
      { displayName: 'Alice (CEO)', email: 'alice@corp.example' },
      bot,
    );
    expect([patched.status, patched.json.code]).toEqual([403, 'forbidden']);
    expect((await from(env.server, '127.0.0.1', 'GET', '/v1/me', undefined, bot)).status).toBe(200); // reads stay open

    // Another user claims alice's address first: it stays an unverified claim.
    const [carol, alice] = (await createUsers(env.server, admin, ['carol', 'alice'])) as [
      PalisadeClient,
      PalisadeClient,
    ];
    await carol.api.updateProfile({ email: 'Alice@corp.example' });
    await alice.api.updateProfile({ email: 'alice@corp.example' }); // was email_taken
    const find = () =>
      admin.api.call<{ users: { id: string; username: string; emailVerified: boolean }[] }>(
        'GET',
        '/v1/admin/users?email=alice%40corp.example',
      );
    expect((await find()).users).toEqual([]); // unverified claims are not searchable
    expect(await alice.api.me()).toMatchObject({ email: 'alice@corp.example', emailVerified: false });

    // The admin checks it out of band and marks alice's address verified: now unique and searchable.
    const aliceId = (await alice.api.me()).userId;
    await admin.api.call('POST', `/v1/admin/users/${aliceId}/email/verify`);
    expect((await find()).users.map((u) => [u.username, u.emailVerified])).toEqual([['alice', true]]);
    await expect(carol.api.updateProfile({ email: 'alice@corp.example' })).rejects.toMatchObject({
      code: 'email_taken',
    });
    const carolId = (await carol.api.me()).userId;
    await expect(admin.api.call('POST', `/v1/admin/users/${carolId}/email/verify`)).rejects.toMatchObject({
      code: 'email_taken',
    });
    // alice stating her verified address again keeps it verified; changing it starts a new claim.
    await alice.api.updateProfile({ email: 'alice@corp.example' });
    expect(await alice.api.me()).toMatchObject({ emailVerified: true });
    carol.close();
    alice.close();
  });
});
