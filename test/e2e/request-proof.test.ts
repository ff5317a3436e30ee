import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PalisadeClient } from '@palisade/client';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { createUsers, deviceClient, enrolAdmin, PASS } from '../support/users.js';

interface RawResponse {
  status: number;
  body: { code?: string; seq?: number; messages?: { payload: string }[] };
}

/** One HTTPS request with exactly these headers and body bytes. */
function send(
  server: ServerProcess,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string> = { ...headers };
    if (body !== undefined) h['content-type'] = 'application/json';
    const req = request(
      { host: '127.0.0.1', port: server.port, method, path, ca: server.ca, headers: h, agent: false },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as RawResponse['body']) : {} }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const payload = (text: string) => Buffer.from(text).toString('base64');

describe('S6 request proofs are bound to body and session, single use, within 30 s (real server)', () => {
  let server: ServerProcess;
  let admin: PalisadeClient;
  let alice: PalisadeClient;
  let conversation: string;
  beforeAll(async () => {
    server = await startServerProcess();
    admin = await enrolAdmin(server);
    [alice] = (await createUsers(server, admin, ['alice'])) as [PalisadeClient];
    conversation = (await alice.api.createGroup('proofs', [])).id;
  });
  afterAll(async () => {
    admin?.close();
    alice?.close();
    await server?.stop();
  });

  /** What an attacker on the path captures: the Authorization and proof headers of one signed request. */
  function capture(method: string, path: string, body?: string) {
    const token = alice.token as string;
    return { authorization: `Bearer ${token}`, 'x-palisade-proof': alice.api.signedProof(method, path, token, body) };
  }

  it('S6: a captured (Authorization, proof) pair replayed with the same body is refused', async () => {
    const path = `/v1/conversations/${conversation}/messages`;
    const body = JSON.stringify({ clientMsgId: 'proof-same-1', payload: payload('lunch at 12') });
    const headers = capture('POST', path, body);
    const first = await send(server, 'POST', path, headers, body);
    expect(first.status).toBe(201);
    const replay = await send(server, 'POST', path, headers, body);
    expect([replay.status, replay.body.code]).toEqual([401, 'device_proof_failed']);
  });

  it('S6: a captured proof replayed with another body is refused, and nothing is stored', async () => {
    const path = `/v1/conversations/${conversation}/messages`;
    const body = JSON.stringify({ clientMsgId: 'proof-other-1', payload: payload('see you') });
    const headers = capture('POST', path, body);
    const forged = JSON.stringify({ clientMsgId: 'proof-other-2', payload: payload('wire the money') });
    // Sent first with the forged body (the attacker races the real request): refused.
    const res = await send(server, 'POST', path, headers, forged);
    expect([res.status, res.body.code]).toEqual([401, 'device_proof_failed']);
    // The same proof with its own body still works once (the failed attempt did not consume it).
    expect((await send(server, 'POST', path, headers, body)).status).toBe(201);
    const texts = (await alice.api.history(conversation)).map((m) => Buffer.from(m.payload, 'base64').toString());
    expect(texts).not.toContain('wire the money');
    expect(texts).toContain('see you');
  });

  it('S6: a replayed GET proof is refused', async () => {
    const path = `/v1/conversations/${conversation}/messages?after=0&limit=10`;
    const headers = capture('GET', path);
    expect((await send(server, 'GET', path, headers)).status).toBe(200);
    const replay = await send(server, 'GET', path, headers);
    expect([replay.status, replay.body.code]).toEqual([401, 'device_proof_failed']);
  });

  it('S6: a proof 31 s old or 31 s in the future is refused; one 20 s off is accepted', async () => {
    const token = alice.token as string;
    const at = (offsetMs: number) => ({
      authorization: `Bearer ${token}`,
      'x-palisade-proof': alice.deviceKey.httpProof('GET', '/v1/me', Date.now() + offsetMs, token),
    });
    const old = await send(server, 'GET', '/v1/me', at(-31_000));
    expect([old.status, old.body.code]).toEqual([401, 'device_proof_failed']);
    const future = await send(server, 'GET', '/v1/me', at(31_000));
    expect([future.status, future.body.code]).toEqual([401, 'device_proof_failed']);
    expect((await send(server, 'GET', '/v1/me', at(-20_000))).status).toBe(200);
    expect((await send(server, 'GET', '/v1/me', at(20_000))).status).toBe(200);
  });

  it('S6: a proof made for another session of the same device is refused', async () => {
    // Same device key, second login: a second session of the same device.
    const second = deviceClient(server, alice.deviceKey);
    await second.login('alice', PASS, 'alice device 1');
    const tokenA = alice.token as string;
    const tokenB = second.token as string;
    expect(tokenB).not.toBe(tokenA);
    const proofForA = alice.deviceKey.httpProof('GET', '/v1/me', Date.now(), tokenA);
    const res = await send(server, 'GET', '/v1/me', {
      authorization: `Bearer ${tokenB}`,
      'x-palisade-proof': proofForA,
    });
    expect([res.status, res.body.code]).toEqual([401, 'device_proof_failed']);
    // The SDK's own calls keep working on both sessions (every call gets a fresh proof).
    expect((await second.api.me()).username).toBe('alice');
    expect((await alice.api.me()).username).toBe('alice');
    second.close();
  });

  it('S6: a proof with a re-encoded signature (same bytes, other base64url text) is still a replay', async () => {
    const path = '/v1/me';
    const headers = capture('GET', path);
    expect((await send(server, 'GET', path, headers)).status).toBe(200);
    const reencoded = { ...headers, 'x-palisade-proof': `${headers['x-palisade-proof']}==` };
    const res = await send(server, 'GET', path, reencoded);
    expect([res.status, res.body.code]).toEqual([401, 'device_proof_failed']);
  });
});
