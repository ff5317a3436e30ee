import { connect } from 'node:tls';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DeviceKey, type PalisadeClient } from '@palisade/client';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { Secret, TOTP } from 'otpauth';
import { createUsers, enrolAdmin, PASS, waitFor } from '../support/users.js';

/** Opens a raw socket and collects frames (arrays of batched frames are flattened). */
function rawSocket(server: ServerProcess, headers: Record<string, string> = {}) {
  const ws = new WebSocket(`wss://127.0.0.1:${server.port}/v1/ws`, { ca: server.ca, headers });
  const frames: Record<string, unknown>[] = [];
  let closed: { code: number; reason: string } | undefined;
  ws.on('message', (d) => {
    const v = JSON.parse((d as Buffer).toString()) as unknown;
    frames.push(...((Array.isArray(v) ? v : [v]) as Record<string, unknown>[]));
  });
  ws.on('close', (code, reason) => (closed = { code, reason: reason.toString() }));
  ws.on('error', () => undefined);
  return { ws, frames, closed: () => closed };
}

function httpRaw(
  server: ServerProcess,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
) {
  return new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        method,
        path,
        ca: server.ca,
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('transport and session security (real server, real TLS)', () => {
  let server: ServerProcess;
  let admin: PalisadeClient;
  let alice: PalisadeClient;
  beforeAll(async () => {
    server = await startServerProcess({ env: { PALISADE_ALLOWED_ORIGINS: 'https://console.example' } });
    admin = await enrolAdmin(server);
    [alice] = (await createUsers(server, admin, ['alice'])) as [PalisadeClient];
  });
  afterAll(async () => {
    admin?.close();
    alice?.close();
    await server?.stop();
  });

  it('v5.0.0-12.1.1 refuses a TLS 1.2 handshake by default and negotiates TLS 1.3', async () => {
    const err = await new Promise<Error | undefined>((resolve) => {
      const s = connect(
        { host: '127.0.0.1', port: server.port, ca: server.ca, maxVersion: 'TLSv1.2', servername: 'localhost' },
        () => resolve(undefined),
      );
      s.on('error', (e: Error) => resolve(e));
    });
    expect(err?.message).toMatch(/protocol version|alert/i);
    const version = await new Promise<string | null>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: server.port, ca: server.ca, servername: 'localhost' }, () => {
        resolve(s.getProtocol());
        s.end();
      });
      s.on('error', reject);
    });
    expect(version).toBe('TLSv1.3');
  });

  it('sends HSTS and hardening headers, and answers bad input with stable codes and no stack trace', async () => {
    const health = await httpRaw(server, 'GET', '/healthz');
    expect(health.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(health.headers['x-content-type-options']).toBe('nosniff');
    const cases: [string, string | undefined, number, string][] = [
      ['/v1/login', '{', 400, 'bad_json'],
      ['/v1/login', '['.repeat(40) + ']'.repeat(40), 400, 'too_deep'],
      [
        '/v1/login',
        JSON.stringify({ username: 'a', password: 'b', device: { publicKey: 'x', name: 'n' }, role: 'admin' }),
        400,
        'bad_request',
      ],
      ['/v1/login', `{"p":"${'x'.repeat(200_000)}"}`, 413, 'body_too_large'],
      ['/v1/nope', '{}', 404, 'not_found'],
    ];
    for (const [path, body, status, code] of cases) {
      const r = await httpRaw(server, 'POST', path, body);
      expect([r.status, (JSON.parse(r.text) as { code?: string }).code]).toEqual([status, code]);
      expect(r.text).not.toMatch(/at .*\.js:\d+|stack/i);
    }
  });

  it('v5.0.0-6.3.8 answers a wrong password and an unknown user alike', async () => {
    const device = { publicKey: DeviceKey.generate().publicKey, name: 'x', platform: 'x' };
    const a = await httpRaw(
      server,
      'POST',
      '/v1/login',
      JSON.stringify({ username: 'alice', password: 'definitely wrong pass', device }),
    );
    const b = await httpRaw(
      server,
      'POST',
      '/v1/login',
      JSON.stringify({ username: 'mallory', password: 'definitely wrong pass', device }),
    );
    expect(a.status).toBe(401);
    expect(b.text).toBe(a.text);
  });

  it('refuses a stolen token without the device key, over HTTP and WebSocket; detection then ends the session', async () => {
    // Its own user: automatic response revokes the sessions of a token used from the wrong device.
    const [erin] = (await createUsers(server, admin, ['erin'])) as [PalisadeClient];
    const token = erin.token as string;
    const noProof = await httpRaw(server, 'GET', '/v1/me', undefined, { authorization: `Bearer ${token}` });
    expect([noProof.status, (JSON.parse(noProof.text) as { code?: string }).code]).toEqual([
      401,
      'device_proof_failed',
    ]);
    const thief = DeviceKey.generate();
    const forged = await httpRaw(server, 'GET', '/v1/me', undefined, {
      authorization: `Bearer ${token}`,
      'x-palisade-proof': thief.httpProof('GET', '/v1/me', Date.now(), token),
    });
    expect((JSON.parse(forged.text) as { code?: string }).code).toBe('device_proof_failed');
    const ok = await httpRaw(server, 'GET', '/v1/me', undefined, {
      authorization: `Bearer ${token}`,
      'x-palisade-proof': erin.deviceKey.httpProof('GET', '/v1/me', Date.now(), token),
    });
    expect((JSON.parse(ok.text) as { username?: string }).username).toBe('erin');

    const s = rawSocket(server);
    await waitFor(() => s.frames.length > 0);
    s.ws.send(JSON.stringify({ type: 'auth', token, signature: thief.signChallenge(String(s.frames[0]!.nonce)) }));
    await waitFor(() => s.closed() !== undefined);
    expect(s.closed()?.code).toBe(4401);
    expect(s.frames.some((f) => f.type === 'ready')).toBe(false);
    expect(s.frames.find((f) => f.type === 'error')?.code).toBe('device_proof_failed');
    // session.device_mismatch: the playbook revokes the session the thief holds (the owner logs in again).
    const withProof = () =>
      httpRaw(server, 'GET', '/v1/me', undefined, {
        authorization: `Bearer ${token}`,
        'x-palisade-proof': erin.deviceKey.httpProof('GET', '/v1/me', Date.now(), token),
      }).then((r) => r.status);
    await expect.poll(withProof, { timeout: 5_000, interval: 100 }).toBe(401);
    erin.close();
  });

  it('v5.0.0-4.4.2 refuses WebSocket upgrades from origins not on the allowlist', async () => {
    const bad = rawSocket(server, { origin: 'https://evil.example' });
    const err = await new Promise<Error>((r) => bad.ws.on('error', r));
    expect(err.message).toMatch(/403/);
    const good = rawSocket(server, { origin: 'https://console.example' });
    await waitFor(() => good.frames.some((f) => f.type === 'challenge'));
    good.ws.close();
  });

  it('keeps a connection usable after a malformed frame and closes it on protocol violations', async () => {
    const s = rawSocket(server);
    await waitFor(() => s.frames.length > 0);
    s.ws.send('{"type":"send"');
    await waitFor(() => s.closed() !== undefined);
    expect(s.closed()?.code).toBe(4400); // the first frame must be a valid auth

    const key = alice.deviceKey;
    const t = rawSocket(server);
    await waitFor(() => t.frames.length > 0);
    t.ws.send(
      JSON.stringify({ type: 'auth', token: alice.token, signature: key.signChallenge(String(t.frames[0]!.nonce)) }),
    );
    await waitFor(() => t.frames.some((f) => f.type === 'synced'));
    t.ws.send('not json');
    t.ws.send(JSON.stringify({ type: 'teleport' }));
    t.ws.send(JSON.stringify({ type: 'ping', ref: 'still-here' }));
    await waitFor(() => t.frames.some((f) => f.type === 'pong'));
    expect(t.frames.filter((f) => f.type === 'error').map((f) => f.code)).toEqual(['bad_json', 'unknown_frame']);
    expect(t.closed()).toBeUndefined();
    t.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await waitFor(() => t.closed() !== undefined);
    expect(t.closed()?.code).toBe(4400);

    const u = rawSocket(server);
    await waitFor(() => u.frames.length > 0);
    u.ws.send('x'.repeat(200_000));
    await waitFor(() => u.closed() !== undefined);
    expect(u.closed()?.code).toBe(1009);
    const health = await httpRaw(server, 'GET', '/healthz');
    expect(health.status).toBe(200);
  });

  it("v5.0.0-7.4.1 closes a revoked session's socket within 1 second", async () => {
    const [bob] = (await createUsers(server, admin, ['bob'])) as [PalisadeClient];
    let closedAt = 0;
    bob.on.state = (st) => {
      if (st === 'unauthenticated') closedAt = Date.now();
    };
    await bob.connect();
    const me = await bob.api.me();
    // Ending someone's sessions needs a recent step-up (S3): confirming an authenticator app is one.
    const t = await admin.api.enrolTotp();
    await admin.api.confirmTotp(
      t.id,
      new TOTP({ secret: Secret.fromBase32(t.secret), digits: 6, period: 30 }).generate(),
    );
    const t0 = Date.now();
    const r = await admin.api.call<{ revoked: number }>('POST', `/v1/admin/users/${me.userId}/revoke-sessions`);
    expect(r.revoked).toBe(1);
    await waitFor(() => closedAt > 0, 1000, 'socket close after revoke');
    expect(closedAt - t0).toBeLessThan(1000);
    await expect(bob.api.me()).rejects.toMatchObject({ code: 'session_invalid' });
  });

  it('closes the socket at logout and refuses members without the admin permission', async () => {
    const [carl] = (await createUsers(server, admin, ['carl'])) as [PalisadeClient];
    await expect(carl.api.invite()).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    let state = '';
    carl.on.state = (s) => (state = s);
    await carl.connect();
    await carl.api.logout();
    await waitFor(() => state === 'unauthenticated', 1000, 'close after logout');
    await expect(carl.login('carl', 'wrong password entirely', 'x')).rejects.toMatchObject({ code: 'auth_failed' });
    await carl.login('carl', PASS, 'again');
    expect((await carl.api.me()).username).toBe('carl');
  });
});

describe('TLS 1.2 when the operator opts in', () => {
  it('accepts TLS 1.2 only with ECDHE and an AEAD suite', async () => {
    const server = await startServerProcess({ env: { PALISADE_TLS_MIN_VERSION: 'TLSv1.2' } });
    try {
      const cipher = await new Promise<{ name: string; version: string }>((resolve, reject) => {
        const s = connect(
          { host: '127.0.0.1', port: server.port, ca: server.ca, maxVersion: 'TLSv1.2', servername: 'localhost' },
          () => {
            resolve(s.getCipher());
            s.end();
          },
        );
        s.on('error', reject);
      });
      expect(cipher.version).toBe('TLSv1.2');
      expect(cipher.name).toMatch(/^ECDHE-.*(GCM|CHACHA20-POLY1305)/);
      const cbc = await new Promise<Error | undefined>((resolve) => {
        const s = connect(
          {
            host: '127.0.0.1',
            port: server.port,
            ca: server.ca,
            maxVersion: 'TLSv1.2',
            ciphers: 'ECDHE-ECDSA-AES128-SHA256:AES128-SHA',
            servername: 'localhost',
          },
          () => resolve(undefined),
        );
        s.on('error', resolve);
      });
      expect(cbc).toBeInstanceOf(Error);
    } finally {
      await server.stop();
    }
  });
});
