import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { Secret, TOTP } from 'otpauth';
import { DeviceKey, type PalisadeClient } from '@palisade/client';
import { chat, palisade, spawnChat } from '../support/cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { createUsers, deviceClient, PASS, secureReader, waitFor, type SecureReader } from '../support/users.js';

const codeFor = (secret: string) => new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate();
const newHome = () => mkdtempSync(join(tmpdir(), 'palisade-chat-'));

describe('palisade-chat live view and commands against a real server', () => {
  let server: ServerProcess;
  let admin: PalisadeClient;
  let bob: PalisadeClient;
  let fingerprint: string;
  const carol = newHome();
  const adminHome = newHome();
  let reader: SecureReader;
  const texts = () => reader.got.map((m) => m.text);

  beforeAll(async () => {
    server = await startServerProcess({ env: { PALISADE_E2EE_REQUIRED: 'true' } });
    fingerprint = /fingerprint: (\S+)/.exec(server.stderr())![1]!;
    // The admin's CLI profile holds the same device key and session as this SDK client, which has
    // just confirmed an authenticator app (a fresh step-up), so admin commands run from the CLI.
    const key = DeviceKey.generate();
    admin = deviceClient(server, key);
    await admin.api.enrol({ token: server.bootstrapToken as string, username: 'admin', password: PASS });
    await admin.login('admin', PASS, 'admin laptop');
    const t = await admin.api.enrolTotp();
    await admin.api.confirmTotp(t.id, codeFor(t.secret));
    writeFileSync(join(adminHome, 'device.key'), key.export(), { mode: 0o600 });
    writeFileSync(join(adminHome, 'session'), admin.token as string, { mode: 0o600 });
    writeFileSync(join(adminHome, 'server-cert.pem'), server.ca, { mode: 0o600 });
    writeFileSync(join(adminHome, 'profile.json'), JSON.stringify({ server: server.baseUrl, username: 'admin' }), {
      mode: 0o600,
    });
    [bob] = (await createUsers(server, admin, ['bob'])) as [PalisadeClient];
    reader = await secureReader(bob);
    await bob.connect();
    const inv = await admin.api.invite();
    const e = await chat(
      carol,
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
    expect(e.code, e.err).toBe(0);
  });
  afterAll(async () => {
    admin?.close();
    bob?.close();
    await server?.stop();
  });

  it('item 7: an over-size message fails on its own with payload_too_large; the next one is delivered', async () => {
    const p = spawnChat(carol, ['open', 'bob']);
    await p.waitForOut(/type to send, \/help for commands/);
    p.write(`${'b'.repeat(66_000)}\n`);
    await p.waitForOut(
      /message not sent: payload_too_large: the message is \d+ bytes; at most \d+ bytes fit\. Send it in smaller parts\./,
    );
    p.write('after the big one\n');
    await waitFor(() => texts().includes('after the big one'), 30_000, 'the next message');
    const r = await p.end('/quit\n');
    expect(r.code).toBe(0);
    expect(texts().some((t) => t.length > 1000)).toBe(false);
  });

  it('item 7: the server answers an unparseable send with its ref, so a raw client can settle it', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/v1/ws`, { ca: server.ca });
    const frames: { type: string; ref?: string; code?: string }[] = [];
    ws.on('message', (d) => {
      const v = JSON.parse((d as Buffer).toString()) as typeof frames | (typeof frames)[number];
      for (const f of Array.isArray(v) ? v : [v]) {
        frames.push(f);
        if (f.type === 'challenge')
          ws.send(
            JSON.stringify({
              type: 'auth',
              token: bob.token,
              signature: bob.deviceKey.signChallenge(String((f as { nonce?: string }).nonce)),
            }),
          );
      }
    });
    await waitFor(() => frames.some((f) => f.type === 'synced'), 10_000, 'synced');
    const conv = (await bob.api.conversations())[0]!;
    ws.send(
      JSON.stringify({
        type: 'send',
        ref: 'big-1',
        conversationId: conv.id,
        clientMsgId: 'big-1',
        payload: Buffer.alloc(66_000, 1).toString('base64'),
      }),
    );
    ws.send(JSON.stringify({ type: 'send', ref: 'bad-2', conversationId: conv.id, clientMsgId: 'bad-2', payload: 42 }));
    await waitFor(() => frames.filter((f) => f.type === 'error').length === 2, 10_000, 'two error frames');
    expect(frames.filter((f) => f.type === 'error').map((f) => [f.ref, f.code])).toEqual([
      ['big-1', 'payload_too_large'],
      ['bad-2', 'bad_request'],
    ]);
    ws.close();
  });

  it('item 18: unknown /commands are not sent, /help lists the commands, // sends a leading slash', async () => {
    const r = await chat(carol, ['open', 'bob'], '/x\n/help\n//slash is fine\n/quit\n');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/unknown command \/x; \/help lists them/);
    expect(r.out).toMatch(/\/quit\s+leave/);
    await waitFor(() => texts().includes('/slash is fine'), 30_000, 'the // message');
    expect(texts().filter((t) => t.startsWith('/'))).toEqual(['/slash is fine']);
  });

  it('item 7/8: /quit exits while a send waits for a server that does not answer', async () => {
    const p = spawnChat(carol, ['open', 'bob']);
    p.write('first, while all is well\n');
    await waitFor(() => texts().includes('first, while all is well'), 30_000, 'the first message');
    server.child.kill('SIGSTOP'); // the socket stays open, but nothing answers
    try {
      p.write('into the void\n/quit\n');
      const r = await p.exited();
      expect(r.code).toBe(0);
      expect(r.out).toMatch(
        /message not confirmed: you left before the server answered; it may not have arrived: into the void/,
      );
    } finally {
      server.child.kill('SIGCONT');
    }
  });

  it('item 8: a revoked session ends the live view with its reason and exit code 1', async () => {
    const p = spawnChat(carol, ['open', 'bob']);
    await p.waitForOut(/type to send/);
    const rev = await palisade(['admin', 'revoke-sessions', 'carol'], { PALISADE_DATA_DIR: server.dataDir });
    expect(rev.code, rev.err).toBe(0);
    const r = await p.exited();
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/\(session ended: session revoked; run `palisade-chat login`\)/);
    const again = await chat(carol, ['login', '--password-stdin'], `${PASS}\n`);
    expect(again.code, again.err).toBe(0);
  });

  it('item 11/16: add, rename and delete-group take a unique group name, refuse duplicates, and say what they did', async () => {
    const g = await chat(carol, ['group', 'ops', 'bob']);
    expect(g.code, g.err).toBe(0);
    const id = g.out.trim();
    const add = await chat(carol, ['add', 'ops', 'admin']);
    expect(add.out).toMatch(/added admin to #ops/);
    const rename = await chat(carol, ['rename', '#ops', '--topic', 'night shift']);
    expect(rename.out).toMatch(`set the topic to "night shift" (${id})`);
    const second = (await chat(carol, ['group', 'ops'])).out.trim();
    const dup = await chat(carol, ['add', 'ops', 'bob']);
    expect(dup.code).toBe(1);
    expect(dup.err).toMatch(/2 of your conversations are named ops; give the id:/);
    expect(dup.err).toContain(id);
    expect(dup.err).toContain(second);
    const open = await chat(carol, ['open', 'ops'], '/quit\n');
    expect(open.code).toBe(1);
    expect(open.err).toMatch(/named ops; give the id/);
    // Irreversible: refused without a terminal unless --yes.
    const refused = await chat(carol, ['delete-group', second]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /cannot be undone, and this is not a terminal to ask in: nothing was done\. Add --yes to confirm\./,
    );
    expect((await chat(carol, ['list'])).out).toContain(second);
    const del = await chat(carol, ['delete-group', second, '--yes']);
    expect(del.out).toMatch(`deleted #ops (${second}) and its messages`);
    expect((await chat(carol, ['list'])).out).not.toContain(second);
    // Now unique again: the name works.
    expect((await chat(carol, ['rename', 'ops', '--name', 'ops-2'])).out).toMatch(`renamed #ops to #ops-2 (${id})`);
  });

  it('item 10/16: validation errors name the field; empty lists say so', async () => {
    // A real invite: enrol checks the token before it sends the account, so a fake one ends earlier.
    const invite = (await admin.api.invite()).token;
    const enrol = await chat(
      newHome(),
      [
        'enrol',
        '--server',
        server.baseUrl,
        '--token-stdin',
        '--username',
        'Bob',
        '--fingerprint',
        fingerprint,
        '--password-stdin',
      ],
      `${invite}\n${PASS}\n`,
    );
    expect(enrol.err).toMatch(/bad_request: username: lower-case letters/);
    const role = await chat(adminHome, ['admin', 'grant', 'bob', 'superuser', '--reason', 'bad role test']);
    expect(role.err).toMatch(/bad_request: role: /);
    const reason = await chat(adminHome, ['admin', 'grant', 'bob', 'auditor', '--reason', 'x']);
    expect(reason.err).toMatch(/bad_request: reason: /);
    for (const r of [enrol, role, reason]) {
      expect(r.code).toBe(1);
      expect(r.err).not.toMatch(/invalid body|\.\./);
    }
    expect((await chat(adminHome, ['admin', 'grants', 'bob'])).out).toMatch(/bob has no role grants/);
    expect((await chat(adminHome, ['admin', 'approvals'])).out).toMatch(/no requests wait for your approval/);
    expect((await chat(adminHome, ['admin', 'grant', '--help'])).out).toMatch(/--reason <text>\s+required: why/);
    const granted = await chat(adminHome, ['admin', 'grant', 'bob', 'auditor', '--reason', 'audit season']);
    expect(granted.out).toMatch(/granted auditor to bob/);
  });

  it('item 12: disable ends the live view with a clear line; login says account_disabled only with the right password; enable undoes it', async () => {
    const p = spawnChat(carol, ['open', 'bob']);
    await p.waitForOut(/type to send/);
    const refused = await chat(adminHome, ['admin', 'disable', 'carol']);
    expect(refused.err).toMatch(/nothing was done\. Add --yes/);
    const dis = await chat(adminHome, ['admin', 'disable', 'carol', '--yes']);
    expect(dis.out, dis.err).toMatch(
      /disabled carol; their sessions have ended \(`palisade-chat admin enable carol` undoes it\)/,
    );
    const live = await p.exited();
    expect(live.code).toBe(1);
    expect(live.out).toMatch(/your account was disabled by an administrator; ask an admin to enable it again/);
    // SECURITY: a wrong password learns nothing about the account's state.
    const wrong = await chat(carol, ['login', '--password-stdin'], 'not the password at all\n');
    expect(wrong.err).toMatch(/auth_failed: wrong user name or password\./);
    expect(wrong.err).not.toMatch(/disabled/);
    const right = await chat(carol, ['login', '--password-stdin'], `${PASS}\n`);
    expect(right.code).toBe(1);
    expect(right.err).toMatch(
      /account_disabled: An administrator disabled this account; ask them to enable it again \(palisade-chat admin enable USER\)\./,
    );
    const en = await chat(adminHome, ['admin', 'enable', 'carol']);
    expect(en.out, en.err).toMatch(/enabled carol; they can log in again/);
    expect((await chat(adminHome, ['admin', 'enable', 'carol'])).err).toMatch(/not_disabled/);
    const back = await chat(carol, ['login', '--password-stdin'], `${PASS}\n`);
    expect(back.code, back.err).toBe(0);
    const db = new Database(join(server.dataDir, 'palisade.db'), { readonly: true, fileMustExist: true });
    try {
      const actions = db
        .prepare("SELECT action, outcome FROM audit_log WHERE action IN ('user.disabled', 'user.enabled') ORDER BY at")
        .all();
      expect(actions).toEqual([
        { action: 'user.disabled', outcome: 'success' },
        { action: 'user.enabled', outcome: 'success' },
      ]);
    } finally {
      db.close();
    }
  });

  it('item 16: devices approve and revoke say what they did; revoke asks first', async () => {
    const second = newHome();
    const first = await chat(
      second,
      ['login', '--server', server.baseUrl, '--username', 'carol', '--fingerprint', fingerprint, '--password-stdin'],
      `${PASS}\n`,
    );
    const id = /devices approve (\w+)/.exec(first.err)?.[1];
    expect(id, first.err).toBeDefined();
    const ok = await chat(carol, ['devices', 'approve', id!]);
    expect(ok.out).toMatch(`approved device ${id}: log in on it again now`);
    const refused = await chat(carol, ['devices', 'revoke', id!]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/nothing was done\. Add --yes to confirm\./);
    const rev = await chat(carol, ['devices', 'revoke', id!, '--yes']);
    expect(rev.out).toMatch(`revoked device ${id}; its sessions have ended`);
    expect((await chat(carol, ['devices'])).out).toMatch(new RegExp(`${id}\\s+revoked`));
  });

  it('item 9: hints name the command as it was run (npx, npm run)', async () => {
    const none = newHome();
    expect((await chat(none, ['list'], '', { npm_command: 'exec' })).err).toMatch(
      /run `npx palisade-chat login --server/,
    );
    expect((await chat(none, ['list'], '', { npm_command: 'run-script', npm_lifecycle_event: 'chat' })).err).toMatch(
      /run `npm run chat -- login --server/,
    );
    expect((await chat(none, ['list'])).err).toMatch(/run `palisade-chat login --server/);
  });
});
