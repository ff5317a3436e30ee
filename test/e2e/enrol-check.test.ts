import { request } from 'node:https';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import type { PalisadeClient } from '@palisade/client';
import { chat, palisade } from '../support/cli.js';
import { useServerWithAdmin } from '../support/harness.js';
import type { ServerProcess } from '../support/server-process.js';
import { deviceClient, PASS } from '../support/users.js';

/** Enrols an authenticator app; confirming it counts as a fresh step-up for this session. */
async function enrolTotp(c: PalisadeClient): Promise<void> {
  const t = await c.api.enrolTotp();
  const code = new TOTP({ secret: Secret.fromBase32(t.secret), digits: 6, period: 30 }).generate();
  await c.api.confirmTotp(t.id, code);
}

/** One raw HTTPS request sent FROM `localAddress` (another loopback address stands for another network). */
function from(server: ServerProcess, localAddress: string, path: string, body: unknown) {
  return new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        localAddress,
        method: 'POST',
        path,
        ca: server.ca,
        headers: { 'content-type': 'application/json' },
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
    req.end(JSON.stringify(body));
  });
}

describe('POST /v1/enrol/check and the enrol prompts', () => {
  const env = useServerWithAdmin();
  const fingerprint = () => /fingerprint: (\S+)/.exec(env.server.stderr())![1]!;

  it('answers {valid} or {valid: false, reason: invalid}, does not consume the token, and shares the enrolment budget of the address', async () => {
    const inv = await env.admin.api.invite();
    const ok = await from(env.server, '127.0.70.1', '/v1/enrol/check', { token: inv.token });
    expect(ok).toEqual({ status: 200, json: { valid: true } });
    const bogus = await from(env.server, '127.0.70.1', '/v1/enrol/check', {
      token: 'bogus-token-bogus-token-bogus-token-bogus',
    });
    expect(bogus).toEqual({ status: 200, json: { valid: false, reason: 'invalid' } });
    expect((await from(env.server, '127.0.70.1', '/v1/enrol/check', { token: 'x' })).status).toBe(400);
    // SECURITY (S9): checks and enrolments draw on one budget (10 per address), so checking adds no guesses.
    const codes: number[] = [];
    for (let i = 0; i < 10; i++)
      codes.push((await from(env.server, '127.0.70.1', '/v1/enrol/check', { token: inv.token })).status);
    expect(codes).toContain(429);
    const enrol = await from(env.server, '127.0.70.1', '/v1/enrol', {
      token: inv.token,
      username: 'kim',
      password: PASS,
    });
    expect([enrol.status, enrol.json.code]).toEqual([429, 'rate_limited']);
    // Another network still can, with the same token (checks did not use it up).
    expect(
      (await from(env.server, '127.0.71.1', '/v1/enrol', { token: inv.token, username: 'kim', password: PASS })).status,
    ).toBe(201);
    // A used token answers exactly as an unknown one.
    expect(await from(env.server, '127.0.72.1', '/v1/enrol/check', { token: inv.token })).toEqual({
      status: 200,
      json: { valid: false, reason: 'invalid' },
    });
  });

  it('palisade-chat enrol reports a used token before it asks for a password', async () => {
    const inv = await env.admin.api.invite();
    const args = ['--server', env.server.baseUrl, '--token-stdin', '--fingerprint', fingerprint(), '--password-stdin'];
    const first = await chat(
      mkdtempSync(join(tmpdir(), 'palisade-chat-')),
      ['enrol', ...args, '--username', 'lou'],
      `${inv.token}\n${PASS}\n`,
    );
    expect(first.err).toMatch(/logged in as lou/);
    const again = await chat(
      mkdtempSync(join(tmpdir(), 'palisade-chat-')),
      ['enrol', ...args, '--username', 'lou2'],
      `${inv.token}\n${PASS}\n`,
    );
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/token_invalid: this token cannot enrol: it is unknown, used or expired\./);
    expect(again.err).not.toMatch(/Password:/);
  });

  it("an invite awaiting a second admin's approval answers pending and palisade-chat enrol says invite_pending before any password prompt; once approved it enrols", async () => {
    const admin = env.admin;
    await enrolTotp(admin); // a grant of org_admin needs a recent step-up
    const inv = await admin.api.call<{ token: string; pendingApproval?: string }>('POST', '/v1/invites', {
      role: 'member',
      grants: ['org_admin'],
    });
    expect(inv.pendingApproval).toEqual(expect.any(String));
    expect(await from(env.server, '127.0.73.1', '/v1/enrol/check', { token: inv.token })).toEqual({
      status: 200,
      json: { valid: false, reason: 'pending' },
    });
    const args = ['--server', env.server.baseUrl, '--token-stdin', '--fingerprint', fingerprint(), '--password-stdin'];
    const home = mkdtempSync(join(tmpdir(), 'palisade-chat-'));
    const pending = await chat(home, ['enrol', ...args, '--username', 'nina'], `${inv.token}\n${PASS}\n`);
    expect(pending.code).toBe(1);
    expect(pending.err).toMatch(
      /invite_pending: this invite carries administrative roles and waits for a second admin's approval/,
    );
    expect(pending.err).toMatch(/palisade-chat admin approve <id>/);
    expect(pending.err).not.toMatch(/token_invalid|Password:|logged in/);

    // A second, independent org_admin (made over the operator's admin socket) steps up and approves.
    const op = await palisade(['admin', 'invite', '--grant', 'org_admin'], { PALISADE_DATA_DIR: env.server.dataDir });
    expect(op.code).toBe(0);
    const olga = deviceClient(env.server);
    await olga.api.enrol({ token: op.out.trim(), username: 'olga', password: PASS });
    await olga.login('olga', PASS, 'olga laptop');
    await enrolTotp(olga);
    await olga.api.call('POST', `/v1/approvals/${inv.pendingApproval}/approve`, {});
    olga.close();

    expect(await from(env.server, '127.0.73.1', '/v1/enrol/check', { token: inv.token })).toEqual({
      status: 200,
      json: { valid: true },
    });
    const approved = await chat(home, ['enrol', ...args, '--username', 'nina'], `${inv.token}\n${PASS}\n`);
    expect(approved.err).toMatch(/logged in as nina/);
    expect(approved.code).toBe(0);
  });
});
