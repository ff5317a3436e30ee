import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { PG_URL, pgUp } from '../../packages/server/src/test-support/with-all-stores.js';
import { dropPostgresSchema } from '../../packages/server/src/store/postgres/driver.js';
import { fromUtf8, utf8, type IncomingMessage, type PalisadeClient } from '@palisade/client';
import { LOAD_TEST_CONFIG, startServerProcess, type ServerProcess } from '../support/server-process.js';
import { createUsers, deviceClient, enrolAdmin, waitFor } from '../support/users.js';

const TOTAL = 2000;
const WINDOW = 32;
const KILL_AFTER_ACKS = 700;

// The same check on both stores: the embedded default (SQLite, commits synced on the WAL thread) and
// PostgreSQL (a schema of its own, dropped after).
for (const kind of ['sqlite', 'postgres'] as const)
  (kind === 'postgres' && !pgUp ? describe.skip : describe)(
    `durability [${kind}]: SIGKILL during a stream of 2,000 messages`,
    () => {
      const servers: ServerProcess[] = [];
      const schema = `palisade_dur_${randomBytes(4).toString('hex')}`;
      const storeEnv: Record<string, string> =
        kind === 'postgres' ? { PALISADE_STORE_URL: PG_URL, PALISADE_STORE_SCHEMA: schema } : {};
      afterAll(async () => {
        for (const s of servers) if (s.child.exitCode === null) await s.stop();
        if (kind === 'postgres') await dropPostgresSchema(PG_URL, schema);
      });

      it('loses no acknowledged message, invents none, and keeps order (Jepsen-style check)', async () => {
        const first = await startServerProcess({ config: LOAD_TEST_CONFIG, env: storeEnv });
        servers.push(first);
        const admin = await enrolAdmin(first);
        const [alice, bob] = (await createUsers(first, admin, ['alice', 'bob'])) as [PalisadeClient, PalisadeClient];
        const conv = await alice.api.openDirect('bob');
        const received: IncomingMessage[] = [];
        bob.on.message = (m) => received.push(m);
        await Promise.all([alice.connect(), bob.connect()]);

        const acked = new Map<string, number>(); // clientMsgId -> seq the server acknowledged
        let next = 0;
        let killed = false;
        let restarted: ServerProcess | undefined;
        const sendOne = async (): Promise<void> => {
          const i = next++;
          if (i >= TOTAL) return;
          const id = `dur-${i}`;
          const seq = await alice.send(conv.id, utf8(id), id);
          acked.set(id, seq);
          if (!killed && acked.size >= KILL_AFTER_ACKS) {
            killed = true;
            await first.kill();
            restarted = await startServerProcess({
              dataDir: first.dataDir,
              env: { ...storeEnv, PALISADE_PORT: String(first.port) },
              config: LOAD_TEST_CONFIG,
            });
            servers.push(restarted);
          }
          return sendOne();
        };
        await Promise.all(Array.from({ length: WINDOW }, () => sendOne()));
        expect(killed).toBe(true);
        expect(restarted?.stderr()).not.toMatch(/enrolment token/); // an account exists: no new bootstrap token

        // Every acknowledged message is stored: read everything back over the API after the restart.
        const reader = deviceClient(restarted!, alice.deviceKey, alice.token);
        const stored: { seq: number; clientMsgId: string; payload: string }[] = [];
        for (;;) {
          const page = await reader.api.history(conv.id, stored.at(-1)?.seq ?? 0, 500);
          stored.push(...page);
          if (page.length < 500) break;
        }
        const storedIds = new Map(stored.map((m) => [m.clientMsgId, m.seq]));
        const lost = [...acked.keys()].filter((id) => !storedIds.has(id));
        const unexpected = stored.filter(
          (m) => !/^dur-\d+$/.test(m.clientMsgId) || Number(m.clientMsgId.slice(4)) >= TOTAL,
        );
        const wrongSeq = [...acked].filter(([id, seq]) => storedIds.get(id) !== seq);
        expect(acked.size).toBe(TOTAL);
        expect(lost).toEqual([]);
        expect(unexpected).toEqual([]);
        expect(wrongSeq).toEqual([]);
        expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
        expect(new Set(stored.map((m) => m.clientMsgId)).size).toBe(stored.length); // no duplicates stored
        for (const m of stored) expect(fromUtf8(Buffer.from(m.payload, 'base64'))).toBe(m.clientMsgId);

        // The receiving device saw each message exactly once, in order, across the crash.
        await waitFor(() => received.length >= TOTAL, 30_000, 'bob to receive everything');
        expect(received.map((m) => m.seq)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
        expect(new Set(received.map((m) => m.clientMsgId)).size).toBe(TOTAL);
        for (const c of [admin, alice, bob, reader]) c.close();
      });
    },
  );
