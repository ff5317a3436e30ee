import { describe, expect, it } from 'vitest';
import { type IncomingMessage, type PalisadeClient } from '@palisade/client';
import { createNodeClient } from '@palisade/client/node';
import { MAX_PAYLOAD_BYTES } from '@palisade/protocol';
import { useServerWithAdmin } from '../support/harness.js';
import { createUsers, waitFor } from '../support/users.js';

describe('binary payload frames end to end over TLS (real server, real SDK)', () => {
  const env = useServerWithAdmin();

  it('a binary client and a JSON client in one conversation get every message once, in order, identical', async () => {
    const [alice, bob] = (await createUsers(env.server, env.admin, ['bina', 'jsonb'])) as [
      PalisadeClient,
      PalisadeClient,
    ];
    // bob's device, forced to JSON frames (an old client as far as the server can tell).
    const bobJson = createNodeClient({
      baseUrl: env.server.baseUrl,
      ca: env.server.ca,
      deviceKey: bob.deviceKey,
      token: bob.token,
      realtime: { frames: 'json' },
    });
    const got = new Map<PalisadeClient, IncomingMessage[]>([
      [alice, []],
      [bobJson, []],
    ]);
    for (const [c, list] of got) {
      c.on.message = (m) => list.push(m);
      await c.connect();
    }
    expect(alice.realtime.frameFormat).toBe('binary');
    expect(bobJson.realtime.frameFormat).toBe('json');
    const conv = await alice.api.openDirect('jsonb');
    const payloads = [
      new Uint8Array(0),
      Uint8Array.from({ length: 256 }, (_, i) => i),
      new Uint8Array(MAX_PAYLOAD_BYTES).fill(0xa5),
    ];
    for (let i = 0; i < 20; i++) payloads.push(new TextEncoder().encode(`m${i} ✓`));
    const seqs = await Promise.all(payloads.map((p, i) => (i % 2 ? bobJson : alice).send(conv.id, p)));
    expect(new Set(seqs).size).toBe(payloads.length);
    for (const list of got.values()) await waitFor(() => list.length >= payloads.length, 15_000, 'all messages');
    const [a, b] = [got.get(alice) as IncomingMessage[], got.get(bobJson) as IncomingMessage[]];
    expect(a.map((m) => m.seq)).toEqual(Array.from({ length: payloads.length }, (_, i) => i + 1));
    expect(a).toEqual(b);
    const bySeq = new Map(seqs.map((s, i) => [s, payloads[i] as Uint8Array]));
    for (const m of a) expect(Buffer.from(m.payload).equals(Buffer.from(bySeq.get(m.seq) as Uint8Array))).toBe(true);
    // Over the limit: refused by the SDK before anything is sent, on either format.
    await expect(alice.send(conv.id, new Uint8Array(MAX_PAYLOAD_BYTES + 1))).rejects.toMatchObject({
      code: 'payload_too_large',
    });
    alice.close();
    // Catch-up over binary: alice comes back to messages sent while she was away; the server's first
    // page holds ready, the waiting messages and synced in one binary batch.
    await alice.closed();
    for (let i = 0; i < 5; i++) await bobJson.send(conv.id, new TextEncoder().encode(`away ${i}`));
    const back = createNodeClient({
      baseUrl: env.server.baseUrl,
      ca: env.server.ca,
      deviceKey: alice.deviceKey,
      token: alice.token,
    });
    const later: IncomingMessage[] = [];
    back.on.message = (m) => later.push(m);
    await back.connect();
    expect(back.realtime.frameFormat).toBe('binary');
    await waitFor(() => later.length >= 5, 15_000, 'the catch-up');
    expect(later.map((m) => new TextDecoder().decode(m.payload))).toEqual([0, 1, 2, 3, 4].map((i) => `away ${i}`));
    back.close();
    bobJson.close();
  });
});
