import { request } from 'node:https';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browseToCallback, startTestIdp } from '../../packages/server/src/test-support/oidc-idp.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { deviceClient } from '../support/users.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

function get(url: URL, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('single sign-on through the SDK against a real server and a real IdP', () => {
  let server: ServerProcess;
  let idp: Awaited<ReturnType<typeof startTestIdp>>;
  let redirect = '';
  beforeAll(async () => {
    const port = await freePort();
    redirect = `https://127.0.0.1:${port}/v1/sso/callback`;
    idp = await startTestIdp(redirect);
    const dir = mkdtempSync(join(tmpdir(), 'palisade-sso-'));
    const config = join(dir, 'palisade.yaml');
    writeFileSync(config, [
      'auth:', '  oidc:', `    issuer: ${idp.issuer}`, '    clientId: palisade', '    clientSecret: secret://env/PALISADE_TEST_OIDC_SECRET',
      `    redirectUri: ${redirect}`, "    roleMapping: { 'chat-auditors': auditor }", '',
    ].join('\n'));
    server = await startServerProcess({ dataDir: dir, env: { PALISADE_PORT: String(port), PALISADE_TEST_OIDC_SECRET: 'palisade-secret-0123456789abcdef', PALISADE_CONFIG: config } });
  });
  afterAll(async () => {
    await server?.stop();
    await idp?.close();
  });

  it('signs a new user in through the IdP, provisions them with mapped roles, and hands the session only to the starting device', async () => {
    idp.state.next = { sub: 'idp-user-1', claims: { preferred_username: 'mona', groups: ['chat-auditors'] }, amr: ['pwd', 'hwk'] };
    const phone = deviceClient(server);
    const start = await phone.api.ssoStart('phone', 'ios');
    expect(await phone.api.ssoComplete(start.ssoId)).toBeUndefined();
    const callback = await browseToCallback(start.authorizationUrl, redirect);
    const page = await get(callback, server.ca);
    expect(page.status).toBe(200);
    expect(JSON.parse(page.body)).toMatchObject({ status: 'signed_in' });
    const thief = deviceClient(server);
    await expect(thief.api.call('POST', '/v1/sso/complete', { ssoId: start.ssoId, signature: thief.deviceKey.signSso(start.ssoId) }, false)).rejects.toMatchObject({ code: 'device_proof_failed' });
    const grant = await phone.api.ssoComplete(start.ssoId);
    expect(grant?.aal).toBe(2);
    const me = await phone.api.me();
    expect(me).toMatchObject({ username: 'mona', roles: ['member', 'auditor'] });
    await phone.connect();
    phone.close();
  });
});
