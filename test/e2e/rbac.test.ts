import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import type { PalisadeClient } from '@palisade/client';
import { createUsers, deviceClient, PASS } from '../support/users.js';
import { useServerWithAdmin } from '../support/harness.js';
import { palisade } from '../support/cli.js';

const codeFor = (secret: string, at = Date.now()) => new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({ timestamp: at });

/** Enrols an authenticator app; confirming it counts as a fresh step-up for this session. */
async function enrolTotp(c: PalisadeClient): Promise<void> {
  const t = await c.api.enrolTotp();
  await c.api.confirmTotp(t.id, codeFor(t.secret));
}

describe('role grants through invites, revocations and the two-person rule against a real server', () => {
  const ctx = useServerWithAdmin();

  it('S3: an admin session that has not stepped up (aal 1) cannot mint admins through an invite, revoke roles, end sessions or revoke devices', async () => {
    const admin = ctx.admin; // the first admin, in its grace period: aal 1, no factor, no step-up
    await expect(admin.api.call('POST', '/v1/invites', { role: 'guest', grants: ['org_admin', 'security_admin'] })).rejects.toMatchObject({ code: 'step_up_required', status: 403 });
    await expect(admin.api.call('POST', '/v1/invites', { role: 'member', grants: ['auditor'] })).rejects.toMatchObject({ code: 'step_up_required', status: 403 });
    const [seca] = (await createUsers(ctx.server, admin, ['seca'])) as [PalisadeClient]; // an invite without grants needs no step-up
    const me = await seca.api.me();
    await expect(admin.api.call('DELETE', `/v1/admin/users/${me.userId}/roles/auditor`)).rejects.toMatchObject({ code: 'step_up_required' });
    await expect(admin.api.call('POST', `/v1/admin/users/${me.userId}/revoke-sessions`, {})).rejects.toMatchObject({ code: 'step_up_required' });
    await expect(admin.api.call('POST', `/v1/admin/devices/${me.deviceId}/revoke`, {})).rejects.toMatchObject({ code: 'step_up_required' });
    expect((await seca.api.me()).username).toBe('seca'); // still signed in
    seca.close();
  });

  it('S3: after a step-up, an invite carrying org_admin is unusable until a second, independent org_admin approves it', async () => {
    const admin = ctx.admin;
    await enrolTotp(admin);
    const inv = await admin.api.call<{ token: string; pendingApproval?: string }>('POST', '/v1/invites', { role: 'member', grants: ['org_admin', 'auditor'] });
    expect(inv.pendingApproval).toEqual(expect.any(String));
    const newcomer = deviceClient(ctx.server);
    await expect(newcomer.api.enrol({ token: inv.token, username: 'nina', password: PASS })).rejects.toMatchObject({ code: 'invite_pending', status: 403 });
    await expect(admin.api.call('POST', `/v1/approvals/${inv.pendingApproval}/approve`, {})).rejects.toMatchObject({ code: 'forbidden' });
    // Grants without admin roles need only the step-up; revocation works after it too.
    const plain = await admin.api.call<{ token: string; pendingApproval?: string }>('POST', '/v1/invites', { role: 'member', grants: ['auditor'] });
    expect(plain.pendingApproval).toBeUndefined();
    const aud = deviceClient(ctx.server);
    const enrolled = await aud.api.call<{ userId: string; grants: string[] }>('POST', '/v1/enrol', { token: plain.token, username: 'audrey', password: PASS }, false);
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
    await expect(newcomer.api.call('POST', '/v1/enrol', { token: inv.token, username: 'nina', password: PASS }, false)).resolves.toMatchObject({ grants: ['org_admin', 'auditor'] });
    olga.close();
  });
});

describe('invite grants under adminsRequirePhishingResistant', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-aal3-'));
  const config = join(dir, 'palisade.yaml');
  writeFileSync(config, 'auth:\n  adminsRequirePhishingResistant: true\n');
  const ctx = useServerWithAdmin({ dataDir: dir, env: { PALISADE_CONFIG: config } });

  it('S3: a step-up with an authenticator app is not enough to grant roles through an invite when admins need a device-bound passkey', async () => {
    await enrolTotp(ctx.admin);
    await expect(ctx.admin.api.call('POST', '/v1/invites', { role: 'member', grants: ['auditor'] })).rejects.toMatchObject({ code: 'step_up_required', message: expect.stringMatching(/device-bound passkey/) });
    await expect(ctx.admin.api.invite('member')).resolves.toMatchObject({ token: expect.any(String) }); // no grants: no step-up needed
  });
});
