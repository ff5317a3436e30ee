import { afterAll, describe, expect, it } from 'vitest';
import { encodeEnvelope, type MlsGroup, type PalisadeClient } from '@palisade/client';
import { LOAD_TEST_CONFIG, startServerProcess, type ServerProcess } from '../support/server-process.js';
import { createUsers, deviceClient, enrolAdmin, secureReader, waitFor } from '../support/users.js';

const TOTAL = 2000;
const WINDOW = 32;
const KILL_AFTER_ACKS = 700;
const E2EE = { PALISADE_E2EE_REQUIRED: 'true' };

describe('durability with end-to-end encrypted traffic: SIGKILL during a stream of 2,000 MLS messages', () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const s of servers) if (s.child.exitCode === null) await s.stop();
  });

  it('loses no acknowledged ciphertext, invents none, and the receiver decrypts each exactly once', async () => {
    const first = await startServerProcess({ config: LOAD_TEST_CONFIG, env: E2EE });
    servers.push(first);
    const admin = await enrolAdmin(first);
    const [alice, bob] = (await createUsers(first, admin, ['dalice', 'dbob'])) as [PalisadeClient, PalisadeClient];
    const [ra, rb] = [await secureReader(alice), await secureReader(bob)];
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.api.openDirect('dbob');
    await ra.session.secure.sendText(conv.id, 'set-up'); // makes the group and adds bob
    await waitFor(() => rb.got.length === 1, 15_000, 'bob to join');

    // Encrypt the whole stream up front with alice's group (one ratchet step each), then send it
    // with 32 in flight through a SIGKILL and a restart, like the plaintext durability test.
    const adapter = ra.session.adapter;
    let group: MlsGroup = adapter.decodeGroup((await ra.session.store.get(`group/${conv.id}`))!);
    const ciphertexts: Uint8Array[] = [];
    for (let i = 0; i < TOTAL; i++) {
      const env = encodeEnvelope({ v: 1, type: 'text', body: `dur-${i}`, sentAt: Date.now(), counter: 1000 + i });
      const r = await adapter.encrypt(group, env);
      group = r.group;
      ciphertexts.push(r.message);
    }
    const acked = new Map<string, number>();
    let next = 0;
    let killed = false;
    let restarted: ServerProcess | undefined;
    const sendOne = async (): Promise<void> => {
      const i = next++;
      if (i >= TOTAL) return;
      const id = `dur-${i}`;
      acked.set(id, await alice.send(conv.id, ciphertexts[i]!, id));
      if (!killed && acked.size >= KILL_AFTER_ACKS) {
        killed = true;
        await first.kill();
        restarted = await startServerProcess({
          dataDir: first.dataDir,
          env: { PALISADE_PORT: String(first.port), ...E2EE },
          config: LOAD_TEST_CONFIG,
        });
        servers.push(restarted);
      }
      return sendOne();
    };
    await Promise.all(Array.from({ length: WINDOW }, () => sendOne()));
    expect(killed).toBe(true);
    expect(acked.size).toBe(TOTAL);

    // Every acknowledged ciphertext is stored byte for byte under its seq.
    const reader = deviceClient(restarted!, alice.deviceKey, alice.token);
    const stored: { seq: number; clientMsgId: string; payload: string; kind: string }[] = [];
    for (;;) {
      const page = await reader.api.history(conv.id, stored.at(-1)?.seq ?? 0, 500);
      stored.push(...page);
      if (page.length < 500) break;
    }
    const byId = new Map(stored.map((m) => [m.clientMsgId, m]));
    const lost = [...acked.keys()].filter((id) => !byId.has(id));
    const wrong = [...acked].filter(([id, seq]) => byId.get(id)?.seq !== seq);
    const altered = [...acked.keys()].filter(
      (id) =>
        Buffer.from(byId.get(id)!.payload, 'base64').compare(Buffer.from(ciphertexts[Number(id.slice(4))]!)) !== 0,
    );
    expect(lost).toEqual([]);
    expect(wrong).toEqual([]);
    expect(altered).toEqual([]);
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
    expect(stored.length).toBe(TOTAL + 2); // the group's commit, 'set-up', and the stream

    // bob's device decrypted every message once, across the crash (the MLS layer refuses a second copy).
    await waitFor(() => rb.got.length >= TOTAL + 1, 60_000, 'bob to decrypt everything');
    const texts = rb.got.map((m) => m.text).filter((t) => t.startsWith('dur-'));
    expect(texts.length).toBe(TOTAL);
    expect(new Set(texts).size).toBe(TOTAL);
    expect(rb.notices.filter((n) => n.kind === 'undecryptable' || n.kind === 'replayed')).toEqual([]);
    for (const c of [admin, alice, bob, reader]) c.close();
  });
});
