import { MAX_PAYLOAD_BYTES } from '@palisade/protocol';
import { expect, it } from 'vitest';
import { FakeClock } from '../core/index.js';
import { LIMITS, RateLimiter, StorageReserve } from '../limits/index.js';
import { testDeps } from '../test-support/deps.js';
import { makeUsers, uniqueName } from '../test-support/users.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { createGroup, listMessages, openDirect, sendMessage, updateConversation } from './index.js';

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: Error & { code?: string }) => e.code ?? e.message,
  );

withAllStores('message floods (S10) and key creation (issue 8)', (h) => {
  const setup = async (n: number, clock = new FakeClock()) => {
    const deps = await testDeps(h.get(), clock);
    const names = Array.from({ length: n }, () => uniqueName('f'));
    const users = await makeUsers(deps.auth, names);
    return { deps, users, names, clock };
  };
  const dataKeys = async () =>
    Number(
      (
        await h
          .get()
          .db.selectFrom('data_keys')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('S10: one device gets 100 messages at once, then 20 a second; the refused ones store nothing', async () => {
    const { deps, users, names, clock } = await setup(2);
    const conv = await openDirect(deps.messaging, users[0]!, names[1]!);
    const out = await Promise.all(
      Array.from({ length: 130 }, (_, i) =>
        codeOf(
          sendMessage(deps.messaging, users[0]!, { conversationId: conv.id, clientMsgId: `d${i}`, payload: bytes(10) }),
        ),
      ),
    );
    expect(out.filter((c) => c === 'ok')).toHaveLength(LIMITS['message.send'].burst);
    expect(out.slice(LIMITS['message.send'].burst).every((c) => c === 'rate_limited')).toBe(true);
    clock.advance(1000);
    const later = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        codeOf(
          sendMessage(deps.messaging, users[0]!, { conversationId: conv.id, clientMsgId: `e${i}`, payload: bytes(10) }),
        ),
      ),
    );
    expect(later.filter((c) => c === 'ok')).toHaveLength(LIMITS['message.send'].perSecond);
    const stored = await listMessages(deps.messaging, users[1]!, conv.id, 0, 500);
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
  });

  it('S10: the byte budget of a device holds 64 full-size payloads, then refuses', async () => {
    const { deps, users, names } = await setup(2);
    const conv = await openDirect(deps.messaging, users[0]!, names[1]!);
    const out: string[] = [];
    for (let i = 0; i < 70; i++)
      out.push(
        await codeOf(
          sendMessage(deps.messaging, users[0]!, {
            conversationId: conv.id,
            clientMsgId: `big${i}`,
            payload: bytes(MAX_PAYLOAD_BYTES),
          }),
        ),
      );
    expect(out.indexOf('rate_limited')).toBe(LIMITS['message.bytes.device'].burst / MAX_PAYLOAD_BYTES);
    expect(await listMessages(deps.messaging, users[1]!, conv.id, 0, 500)).toHaveLength(64);
  });

  it('S10: a conversation budget is spent only by members, and a refusal leaves no gap in sequence numbers', async () => {
    const { deps, users, names, clock } = await setup(3);
    deps.messaging.limiter = new RateLimiter(clock, { ...LIMITS, 'message.conversation': { burst: 3, perSecond: 1 } });
    const g = await createGroup(deps.messaging, users[0]!, 'busy', [names[1]!]);
    // An outsider's refused sends spend nothing of the group's budget.
    for (let i = 0; i < 10; i++)
      expect(
        await codeOf(
          sendMessage(deps.messaging, users[2]!, { conversationId: g, clientMsgId: `x${i}`, payload: bytes(1) }),
        ),
      ).toBe('not_found');
    const send = (u: number, id: string) =>
      codeOf(sendMessage(deps.messaging, users[u]!, { conversationId: g, clientMsgId: id, payload: bytes(1) }));
    expect([await send(0, 'a'), await send(1, 'b'), await send(0, 'c'), await send(1, 'd')]).toEqual([
      'ok',
      'ok',
      'ok',
      'rate_limited',
    ]);
    clock.advance(1000);
    expect(await send(1, 'd')).toBe('ok');
    const stored = await listMessages(deps.messaging, users[0]!, g, 0, 10);
    expect(stored.map((m) => [m.seq, m.clientMsgId])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
      [4, 'd'],
    ]);
  });

  it('S10: below the free-disk reserve sends are refused with storage_full, and every acknowledged message stays', async () => {
    const { deps, users, names, clock } = await setup(2);
    let free = 10 * 1024 * 1024;
    const reserve = new StorageReserve(() => Promise.resolve(free), 8 * 1024 * 1024, clock);
    await reserve.refresh();
    deps.messaging.storage = reserve;
    const conv = await openDirect(deps.messaging, users[0]!, names[1]!);
    const acked: number[] = [];
    let refused = '';
    for (let i = 0; i < 40 && !refused; i++) {
      const r = await sendMessage(deps.messaging, users[0]!, {
        conversationId: conv.id,
        clientMsgId: `s${i}`,
        payload: bytes(32 * 1024),
      }).catch((e: { code: string }) => e.code);
      if (typeof r === 'string') refused = r;
      else acked.push(r.seq);
    }
    // 2 MiB above the reserve, each 32 KiB message counted twice (WAL and file) plus overhead: 31 fit.
    expect(refused).toBe('storage_full');
    expect(acked).toHaveLength(31);
    free = 1024 * 1024; // something else filled the disk meanwhile: the next probe sees it
    clock.advance(1000);
    await reserve.refresh();
    expect(
      await codeOf(
        sendMessage(deps.messaging, users[1]!, { conversationId: conv.id, clientMsgId: 'tiny', payload: bytes(1) }),
      ),
    ).toBe('storage_full');
    const stored = await listMessages(deps.messaging, users[1]!, conv.id, 0, 100);
    expect(stored.map((m) => m.seq)).toEqual(acked);
    free = 100 * 1024 * 1024; // space freed: sends resume once a probe sees it
    clock.advance(1000);
    await reserve.refresh();
    expect(
      await codeOf(
        sendMessage(deps.messaging, users[1]!, { conversationId: conv.id, clientMsgId: 'after', payload: bytes(1) }),
      ),
    ).toBe('ok');
  });

  it('issue 8: 20 refused sends and renames (no such conversation, not a member, not the owner) create no data key', async () => {
    const { deps, users, names } = await setup(3);
    const g = await createGroup(deps.messaging, users[0]!, 'owned', [names[1]!]);
    const direct = await openDirect(deps.messaging, users[0]!, names[1]!);
    const before = await dataKeys();
    const refused: string[] = [];
    for (let i = 0; i < 20; i++) {
      const target = [`nope${i}`, direct.id, g][i % 3]!;
      refused.push(
        await codeOf(
          sendMessage(deps.messaging, users[2]!, { conversationId: target, clientMsgId: `r${i}`, payload: bytes(5) }),
        ),
      );
      refused.push(
        await codeOf(
          updateConversation(deps.messaging, users[i % 2 === 0 ? 2 : 1]!, i % 2 === 0 ? `nope${i}` : g, {
            name: `renamed ${i}`,
          }),
        ),
      );
    }
    expect(refused.every((c) => c === 'not_found' || c === 'forbidden')).toBe(true);
    expect(await dataKeys()).toBe(before);
    // The first authorized message of the direct conversation creates its key, once.
    await sendMessage(deps.messaging, users[1]!, {
      conversationId: direct.id,
      clientMsgId: 'first',
      payload: bytes(5),
    });
    expect(await dataKeys()).toBe(before + 1);
  });
});
