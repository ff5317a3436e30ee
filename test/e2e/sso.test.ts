import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ssoLoopbackSignIn } from '@palisade/client/node';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, TestBrowser } from '../../packages/server/src/test-support/oidc-idp.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { deviceClient } from '../support/users.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

/** A listener of the attacker's test on 127.0.0.1: it records whatever reaches it. */
async function recordingListener() {
  const hits: string[] = [];
  const srv = createHttpServer((req, res) => {
    hits.push(req.url ?? '');
    res.end('ok');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as AddressInfo).port,
    hits,
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
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
    writeFileSync(
      config,
      [
        'auth:',
        '  oidc:',
        `    issuer: ${idp.issuer}`,
        '    clientId: palisade',
        '    clientSecret: secret://env/PALISADE_TEST_OIDC_SECRET',
        `    redirectUri: ${redirect}`,
        "    roleMapping: { 'chat-auditors': auditor, 'chat-security': security_admin }",
        '',
      ].join('\n'),
    );
    server = await startServerProcess({
      dataDir: dir,
      env: {
        PALISADE_PORT: String(port),
        PALISADE_TEST_OIDC_SECRET: 'palisade-secret-0123456789abcdef',
        PALISADE_CONFIG: config,
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await idp?.close();
  });

  it('signs a new user in through the IdP, provisions them with mapped roles, and hands the session only to the starting device', async () => {
    idp.state.next = {
      sub: 'idp-user-1',
      claims: { preferred_username: 'mona', groups: ['chat-auditors'] },
      amr: ['pwd', 'hwk'],
    };
    const phone = deviceClient(server);
    const start = await phone.api.ssoStart('phone', 'ios');
    expect(await phone.api.ssoComplete(start.ssoId)).toBeUndefined();
    // The phone opens its link in its own browser: the same browser goes on to the IdP and back.
    const browser = new TestBrowser(server.ca);
    const callback = await browser.browseTo(start.browserUrl, redirect);
    const page = await browser.get(callback.href);
    expect(page.status).toBe(200);
    expect(JSON.parse(page.body)).toMatchObject({ status: 'signed_in', device: { name: 'phone', platform: 'ios' } });
    const thief = deviceClient(server);
    await expect(
      thief.api.call(
        'POST',
        '/v1/sso/complete',
        { ssoId: start.ssoId, signature: thief.deviceKey.signSso(start.ssoId) },
        false,
      ),
    ).rejects.toMatchObject({ code: 'device_proof_failed' });
    const grant = await phone.api.ssoComplete(start.ssoId);
    expect(grant?.aal).toBe(2);
    const me = await phone.api.me();
    expect(me).toMatchObject({ username: 'mona', roles: ['member', 'auditor'] });
    await phone.connect();
    phone.close();
  });

  it("S1: the IdP URL an attacker sends the victim lands without the device's browser cookie; the attacker's /v1/sso/complete fails", async () => {
    idp.state.next = {
      sub: 'idp-victor',
      claims: { preferred_username: 'victor', groups: ['chat-security'] },
      amr: ['pwd', 'otp'],
    };
    const attacker = deviceClient(server);
    const start = await attacker.api.ssoStart('totally-legit', 'linux');
    // He opens his link in his own browser, stops at the IdP, and sends the victim that IdP URL.
    const attackerBrowser = new TestBrowser(server.ca);
    const first = await attackerBrowser.get(start.browserUrl);
    expect(first.status).toBe(302);
    const idpUrl = new URL(first.location as string);
    expect(idpUrl.origin).toBe(idp.issuer);
    // The victim signs in at her IdP with MFA in her own browser and lands on the callback.
    const victimBrowser = new TestBrowser(server.ca);
    const callback = await victimBrowser.browseTo(idpUrl.href, redirect);
    const page = await victimBrowser.get(callback.href);
    expect(page.status).toBe(403);
    expect(JSON.parse(page.body)).toMatchObject({ code: 'sso_browser_mismatch' });
    await expect(attacker.api.ssoComplete(start.ssoId)).rejects.toMatchObject({ code: 'code_invalid' });
    // Re-opening the device link (in any browser) does not revive it.
    expect((await victimBrowser.get(start.browserUrl)).status).toBe(401);
    // The legitimate flow still works: the device's own browser opens its link, and victor is signed in.
    const laptop = deviceClient(server);
    const mine = await laptop.api.ssoStart('victor laptop', 'linux');
    const browser = new TestBrowser(server.ca);
    const ok = await browser.get((await browser.browseTo(mine.browserUrl, redirect)).href);
    expect(JSON.parse(ok.body)).toMatchObject({
      status: 'signed_in',
      device: { name: 'victor laptop', platform: 'linux' },
    });
    expect((await laptop.api.ssoComplete(mine.ssoId))?.aal).toBe(2);
    expect(await laptop.api.me()).toMatchObject({ username: 'victor', roles: ['member', 'security_admin'] });
    laptop.close();
  });

  it("S1: a loopback begin link forwarded to a victim on the same network ends at her own loopback; the attacker's /v1/sso/complete fails without the completion secret and with a guessed one", async () => {
    idp.state.next = {
      sub: 'idp-vera',
      claims: { preferred_username: 'vera', groups: ['chat-security'] },
      amr: ['pwd', 'otp'],
    };
    const attacker = deviceClient(server);
    const listener = await recordingListener();
    const start = await attacker.api.ssoStart('vera laptop', 'linux', { loopback: { port: listener.port } });
    // Polling does not work for a loopback sign-on, whatever the state of the IdP step.
    await expect(attacker.api.ssoComplete(start.ssoId)).rejects.toMatchObject({ code: 'sso_completion_required' });
    // The victim opens the forwarded begin link (same network, so it is accepted) and signs in at her IdP.
    const victimBrowser = new TestBrowser(server.ca);
    const callback = await victimBrowser.browseTo(start.browserUrl, redirect);
    const landed = await victimBrowser.get(callback.href);
    expect(landed.status).toBe(303);
    const loopback = new URL(landed.location as string);
    expect(`${loopback.origin}${loopback.pathname}`).toBe(`http://127.0.0.1:${listener.port}/palisade-sso`);
    expect(loopback.searchParams.get('ssoId')).toBe(start.ssoId);
    // Her browser goes to 127.0.0.1 of HER machine, where nothing of the attacker listens: it never
    // reaches his listener (the test's victim browser does not deliver it there).
    expect(listener.hits).toEqual([]);
    await expect(attacker.api.ssoComplete(start.ssoId)).rejects.toMatchObject({ code: 'sso_completion_required' });
    await expect(
      attacker.api.ssoComplete(start.ssoId, 'guessed-completion-secret-0123456789abcdef'),
    ).rejects.toMatchObject({ code: 'code_invalid' });
    // The wrong guess burnt the sign-on: not even the real secret (read here from the victim's browser) collects it now.
    await expect(attacker.api.ssoComplete(start.ssoId, loopback.searchParams.get('c') as string)).rejects.toMatchObject(
      { code: 'code_invalid' },
    );
    await expect(attacker.api.me()).rejects.toMatchObject({ code: 'not_authenticated' });
    expect(listener.hits).toEqual([]);
    await listener.close();
  });

  it("S1: the loopback sign-on through the SDK helper: the browser's redirect reaches the helper's listener, which collects the session once", async () => {
    idp.state.next = {
      sub: 'idp-lena',
      claims: { preferred_username: 'lena', groups: ['chat-auditors'] },
      amr: ['pwd', 'hwk'],
    };
    const laptop = deviceClient(server);
    const browser = new TestBrowser(server.ca);
    let landedAt: URL | undefined;
    let browserLeg: Promise<Awaited<ReturnType<TestBrowser['get']>>> | undefined;
    const walk = async (url: string) => {
      const callback = await browser.browseTo(url, redirect);
      const landed = await browser.get(callback.href);
      expect(landed.status).toBe(303);
      landedAt = new URL(landed.location as string);
      return browser.get(landedAt.href); // the browser on this machine reaches the helper's listener
    };
    const grant = await ssoLoopbackSignIn(laptop.api, {
      deviceName: 'lena laptop',
      platform: 'linux',
      onBrowserUrl: (url) => {
        browserLeg = walk(url);
        return browserLeg.then(() => undefined);
      },
    });
    expect(grant.aal).toBe(2);
    expect(await laptop.api.me()).toMatchObject({ username: 'lena', roles: ['member', 'auditor'] });
    const page = await (browserLeg as NonNullable<typeof browserLeg>);
    expect(page.status).toBe(200);
    expect(page.body).toContain('Palisade: signed in on lena laptop; you can close this tab');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    // The secret is single use: the same device cannot collect a second session with it.
    const ssoId = (landedAt as URL).searchParams.get('ssoId') as string;
    const secret = (landedAt as URL).searchParams.get('c') as string;
    await expect(laptop.api.ssoComplete(ssoId, secret)).rejects.toMatchObject({ code: 'code_invalid' });
    const thief = deviceClient(server);
    await expect(thief.api.ssoComplete(ssoId, secret)).rejects.toMatchObject({ code: 'code_invalid' });
    laptop.close();
  });

  it('S1: a start whose loopback is not a loopback IP literal, or has a bad port, is refused with bad_request', async () => {
    const d = deviceClient(server);
    const device = { publicKey: d.deviceKey.publicKey, name: 'x', platform: 'linux' };
    for (const loopback of [
      { port: 8080, host: 'attacker.example' },
      { port: 8080, host: 'localhost' },
      { port: 8080, host: '10.0.0.5' },
      { port: 80 },
      { port: 65536 },
      { port: 8080.5 },
      { port: '8080' },
      { redirect: 'http://attacker.example/palisade-sso' },
    ]) {
      await expect(d.api.call('POST', '/v1/sso/start', { device, loopback }, false)).rejects.toMatchObject({
        code: 'bad_request',
      });
    }
    await expect(
      d.api.call('POST', '/v1/sso/start', { device, loopback: { port: 8080, host: '::1' } }, false),
    ).resolves.toMatchObject({ ssoId: expect.any(String) });
  });

  it('S11: signing in again with the group removed at the IdP withdraws the mapped role', async () => {
    const laptop = deviceClient(server);
    const signIn = async (groups: string[]) => {
      idp.state.next = { sub: 'idp-walter', claims: { preferred_username: 'walter', groups }, amr: ['pwd', 'otp'] };
      const s = await laptop.api.ssoStart('walter laptop', 'linux');
      const browser = new TestBrowser(server.ca);
      expect((await browser.get((await browser.browseTo(s.browserUrl, redirect)).href)).status).toBe(200);
      await laptop.api.ssoComplete(s.ssoId);
      return laptop.api.me();
    };
    expect(await signIn(['chat-security'])).toMatchObject({ username: 'walter', roles: ['member', 'security_admin'] });
    expect((await signIn([])).roles).toEqual(['member']);
    laptop.close();
  });
});
