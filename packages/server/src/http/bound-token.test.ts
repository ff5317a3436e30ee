import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpProofMessage } from '@palisade/protocol';
import { createServiceAccount, issueServiceToken, revokeServiceToken } from '../auth/index.js';
import type { Principal } from '../core/index.js';
import { injectableApp, type InjectableApp } from '../test-support/http-app.js';

const sha = (b: string) => createHash('sha256').update(b).digest('hex');
let lastTs = 0;

/** An X-Palisade-Proof over exactly this request, signed by `key`. */
function proof(key: KeyObject, token: string, method: string, url: string, body = ''): string {
  const ts = (lastTs = Math.max(Date.now(), lastTs + 1));
  const message = httpProofMessage({
    method,
    pathAndQuery: url,
    unixMs: ts,
    bodySha256: sha(body),
    sessionSha256: sha(token),
  });
  return `${ts}.${sign(null, Buffer.from(message), key).toString('base64url')}`;
}

describe('device-bound service tokens over HTTP', () => {
  let t: InjectableApp;
  const botKey = generateKeyPairSync('ed25519');
  const admin = {
    userId: 'x',
    username: 'x',
    roles: ['org_admin'],
    deviceId: 'x',
    sessionId: 'x',
    aal: 2,
    strongAuthAt: Date.now(),
  } as unknown as Principal;
  let svcId = '';
  let bound: { id: string; token: string; deviceId?: string } = { id: '', token: '' };
  let unbound = '';

  beforeAll(async () => {
    t = await injectableApp('bound-token', { e2eeRequired: true });
    const svc = await createServiceAccount(t.core.auth, admin, 'boundbot');
    svcId = svc.id;
    const scopes = [{ action: 'message.send' as const, conversations: '*' as const }];
    const jwk = botKey.publicKey.export({ format: 'jwk' }) as { x: string };
    bound = await issueServiceToken(t.core.auth, admin, svc.id, {
      scopes,
      expiresInDays: 1,
      ratePerMinute: 6000,
      devicePublicKey: jwk.x,
    });
    unbound = (await issueServiceToken(t.core.auth, admin, svc.id, { scopes, expiresInDays: 1, ratePerMinute: 6000 }))
      .token;
  });
  afterAll(() => t?.close());

  const call = (method: 'GET' | 'POST' | 'PATCH', url: string, headers: Record<string, string>, body?: string) =>
    t.app
      .inject({
        method,
        url,
        headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
        payload: body,
      })
      .then((r) => ({ status: r.statusCode, json: JSON.parse(r.body || '{}') as Record<string, unknown> }));

  it('needs a fresh proof by its own device key on every request; unbound tokens keep needing none', async () => {
    const auth = { authorization: `Bearer ${bound.token}` };
    expect(await call('GET', '/v1/me', auth)).toMatchObject({ status: 401, json: { code: 'device_proof_failed' } });
    const good = proof(botKey.privateKey, bound.token, 'GET', '/v1/me');
    const me = await call('GET', '/v1/me', { ...auth, 'x-palisade-proof': good });
    expect(me).toMatchObject({ status: 200, json: { deviceId: bound.deviceId } });
    // Replayed, aimed at another URL, or signed by another key: refused.
    expect((await call('GET', '/v1/me', { ...auth, 'x-palisade-proof': good })).json.code).toBe('device_proof_failed');
    const elsewhere = proof(botKey.privateKey, bound.token, 'GET', '/v1/conversations');
    expect((await call('GET', '/v1/me', { ...auth, 'x-palisade-proof': elsewhere })).json.code).toBe(
      'device_proof_failed',
    );
    const stranger = proof(generateKeyPairSync('ed25519').privateKey, bound.token, 'GET', '/v1/me');
    expect((await call('GET', '/v1/me', { ...auth, 'x-palisade-proof': stranger })).json.code).toBe(
      'device_proof_failed',
    );
    expect((await call('GET', '/v1/me', { authorization: `Bearer ${unbound}` })).status).toBe(200);
  });

  it('may get its credential (an MLS member route) but not write its profile; an unbound token may do neither', async () => {
    const auth = { authorization: `Bearer ${bound.token}` };
    const cred = await call('POST', '/v1/e2ee/credential', {
      ...auth,
      'x-palisade-proof': proof(botKey.privateKey, bound.token, 'POST', '/v1/e2ee/credential'),
    });
    expect(cred.status).toBe(200);
    expect(typeof cred.json.credential).toBe('string');
    const body = JSON.stringify({ displayName: 'Not a bot' });
    const patch = await call(
      'PATCH',
      '/v1/me',
      { ...auth, 'x-palisade-proof': proof(botKey.privateKey, bound.token, 'PATCH', '/v1/me', body) },
      body,
    );
    expect(patch).toMatchObject({ status: 403, json: { code: 'forbidden' } });
    const plain = await call('POST', '/v1/e2ee/credential', { authorization: `Bearer ${unbound}` });
    expect(plain).toMatchObject({ status: 403, json: { code: 'forbidden' } });
  });

  it('is refused once revoked, even with a valid proof', async () => {
    await revokeServiceToken(t.core.auth, admin, svcId, bound.id);
    const r = await call('GET', '/v1/me', {
      authorization: `Bearer ${bound.token}`,
      'x-palisade-proof': proof(botKey.privateKey, bound.token, 'GET', '/v1/me'),
    });
    expect(r).toMatchObject({ status: 401, json: { code: 'session_invalid' } });
  });
});
