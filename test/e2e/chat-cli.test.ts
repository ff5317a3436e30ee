import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PalisadeClient } from '@palisade/client';
import { chat, palisade, spawnChat } from '../support/cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { createUsers, enrolAdmin, PASS, secureReader, waitFor } from '../support/users.js';

describe('palisade-chat (terminal client) against a real server', () => {
  let server: ServerProcess;
  let admin: PalisadeClient;
  let bob: PalisadeClient;
  let fingerprint: string;
  const home = mkdtempSync(join(tmpdir(), 'palisade-chat-'));
  beforeAll(async () => {
    server = await startServerProcess({ env: { PALISADE_E2EE_REQUIRED: 'true' } });
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
    const r = await chat(
      mkdtempSync(join(tmpdir(), 'palisade-chat-')),
      ['login', '--server', server.baseUrl, '--username', 'x', '--fingerprint', 'AA:BB', '--password-stdin'],
      'pw\n',
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/does not match --fingerprint/);
  });

  it('an empty --password-stdin is refused before anything is sent (exit 3), not sent for a bad_request', async () => {
    const args = [
      'login',
      '--server',
      server.baseUrl,
      '--username',
      'x',
      '--fingerprint',
      fingerprint,
      '--password-stdin',
    ];
    for (const input of ['', '\n']) {
      const r = await chat(mkdtempSync(join(tmpdir(), 'palisade-chat-')), args, input);
      expect(r.code, r.err).toBe(3);
      expect(r.err).toMatch(
        /no password on standard input \(one line; with --token-stdin, the line after the token\): nothing was sent\./,
      );
      expect(r.err).not.toMatch(/bad_request/);
    }
  });

  it('enrols with an invite, lists, opens a direct chat and sends what is typed', async () => {
    const inv = await admin.api.invite();
    const e = await chat(
      home,
      [
        'enrol',
        '--server',
        server.baseUrl,
        '--token-stdin',
        '--username',
        'carol',
        '--fingerprint',
        fingerprint,
        '--password-stdin',
      ],
      `${inv.token}\n${PASS}\n`,
    );
    expect(e.err).toMatch(/logged in as carol/);
    expect(e.code).toBe(0);
    expect(statSync(join(home, 'device.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'session')).mode & 0o777).toBe(0o600);

    const reader = await secureReader(bob);
    await bob.connect();
    const open = await chat(home, ['open', 'bob'], 'hello from the terminal ✓\n/quit\n');
    expect(open.code).toBe(0);
    await waitFor(() => reader.got.length === 1, 30_000, 'the message to be decrypted');
    // End-to-end encrypted: bob's device decrypts it; the server holds only MLS ciphertext.
    expect(reader.got[0]).toMatchObject({ text: 'hello from the terminal ✓', protection: 'e2ee' });
    const stored = await bob.api.history(reader.got[0]!.conversationId);
    expect(stored.map((m) => m.kind)).toEqual(['commit', 'mls']);
    expect(stored.some((m) => Buffer.from(m.payload, 'base64').includes('hello from the terminal'))).toBe(false);

    const list = await chat(home, ['list']);
    expect(list.out).toMatch(/@bob\s+2 members/);
    const bad = await chat(home, ['add', 'nope', 'bob']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/you have no conversation with the id or group name nope; `palisade-chat list` shows them/);
    const devices = await chat(home, ['devices']);
    expect(devices.out).toMatch(/trusted\s+palisade-chat on .* \(this one\)/);
    expect((await chat(home, ['sessions'])).out).toMatch(/\(this one\)/);
    expect((await chat(home, ['admin', 'users'])).err).toMatch(/forbidden/);
  });

  it('S18: while enrol waits for the password, /proc/<pid>/cmdline holds no token (from a 0600 file, or from stdin)', async () => {
    // The server's start-up hint tells the operator the way that keeps the token out of argv.
    expect(server.stderr()).toMatch(
      /Enrol with: npx palisade-chat enrol --server \S+ --username <name> --fingerprint \S+ --token-file \S+first-admin-token\n/,
    );
    expect(server.stderr()).not.toMatch(/--token </);
    const dir = mkdtempSync(join(tmpdir(), 'palisade-token-'));
    for (const [name, via] of [
      ['dave', 'file'],
      ['erin', 'stdin'],
    ] as const) {
      // The operator's way: `palisade admin invite` over the admin socket, into a private file.
      const inv = await palisade(['admin', 'invite'], { PALISADE_DATA_DIR: server.dataDir });
      expect(inv.code, inv.err).toBe(0);
      const token = inv.out.trim();
      const file = join(dir, `${name}.token`);
      writeFileSync(file, `${token}\n`, { mode: 0o600 });
      const source = via === 'file' ? ['--token-file', file] : ['--token-stdin'];
      const p = spawnChat(mkdtempSync(join(tmpdir(), 'palisade-chat-')), [
        'enrol',
        '--server',
        server.baseUrl,
        ...source,
        '--username',
        name,
        '--fingerprint',
        fingerprint,
        '--password-stdin',
      ]);
      if (via === 'stdin') p.write(`${token}\n`);
      await p.waitForErr(/Password: /);
      const cmdline = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8');
      expect(cmdline).toContain('enrol');
      expect(cmdline).not.toContain(token);
      const r = await p.end(`${PASS}\n`);
      expect(r.err, name).toMatch(new RegExp(`logged in as ${name}`));
      expect(r.code).toBe(0);
    }
  });

  it('S18: --token VALUE is refused with what to use instead, and so is a token file that others can read', async () => {
    const inv = await admin.api.invite();
    const home2 = mkdtempSync(join(tmpdir(), 'palisade-chat-'));
    const args = [
      'enrol',
      '--server',
      server.baseUrl,
      '--username',
      'frida',
      '--fingerprint',
      fingerprint,
      '--password-stdin',
    ];
    const argv = await chat(home2, [...args, '--token', inv.token], `${PASS}\n`);
    expect(argv.code).toBe(1);
    expect(argv.err).toMatch(
      /--token is no longer accepted: .*process list[\s\S]*--token-file FILE \(mode 0600\), --token-stdin/,
    );
    const file = join(mkdtempSync(join(tmpdir(), 'palisade-token-')), 'open.token');
    writeFileSync(file, inv.token);
    chmodSync(file, 0o644);
    const open = await chat(home2, [...args, '--token-file', file], `${PASS}\n`);
    expect(open.code).toBe(1);
    expect(open.err).toMatch(/can be read by group or others \(mode 644\); run `chmod 600/);
    const none = await chat(home2, args, `${PASS}\n`);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/not a terminal: give the token with --token-file FILE \(mode 0600\) or --token-stdin/);
    // Nothing was sent: the invite still works.
    chmodSync(file, 0o600);
    const ok = await chat(home2, [...args, '--token-file', file], `${PASS}\n`);
    expect(ok.err).toMatch(/logged in as frida/);
  });

  it("keeps a profile and a group's name and topic (sealed on the server), renames and deletes the group", async () => {
    const p = await chat(home, ['profile', '--display-name', 'Carol C.', '--email', 'Carol@Example.test']);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toMatch(/carol {2}display name: Carol C\. {2}e-mail: carol@example\.test/);
    const g = await chat(home, ['group', 'Night shift', 'bob', '--topic', 'handover notes']);
    const id = g.out.trim();
    expect((await chat(home, ['list'])).out).toMatch(
      new RegExp(`${id}\\s+#Night shift\\s+2 members {2}handover notes`),
    );
    expect((await chat(home, ['rename', id, '--name', 'Day shift', '--topic', ''])).code).toBe(0);
    const listed = (await chat(home, ['list'])).out;
    expect(listed).toMatch(/#Day shift\s+2 members\n/);
    const refused = await chat(home, ['rename', id]);
    expect(refused.err).toMatch(/give --name and\/or --topic/);
    expect((await chat(home, ['delete-group', id, '--yes'])).code).toBe(0);
    expect((await chat(home, ['list'])).out).not.toMatch(/Day shift/);
  });

  it("asks a new device to be approved, then runs admin commands with the admin's own session", async () => {
    const adminHome = mkdtempSync(join(tmpdir(), 'palisade-chat-'));
    const first = await chat(
      adminHome,
      ['login', '--server', server.baseUrl, '--username', 'admin', '--fingerprint', fingerprint, '--password-stdin'],
      `${PASS}\n`,
    );
    expect(first.code).toBe(1);
    const id = /devices approve (\w+)/.exec(first.err)?.[1];
    expect(id).toBeDefined();
    await admin.api.call('POST', `/v1/devices/${id}/approve`);
    const again = await chat(
      adminHome,
      ['login', '--server', server.baseUrl, '--username', 'admin', '--password-stdin'],
      `${PASS}\n`,
    );
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
    expect((await chat(adminHome, ['admin', 'users', '--email', 'nobody@example.test'])).out).toMatch(
      /no account has that e-mail/,
    );
    expect((await chat(adminHome, ['admin', 'delete-user', 'bob'])).err).toMatch(
      /cannot be undone, and this is not a terminal/,
    );
    expect((await chat(adminHome, ['admin', 'delete-user', 'bob', '--yes'])).err).toMatch(/step_up_required/);
    const grant = await chat(adminHome, ['admin', 'grant', 'carol', 'auditor', '--reason', 'audit season']);
    expect(grant.err).toMatch(/step_up_required/); // no recent strong factor in this session
  });
});
