import { request } from 'node:http';
import { expect, it } from 'vitest';
import type { SessionGrant } from '@palisade/protocol';
import type { Api } from '../api.js';
import { ssoLoopbackSignIn, SsoLoopbackTimeoutError } from './sso-loopback.js';

/** A stand-in for the server side of the Api: records what the helper sends. */
function fakeApi() {
  const calls: { start?: { port: number }; completions: string[] } = { completions: [] };
  const api = {
    ssoStart: (_name: string, _platform?: string, opts?: { loopback?: { port: number } }) => {
      calls.start = opts?.loopback;
      return Promise.resolve({
        ssoId: 'sso123',
        browserUrl: 'https://chat.example/v1/sso/begin/sso123?k=x',
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
      });
    },
    ssoComplete: (_id: string, c?: string) => {
      calls.completions.push(c ?? '');
      return Promise.resolve({
        token: 't',
        userId: 'u',
        deviceId: 'd',
        aal: 2,
        expiresAt: '',
      } as unknown as SessionGrant);
    },
  };
  return { api: api as unknown as Api, calls };
}

/** One GET to the listener with the given Host header. */
function get(port: number, path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

it('S1: the loopback helper takes only its own sign-on on 127.0.0.1 (Host checked), once, and escapes the device name', async () => {
  const { api, calls } = fakeApi();
  const answers: { status: number; body: string }[] = [];
  let leg: Promise<void> | undefined;
  const grant = await ssoLoopbackSignIn(api, {
    deviceName: '<b>laptop</b>',
    onBrowserUrl: () =>
      (leg = (async () => {
        const port = (calls.start as { port: number }).port;
        answers.push(await get(port, '/palisade-sso?ssoId=sso123&c=abcdefghijklmnop0123', `rebound.example:${port}`)); // DNS rebinding
        answers.push(await get(port, '/palisade-sso?ssoId=other&c=abcdefghijklmnop0123'));
        answers.push(await get(port, '/palisade-sso?ssoId=sso123&c=abcdefghijklmnop0123'));
      })()),
  });
  await leg; // the browser's last answer arrives just after the helper resolves
  expect(grant.token).toBe('t');
  expect(answers.map((a) => a.status)).toEqual([404, 400, 200]);
  expect(answers[2]?.body).toContain('Palisade: signed in on &#60;b&#62;laptop&#60;/b&#62;; you can close this tab.');
  expect(calls.completions).toEqual(['abcdefghijklmnop0123']); // only the matching request reached the server
  await expect(
    get((calls.start as { port: number }).port, '/palisade-sso?ssoId=sso123&c=abcdefghijklmnop0123'),
  ).rejects.toThrow(); // listener closed
});

it('S1: the loopback helper gives up with a clear message when no browser arrives', async () => {
  const { api, calls } = fakeApi();
  await expect(
    ssoLoopbackSignIn(api, { deviceName: 'laptop', timeoutMs: 20, onBrowserUrl: () => undefined }),
  ).rejects.toBeInstanceOf(SsoLoopbackTimeoutError);
  await expect(
    ssoLoopbackSignIn(api, { deviceName: 'laptop', timeoutMs: 20, onBrowserUrl: () => undefined }),
  ).rejects.toThrow(/--no-loopback/);
  expect(calls.completions).toEqual([]);
});
