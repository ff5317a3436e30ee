import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import type { PalisadeClient } from '@palisade/client';
import { createUsers, deviceClient, PASS } from '../support/users.js';
import { useServerWithAdmin } from '../support/harness.js';
import { chat, palisade, spawnChat } from '../support/cli.js';
import type { ServerProcess } from '../support/server-process.js';

const codeFor = (secret: string, at = Date.now()) =>
  new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({ timestamp: at });

/** Enrols an authenticator app; confirming it counts as a fresh step-up for this session. */
async function enrolTotp(c: PalisadeClient): Promise<void> {
  const t = await c.api.enrolTotp();
  await c.api.confirmTotp(t.id, codeFor(t.secret));
}

describe('role grants through invites, revocations and the two-person rule against a real server', () => {
  const ctx = useServerWithAdmin();

  it('S3: an admin session that has not stepped up (aal 1) cannot mint admins through an invite, revoke roles, end sessions or revoke devices', async () => {
    const admin = ctx.admin; // the first admin, in its grace period: aal 1, no factor, no step-up
    await expect(
      admin.api.call('POST', '/v1/invites', { role: 'guest', grants: ['org_admin', 'security_admin'] }),
    ).rejects.toMatchObject({ code: 'step_up_required', status: 403 });
    await expect(admin.api.call('POST', '/v1/invites', { role: 'member', grants: ['auditor'] })).rejects.toMatchObject({
      code: 'step_up_required',
      status: 403,
    });
    const [seca] = (await createUsers(ctx.server, admin, ['seca'])) as [PalisadeClient]; // an invite without grants needs no step-up
    const me = await seca.api.me();
    await expect(admin.api.call('DELETE', `/v1/admin/users/${me.userId}/roles/auditor`)).rejects.toMatchObject({
      code: 'step_up_required',
    });
    await expect(admin.api.call('POST', `/v1/admin/users/${me.userId}/revoke-sessions`, {})).rejects.toMatchObject({
      code: 'step_up_required',
    });
    await expect(admin.api.call('POST', `/v1/admin/devices/${me.deviceId}/revoke`, {})).rejects.toMatchObject({
      code: 'step_up_required',
    });
    expect((await seca.api.me()).username).toBe('seca'); // still signed in
    seca.close();
  });

  it('S3: after a step-up, an invite carrying org_admin is unusable until a second, independent org_admin approves it', async () => {
    const admin = ctx.admin;
    await enrolTotp(admin);
    const inv = await admin.api.call<{ token: string; pendingApproval?: string }>('POST', '/v1/invites', {
      role: 'member',
      grants: ['org_admin', 'auditor'],
    });
    expect(inv.pendingApproval).toEqual(expect.any(String));
    const newcomer = deviceClient(ctx.server);
    await expect(newcomer.api.enrol({ token: inv.token, username: 'nina', password: PASS })).rejects.toMatchObject({
      code: 'invite_pending',
      status: 403,
    });
    await expect(admin.api.call('POST', `/v1/approvals/${inv.pendingApproval}/approve`, {})).rejects.toMatchObject({
      code: 'forbidden',
    });
    // Grants without admin roles need only the step-up; revocation works after it too.
    const plain = await admin.api.call<{ token: string; pendingApproval?: string }>('POST', '/v1/invites', {
      role: 'member',
      grants: ['auditor'],
    });
    expect(plain.pendingApproval).toBeUndefined();
    const aud = deviceClient(ctx.server);
    const enrolled = await aud.api.call<{ userId: string; grants: string[] }>(
      'POST',
      '/v1/enrol',
      { token: plain.token, username: 'audrey', password: PASS },
      false,
    );
    expect(enrolled.grants).toEqual(['auditor']);
    expect(await admin.api.call('DELETE', `/v1/admin/users/${enrolled.userId}/roles/auditor`)).toEqual({ revoked: 1 });
    // The operator makes a second org_admin over the admin socket (nobody's invitee); it steps up and approves.
    const op = await palisade(['admin', 'invite', '--grant', 'org_admin'], { PALISADE_DATA_DIR: ctx.server.dataDir });
    expect(op.code).toBe(0);
    const olga = deviceClient(ctx.server);
    await olga.api.enrol({ token: op.out.trim(), username: 'olga', password: PASS });
    await olga.login('olga', PASS, 'olga laptop');
    await enrolTotp(olga);
    await olga.api.call('POST', `/v1/approvals/${inv.pendingApproval}/approve`, {});
    await expect(
      newcomer.api.call('POST', '/v1/enrol', { token: inv.token, username: 'nina', password: PASS }, false),
    ).resolves.toMatchObject({ grants: ['org_admin', 'auditor'] });
    olga.close();
  });
});

/** One signed HTTPS request through the client's own proof, to read the status the SDK does not return. */
function signedRequest(
  server: ServerProcess,
  c: PalisadeClient,
  method: string,
  path: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const text = JSON.stringify(body);
  const token = c.token as string;
  const headers = {
    authorization: `Bearer ${token}`,
    'x-palisade-proof': c.api.signedProof(method, path, token, text),
    'content-type': 'application/json',
  };
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: server.port, method, path, ca: server.ca, headers, agent: false },
      (res) => {
        let out = '';
        res.on('data', (d) => (out += d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: out ? (JSON.parse(out) as Record<string, unknown>) : {} }),
        );
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

/** An org_admin the operator makes over the admin socket (nobody's invitee), logged in and stepped up. */
async function operatorAdmin(ctx: { server: ServerProcess }, username: string): Promise<PalisadeClient> {
  const op = await palisade(['admin', 'invite', '--grant', 'org_admin'], { PALISADE_DATA_DIR: ctx.server.dataDir });
  expect(op.code).toBe(0);
  const c = deviceClient(ctx.server);
  await c.api.enrol({ token: op.out.trim(), username, password: PASS });
  await c.login(username, PASS, `${username} laptop`);
  await enrolTotp(c);
  return c;
}

describe('direct grants of administrative roles against a real server', () => {
  const ctx = useServerWithAdmin();
  beforeAll(async () => enrolTotp(ctx.admin)); // the admin has stepped up (confirming a factor counts)

  it('S3: a direct org_admin grant after a step-up is pending until a second, independent holder of role.grant approves it; the requester and its puppet cannot', async () => {
    const admin = ctx.admin;
    const [alice] = (await createUsers(ctx.server, admin, ['alice'])) as [PalisadeClient];
    const aliceId = (await alice.api.me()).userId;
    const res = await signedRequest(ctx.server, admin, 'POST', `/v1/admin/users/${aliceId}/roles`, {
      role: 'org_admin',
      reason: 'second admin',
    });
    expect(res.status).toBe(202);
    expect(Object.keys(res.body)).toEqual(['pendingApproval']);
    const pending = res.body.pendingApproval as string;
    expect((await alice.api.me()).roles).not.toContain('org_admin');
    await expect(admin.api.approve(pending)).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    // A puppet: invited by the admin with org_admin (an independent operator-made admin released the invite).
    const olga = await operatorAdmin(ctx, 'olga');
    const inv = await admin.api.invite('member', 1, ['org_admin']);
    await olga.api.approve(inv.pendingApproval as string);
    const pete = deviceClient(ctx.server);
    await pete.api.enrol({ token: inv.token, username: 'pete', password: PASS });
    await pete.login('pete', PASS, 'pete laptop');
    await enrolTotp(pete);
    expect((await pete.api.me()).roles).toContain('org_admin');
    await expect(pete.api.approve(pending)).rejects.toMatchObject({
      code: 'forbidden',
      status: 403,
      message: expect.stringMatching(/last 30 days/),
    });
    expect(
      (await pete.api.call<{ approvals: { id: string }[] }>('GET', '/v1/approvals')).approvals.map((a) => a.id),
    ).not.toContain(pending);
    expect((await alice.api.me()).roles).not.toContain('org_admin');
    // The independent second person approves: the grant takes effect, recorded with both people.
    expect(
      (
        await olga.api.call<{ approvals: { id: string; action: string; requestedBy: string }[] }>(
          'GET',
          '/v1/approvals',
        )
      ).approvals,
    ).toContainEqual(
      expect.objectContaining({ id: pending, action: 'role.grant', requestedBy: (await admin.api.me()).userId }),
    );
    await olga.api.approve(pending);
    expect((await alice.api.me()).roles).toContain('org_admin');
    const grants = (
      await admin.api.call<{ grants: { role: string; state: string; approvedBy: string }[] }>(
        'GET',
        `/v1/admin/users/${aliceId}/roles`,
      )
    ).grants;
    expect(grants.filter((g) => g.role === 'org_admin')).toEqual([
      expect.objectContaining({ state: 'active', approvedBy: (await olga.api.me()).userId }),
    ]);
    await expect(olga.api.approve(pending)).rejects.toMatchObject({ code: 'already_decided' });
    for (const c of [alice, olga, pete]) c.close();
  });

  it('S3: a direct auditor grant is still immediate (201), with no second person', async () => {
    const admin = ctx.admin;
    const [aud] = (await createUsers(ctx.server, admin, ['audra'])) as [PalisadeClient];
    const audId = (await aud.api.me()).userId;
    const res = await signedRequest(ctx.server, admin, 'POST', `/v1/admin/users/${audId}/roles`, {
      role: 'auditor',
      reason: 'audit season',
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(String) });
    expect((await aud.api.me()).roles).toContain('auditor');
    aud.close();
  });
  it('S3: palisade-chat admin grant says an admin role is not granted yet and what the second admin runs; admin approvals and approve complete it', async () => {
    const fingerprint = /fingerprint: (\S+)/.exec(ctx.server.stderr())![1]!;
    // cleo: an org_admin the operator made (independent of the first admin), using the terminal client.
    const op = await palisade(['admin', 'invite', '--grant', 'org_admin'], { PALISADE_DATA_DIR: ctx.server.dataDir });
    const home = mkdtempSync(join(tmpdir(), 'palisade-chat-'));
    const e = await chat(
      home,
      [
        'enrol',
        '--server',
        ctx.server.baseUrl,
        '--token-stdin',
        '--username',
        'cleo',
        '--fingerprint',
        fingerprint,
        '--password-stdin',
      ],
      `${op.out.trim()}\n${PASS}\n`,
    );
    expect(e.code).toBe(0);
    const mfa = spawnChat(home, ['mfa', 'enrol']); // confirming the app is this session's step-up
    await mfa.waitForErr(/Code shown by the app/);
    const secret = /\(secret (\S+)\)/.exec(mfa.out())![1]!;
    expect((await mfa.end(`${codeFor(secret)}\n`)).code).toBe(0);
    const [bert, cora] = (await createUsers(ctx.server, ctx.admin, ['bert', 'cora'])) as [
      PalisadeClient,
      PalisadeClient,
    ];
    const g = await chat(home, ['admin', 'grant', 'bert', 'security_admin', '--reason', 'second responder']);
    expect(g.code).toBe(0);
    expect(g.out).toMatch(/security_admin for bert is NOT granted yet/);
    const id = /palisade-chat admin approve (\S+)/.exec(g.out)?.[1];
    expect(id).toEqual(expect.any(String));
    expect((await bert.api.me()).roles).not.toContain('security_admin');
    await ctx.admin.api.approve(id!); // the first admin is independent of cleo
    expect((await bert.api.me()).roles).toContain('security_admin');
    // The other way round: the first admin asks; cleo lists it and approves it from the terminal.
    const coraId = (await cora.api.me()).userId;
    const r = await ctx.admin.api.grantRole(coraId, 'org_admin', 'third admin');
    expect('pendingApproval' in r).toBe(true);
    const pending = (r as { pendingApproval: string }).pendingApproval;
    expect((await chat(home, ['admin', 'approvals'])).out).toContain(`${pending}  grant org_admin to user ${coraId}`);
    const ok = await chat(home, ['admin', 'approve', pending]);
    expect([ok.code, ok.out.trim()]).toEqual([0, `approved ${pending}: it has run`]);
    expect((await cora.api.me()).roles).toContain('org_admin');
    // A role outside the two-person set is granted at once, and the client says so.
    expect((await chat(home, ['admin', 'grant', 'bert', 'auditor', '--reason', 'audit season'])).out).toMatch(
      /^granted auditor to bert \(\S+\)$/m,
    );
    expect((await bert.api.me()).roles).toContain('auditor');
    bert.close();
    cora.close();
  });
});

describe('invite grants under adminsRequirePhishingResistant', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-aal3-'));
  const config = join(dir, 'palisade.yaml');
  writeFileSync(config, 'auth:\n  adminsRequirePhishingResistant: true\n');
  const ctx = useServerWithAdmin({ dataDir: dir, env: { PALISADE_CONFIG: config } });

  it('S3: a step-up with an authenticator app is not enough to grant roles through an invite when admins need a device-bound passkey', async () => {
    await enrolTotp(ctx.admin);
    await expect(
      ctx.admin.api.call('POST', '/v1/invites', { role: 'member', grants: ['auditor'] }),
    ).rejects.toMatchObject({ code: 'step_up_required', message: expect.stringMatching(/device-bound passkey/) });
    await expect(ctx.admin.api.invite('member')).resolves.toMatchObject({ token: expect.any(String) }); // no grants: no step-up needed
  });
});
