import { describe, expect, it } from 'vitest';
import { fromUtf8, utf8, type IncomingMessage, type PalisadeClient } from '@palisade/client';
import { addDevice, createUsers, deviceClient, waitFor } from '../support/users.js';
import { useServerWithAdmin } from '../support/harness.js';

describe('messaging end to end over TLS with the SDK', () => {
  const env = useServerWithAdmin();

  it('two users on three devices each receive every message once, in order', async () => {
    const [alice, bob] = await createUsers(env.server, env.admin, ['alice', 'bob']);
    const bob2 = await addDevice(env.server, bob!, 'bob', 'bob phone');
    const got = new Map<PalisadeClient, IncomingMessage[]>();
    for (const c of [alice!, bob!, bob2]) {
      got.set(c, []);
      c.on.message = (m) => got.get(c)!.push(m);
      await c.connect();
    }
    const conv = await alice!.api.openDirect('bob');
    const sends: Promise<number>[] = [];
    for (let i = 0; i < 50; i++) sends.push((i % 2 ? bob! : alice!).send(conv.id, utf8(`m${i}`)));
    const seqs = await Promise.all(sends);
    expect(new Set(seqs).size).toBe(50);
    for (const c of [alice!, bob!, bob2]) {
      await waitFor(() => got.get(c)!.length >= 50, 10_000, 'all messages');
      const list = got.get(c)!;
      expect(list.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(new Set(list.map((m) => fromUtf8(m.payload))).size).toBe(50);
    }
    for (const c of [alice!, bob!, bob2]) c.close();
  });

  it('an offline device catches up from its last acknowledged message on reconnect', async () => {
    const [carol, dave] = await createUsers(env.server, env.admin, ['carol', 'dave']);
    const conv = await carol!.api.openDirect('dave');
    const first: IncomingMessage[] = [];
    dave!.on.message = (m) => first.push(m);
    await Promise.all([carol!.connect(), dave!.connect()]);
    await carol!.send(conv.id, utf8('before'));
    await waitFor(() => first.length === 1);
    // The coalesced ack has reached the server once dave's delivered position shows it.
    const daveId = (await dave!.api.me()).userId;
    const deliveredTo = async (userId: string) =>
      (
        await carol!.api.call<{ receipts: { userId: string; deliveredSeq: number }[] }>(
          'GET',
          `/v1/conversations/${conv.id}/receipts`,
        )
      ).receipts.find((r) => r.userId === userId)?.deliveredSeq;
    await expect.poll(() => deliveredTo(daveId), { timeout: 10_000 }).toBe(1);
    dave!.close();
    for (let i = 0; i < 10; i++) await carol!.send(conv.id, utf8(`while offline ${i}`));
    const again = deviceClient(env.server, dave!.deviceKey, dave!.token);
    const later: IncomingMessage[] = [];
    again.on.message = (m) => later.push(m);
    await again.connect();
    await waitFor(() => later.length >= 10);
    expect(later.map((m) => fromUtf8(m.payload))).toEqual(Array.from({ length: 10 }, (_, i) => `while offline ${i}`));
    expect(later[0]!.seq).toBe(2);
    carol!.close();
    again.close();
  });

  it('a retried send with the same clientMsgId creates one message', async () => {
    const [erin] = await createUsers(env.server, env.admin, ['erin']);
    const conv = await erin!.api.openDirect('admin');
    await erin!.connect();
    const a = await erin!.send(conv.id, utf8('once'), 'fixed-id-1');
    const b = await erin!.send(conv.id, utf8('once'), 'fixed-id-1');
    expect(b).toBe(a);
    const history = await erin!.api.history(conv.id);
    expect(history.filter((m) => m.clientMsgId === 'fixed-id-1')).toHaveLength(1);
    erin!.close();
  });
});
