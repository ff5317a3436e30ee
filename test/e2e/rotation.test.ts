import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { fromUtf8, utf8, type IncomingMessage, type PalisadeClient } from '@palisade/client';
import { palisade } from '../support/cli.js';
import { useServerWithAdmin } from '../support/harness.js';
import { LOAD_TEST_CONFIG, startServerProcess, type ServerProcess } from '../support/server-process.js';
import { createUsers, deviceClient, enrolAdmin, waitFor } from '../support/users.js';

interface KeyStatus {
  currentVersion: number;
  pendingRewrap: number;
  retiredDataKeys: number;
  dataKeysPerVersion: Record<string, number>;
  lastReencrypt: { finishedAt: number | null; report: { resealed: number; failed: number } | null } | null;
}

const status = async (dataDir: string) =>
  JSON.parse((await palisade(['keys', 'status', '--json'], { PALISADE_DATA_DIR: dataDir })).out) as KeyStatus;

/** Reads a whole conversation's history through the API. */
async function history(c: PalisadeClient, conversationId: string) {
  const all: { seq: number; clientMsgId: string; payload: string }[] = [];
  for (;;) {
    const page = await c.api.history(conversationId, all.at(-1)?.seq ?? 0, 500);
    all.push(...page);
    if (page.length < 500) return all;
  }
}

describe('key rotation under a steady message load', () => {
  const ctx = useServerWithAdmin({ config: LOAD_TEST_CONFIG });

  it('rotates the KEK and re-encrypts every value while messages flow: none lost, none unreadable', async () => {
    const [ana, ben] = (await createUsers(ctx.server, ctx.admin, ['ana', 'ben'])) as [PalisadeClient, PalisadeClient];
    const conv = await ana.api.openDirect('ben');
    const received: IncomingMessage[] = [];
    ben.on.message = (m) => received.push(m);
    await Promise.all([ana.connect(), ben.connect()]);
    const acked = new Map<string, number>();
    let stop = false;
    // A steady stream: one message every 2 ms, each awaited (acknowledged after commit).
    const load = (async () => {
      for (let i = 0; !stop && i < 20_000; i++) {
        const id = `load-${i}`;
        acked.set(id, await ana.send(conv.id, utf8(id), id));
        await new Promise((r) => setTimeout(r, 2)); // pace: the load's rhythm; nothing is waited for
      }
    })();
    await waitFor(() => acked.size >= 50, 10_000, 'the load to start');
    const env = { PALISADE_DATA_DIR: ctx.server.dataDir };
    const rot = await palisade(['keys', 'rotate'], env);
    expect(rot.code).toBe(0);
    const during = acked.size;
    const re = await palisade(['keys', 'rotate', '--reencrypt'], env);
    expect(re.code).toBe(0);
    expect(re.out).toMatch(/re-encryption: [1-9]\d* value\(s\) resealed/);
    await waitFor(() => acked.size >= during + 50, 10_000, 'more messages after the re-encryption');
    stop = true;
    await load;
    await waitFor(() => received.length >= acked.size, 15_000, 'every message delivered');
    const stored = await history(ben, conv.id);
    expect(stored.length).toBe(acked.size);
    for (const m of stored) {
      expect(acked.get(m.clientMsgId)).toBe(m.seq);
      expect(Buffer.from(m.payload, 'base64').toString()).toBe(m.clientMsgId);
    }
    expect(new Set(received.map((m) => fromUtf8(m.payload))).size).toBe(acked.size);
    const s = await status(ctx.server.dataDir);
    expect(s).toMatchObject({ currentVersion: 3, pendingRewrap: 0 });
    expect(s.lastReencrypt?.report?.failed).toBe(0);
    ana.close();
    ben.close();
  });
});

describe('SIGKILL in the middle of a re-encryption', () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const s of servers) if (s.child.exitCode === null) await s.stop();
  });

  it('the restarted server finishes the job; every message and name still reads', async () => {
    const first = await startServerProcess({ config: LOAD_TEST_CONFIG });
    servers.push(first);
    const admin = await enrolAdmin(first);
    const [cy] = (await createUsers(first, admin, ['cy'])) as [PalisadeClient];
    const conv = await cy.api.openDirect('admin');
    const groups: string[] = [];
    for (let g = 0; g < 40; g++) groups.push((await cy.api.createGroup(`group ${g}`, ['admin'], `topic ${g}`)).id);
    await cy.connect();
    const TOTAL = 3000;
    let next = 0;
    const sendOne = async (): Promise<void> => {
      const i = next++;
      if (i >= TOTAL) return;
      await cy.send(conv.id, utf8(`kill-${i}`), `kill-${i}`);
      return sendOne();
    };
    await Promise.all(Array.from({ length: 64 }, () => sendOne()));
    cy.close();

    // Start a re-encryption, and kill the server as soon as its job is under way.
    const db = new Database(join(first.dataDir, 'palisade.db'), { readonly: true, fileMustExist: true });
    const job = () =>
      db.prepare("SELECT finished_at FROM key_jobs WHERE kind = 'reencrypt'").get() as
        { finished_at: number | null } | undefined;
    const cli = palisade(['keys', 'rotate', '--reencrypt'], { PALISADE_DATA_DIR: first.dataDir });
    // Killed as soon as the old data keys are retired: the walk that reseals 3,000 rows has just begun.
    const retired = () =>
      (db.prepare('SELECT count(*) AS n FROM data_keys WHERE retired_at IS NOT NULL').get() as { n: number }).n;
    await waitFor(() => job() !== undefined && retired() > 0, 20_000, 'the re-encryption to retire the old keys');
    await first.kill();
    expect((await cli).code).not.toBe(0);
    expect(job()?.finished_at).toBeNull(); // really interrupted
    db.close();

    const second = await startServerProcess({ dataDir: first.dataDir, config: LOAD_TEST_CONFIG });
    servers.push(second);
    await expect
      .poll(async () => (await status(second.dataDir)).lastReencrypt?.finishedAt, { timeout: 60_000, interval: 200 })
      .toBeTypeOf('number');
    const s = await status(second.dataDir);
    expect(s.lastReencrypt?.report?.failed).toBe(0);
    expect(s.lastReencrypt?.report?.resealed).toBeGreaterThan(0); // the restarted server did the rest
    expect(s.pendingRewrap).toBe(0);
    expect(s.currentVersion).toBe(2);

    const reader = deviceClient(second, cy.deviceKey, cy.token);
    const stored = await history(reader, conv.id);
    expect(new Set(stored.map((m) => m.clientMsgId))).toEqual(
      new Set(Array.from({ length: TOTAL }, (_, i) => `kill-${i}`)),
    );
    for (const m of stored) expect(Buffer.from(m.payload, 'base64').toString()).toBe(m.clientMsgId);
    const names = (await reader.api.conversations()).filter((c) => c.kind === 'group');
    expect(names.map((c) => [c.name, c.topic]).sort()).toEqual(
      groups.map((_, g) => [`group ${g}`, `topic ${g}`]).sort(),
    );
  });
});
