import { spawn } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromUtf8, type IncomingMessage, type PalisadeClient } from '@palisade/client';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { createUsers, enrolAdmin, PASS, waitFor } from '../support/users.js';

const CHAT = resolve(import.meta.dirname, '../../packages/client/dist/cli/chat.js');

function chat(home: string, args: string[], stdin = ''): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [CHAT, ...args], { env: { ...process.env, PALISADE_CHAT_HOME: home }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => res({ code, out, err }));
    p.stdin.end(stdin);
  });
}

describe('palisade-chat (terminal client) against a real server', () => {
  let server: ServerProcess;
  let admin: PalisadeClient;
  let bob: PalisadeClient;
  let fingerprint: string;
  const home = mkdtempSync(join(tmpdir(), 'palisade-chat-'));
  beforeAll(async () => {
    server = await startServerProcess();
    fingerprint = /fingerprint: (\S+)/.exec(server.stderr())![1]!;
    admin = await enrolAdmin(server);
    [bob] = (await createUsers(server, admin, ['bob'])) as [PalisadeClient];
  });
  afterAll(async () => {
    admin?.close();
    bob?.close();
    await server?.stop();
  });

  it('refuses a server whose fingerprint does not match, sending nothing', async () => {
    const r = await chat(mkdtempSync(join(tmpdir(), 'palisade-chat-')), ['login', '--server', server.baseUrl, '--username', 'x', '--fingerprint', 'AA:BB', '--password-stdin'], 'pw\n');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/does not match --fingerprint/);
  });

  it('enrols with an invite, lists, opens a direct chat and sends what is typed', async () => {
    const inv = await admin.api.invite();
    const e = await chat(home, ['enrol', '--server', server.baseUrl, '--token', inv.token, '--username', 'carol', '--fingerprint', fingerprint, '--password-stdin'], `${PASS}\n`);
    expect(e.err).toMatch(/logged in as carol/);
    expect(e.code).toBe(0);
    expect(statSync(join(home, 'device.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'session')).mode & 0o777).toBe(0o600);

    const got: IncomingMessage[] = [];
    bob.on.message = (m) => got.push(m);
    await bob.connect();
    const open = await chat(home, ['open', 'bob'], 'hello from the terminal ✓\n/quit\n');
    expect(open.code).toBe(0);
    await waitFor(() => got.length === 1);
    expect(JSON.parse(fromUtf8(got[0]!.payload))).toEqual({ text: 'hello from the terminal ✓' });

    const list = await chat(home, ['list']);
    expect(list.out).toMatch(/@bob\s+2 members, 1 messages/);
    const bad = await chat(home, ['add', 'nope', 'bob']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/not_found/);
    const devices = await chat(home, ['devices']);
    expect(devices.out).toMatch(/trusted\s+palisade-chat on .* \(this one\)/);
    expect((await chat(home, ['sessions'])).out).toMatch(/\(this one\)/);
    expect((await chat(home, ['admin', 'users'])).err).toMatch(/forbidden/);
  });

  it('keeps a profile and a group\'s name and topic (sealed on the server), renames and deletes the group', async () => {
    const p = await chat(home, ['profile', '--display-name', 'Carol C.', '--email', 'Carol@Example.test']);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toMatch(/carol {2}display name: Carol C\. {2}e-mail: carol@example\.test/);
    const g = await chat(home, ['group', 'Night shift', 'bob', '--topic', 'handover notes']);
    const id = g.out.trim();
    expect((await chat(home, ['list'])).out).toMatch(new RegExp(`${id}\\s+#Night shift\\s+2 members, 0 messages {2}handover notes`));
    expect((await chat(home, ['rename', id, '--name', 'Day shift', '--topic', ''])).code).toBe(0);
    const listed = (await chat(home, ['list'])).out;
    expect(listed).toMatch(/#Day shift\s+2 members, 0 messages\n/);
    const refused = await chat(home, ['rename', id]);
    expect(refused.err).toMatch(/give --name and\/or --topic/);
    expect((await chat(home, ['delete-group', id])).code).toBe(0);
    expect((await chat(home, ['list'])).out).not.toMatch(/Day shift/);
  });

  it('asks a new device to be approved, then runs admin commands with the admin\'s own session', async () => {
    const adminHome = mkdtempSync(join(tmpdir(), 'palisade-chat-'));
    const first = await chat(adminHome, ['login', '--server', server.baseUrl, '--username', 'admin', '--fingerprint', fingerprint, '--password-stdin'], `${PASS}\n`);
    expect(first.code).toBe(1);
    const id = /devices approve (\w+)/.exec(first.err)?.[1];
    expect(id).toBeDefined();
    await admin.api.call('POST', `/v1/devices/${id}/approve`);
    const again = await chat(adminHome, ['login', '--server', server.baseUrl, '--username', 'admin', '--password-stdin'], `${PASS}\n`);
    expect(again.code).toBe(0);
    const users = await chat(adminHome, ['admin', 'users']);
    expect(users.out).toMatch(/admin\s+member/);
    expect(users.out).toMatch(/carol/);
    // S14: carol's address is found once an admin has verified it.
    const carolId = (await admin.api.users()).find((u) => u.username === 'carol')!.id;
    await admin.api.call('POST', `/v1/admin/users/${carolId}/email/verify`);
    const found = await chat(adminHome, ['admin', 'users', '--email', 'carol@EXAMPLE.test']);
    expect(found.out.trim().split('\n')).toHaveLength(1);
    expect(found.out).toMatch(/carol\s+member .* Carol C\./);
    expect((await chat(adminHome, ['admin', 'users', '--email', 'nobody@example.test'])).out).toMatch(/no account has that e-mail/);
    expect((await chat(adminHome, ['admin', 'delete-user', 'bob'])).err).toMatch(/step_up_required/);
    const grant = await chat(adminHome, ['admin', 'grant', 'carol', 'auditor', '--reason', 'audit season']);
    expect(grant.err).toMatch(/step_up_required/); // no recent strong factor in this session
  });
});
