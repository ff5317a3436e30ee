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
    bobJson.close();
  });
});
