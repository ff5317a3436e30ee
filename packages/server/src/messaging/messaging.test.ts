import { describe, expect, it, vi } from 'vitest';
import { withAllStores } from '../test-support/with-all-stores.js';
import { testDeps } from '../test-support/deps.js';
import { makeUsers, uniqueName } from '../test-support/users.js';
import {
  acknowledgeDelivery,
  addMember,
  createGroup,
  deviceCursors,
  listConversations,
  listMessages,
  openDirect,
  removeMember,
  sendMessage,
} from './index.js';

const bytes = (s: string) => new TextEncoder().encode(s);

withAllStores('messaging', (h) => {
  const setup = async (n = 2) => {
    const deps = await testDeps(h.get());
    const names = Array.from({ length: n }, () => uniqueName('u'));
    const users = await makeUsers(deps.auth, names);
    return { deps, users, names };
  };

  it('allocates contiguous per-conversation sequence numbers under concurrent sends', async () => {
    const { deps, users, names } = await setup();
    const conv = await openDirect(deps.messaging, users[0]!, names[1]!);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        sendMessage(deps.messaging, users[i % 2]!, {
          conversationId: conv.id,
          clientMsgId: `c${i}`,
          payload: bytes(`m${i}`),
        }),
      ),
    );
    expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const history = await listMessages(deps.messaging, users[0]!, conv.id, 0, 100);
    expect(history.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('commits concurrent sends in groups and fails a non-member alone, storing nothing for it', async () => {
    const { deps, users, names } = await setup(3);
    const conv = await openDirect(deps.messaging, users[0]!, names[1]!);
    const sends = Array.from({ length: 30 }, (_, i) =>
      sendMessage(deps.messaging, users[i === 7 ? 2 : 0]!, {
        conversationId: conv.id,
        clientMsgId: `b${i}`,
        payload: bytes(`b${i}`),
      }).then(
        (r) => r.seq,
        (e: { code: string }) => e.code,
      ),
    );
    const out = await Promise.all(sends);
    expect(out[7]).toBe('not_found');
    expect(out.filter((x) => typeof x === 'number').sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 29 }, (_, i) => i + 1),
    );
    // Arrival order is sequence order for one sender.
    expect(out.filter((x) => typeof x === 'number')).toEqual(Array.from({ length: 29 }, (_, i) => i + 1));
  });

  it('is idempotent on clientMsgId, also for concurrent retries', async () => {
    const { deps, users, names } = await setup();
    const conv = await openDirect(deps.messaging, users[0]!, names[1]!);
    const input = { conversationId: conv.id, clientMsgId: 'same', payload: bytes('x') };
    const rs = await Promise.all([1, 2, 3, 4].map(() => sendMessage(deps.messaging, users[0]!, input)));
    expect(new Set(rs.map((r) => r.seq)).size).toBe(1);
    expect(rs.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(await listMessages(deps.messaging, users[0]!, conv.id, 0, 10)).toHaveLength(1);
  });

  it('stores binary payloads and unicode names exactly', async () => {
    const { deps, users, names } = await setup(2);
    const payload = new Uint8Array(256).map((_, i) => i);
    const name = 'Équipe 🚀 שלום e\u0301 \u{1F469}\u200D\u{1F4BB}';
    const g = await createGroup(deps.messaging, users[0]!, name, [names[1]!]);
    await sendMessage(deps.messaging, users[0]!, { conversationId: g, clientMsgId: 'bin', payload });
    const [m] = await listMessages(deps.messaging, users[1]!, g, 0, 10);
    expect(Buffer.from(m!.payload).equals(Buffer.from(payload))).toBe(true);
    const list = await listConversations(deps.messaging, users[1]!);
    expect(list.find((c) => c.id === g)?.name).toBe(name);
  });

  it('refuses non-members without revealing the conversation (BOLA)', async () => {
    const { deps, users, names } = await setup(3);
    const conv = await openDirect(deps.messaging, users[0]!, names[1]!);
    const outsider = users[2]!;
    await expect(
      sendMessage(deps.messaging, outsider, { conversationId: conv.id, clientMsgId: 'x', payload: bytes('x') }),
    ).rejects.toMatchObject({ code: 'not_found' });
    await expect(listMessages(deps.messaging, outsider, conv.id, 0, 10)).rejects.toMatchObject({ code: 'not_found' });
    await expect(acknowledgeDelivery(deps.messaging, outsider, conv.id, 0)).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('lets only owners and admins add members; members may leave; late joiners see only later messages', async () => {
    const { deps, users, names } = await setup(4);
    const [owner, member, late, other] = users as [
      (typeof users)[0],
      (typeof users)[0],
      (typeof users)[0],
      (typeof users)[0],
    ];
    const g = await createGroup(deps.messaging, owner, 'team', [names[1]!]);
    await expect(addMember(deps.messaging, member, g, names[2]!, 'member')).rejects.toMatchObject({
      code: 'forbidden',
    });
    await sendMessage(deps.messaging, owner, { conversationId: g, clientMsgId: 'early', payload: bytes('early') });
    await addMember(deps.messaging, owner, g, names[2]!, 'member');
    await expect(addMember(deps.messaging, owner, g, names[2]!, 'member')).rejects.toMatchObject({
      code: 'already_member',
    });
    await sendMessage(deps.messaging, owner, { conversationId: g, clientMsgId: 'late', payload: bytes('late') });
    const seen = await listMessages(deps.messaging, late, g, 0, 10);
    expect(seen.map((m) => m.clientMsgId)).toEqual(['late']);
    const cursors = await deviceCursors(deps.messaging, late);
    expect(cursors.find((c) => c.conversationId === g)).toMatchObject({ deliveredSeq: 1, lastSeq: 2 });
    await expect(removeMember(deps.messaging, member, g, owner.userId)).rejects.toMatchObject({ code: 'forbidden' });
    await removeMember(deps.messaging, member, g, member.userId);
    await expect(listMessages(deps.messaging, member, g, 0, 10)).rejects.toMatchObject({ code: 'not_found' });
    await expect(addMember(deps.messaging, other, g, names[1]!, 'member')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('moves delivery cursors only forward and refuses a seq beyond the last message', async () => {
    const { deps, users, names } = await setup();
    const conv = await openDirect(deps.messaging, users[0]!, names[1]!);
    for (let i = 0; i < 3; i++)
      await sendMessage(deps.messaging, users[0]!, {
        conversationId: conv.id,
        clientMsgId: `k${i}`,
        payload: bytes('k'),
      });
    await acknowledgeDelivery(deps.messaging, users[1]!, conv.id, 3);
    await acknowledgeDelivery(deps.messaging, users[1]!, conv.id, 1);
    await deps.messaging.cursors.flush();
    const c = (await deviceCursors(deps.messaging, users[1]!)).find((x) => x.conversationId === conv.id);
    expect(c?.deliveredSeq).toBe(3);
    await expect(acknowledgeDelivery(deps.messaging, users[1]!, conv.id, 4)).rejects.toMatchObject({
      code: 'bad_request',
    });
  });

  it('opens one direct conversation per pair, whoever opens it', async () => {
    const { deps, users, names } = await setup();
    const a = await openDirect(deps.messaging, users[0]!, names[1]!);
    const b = await openDirect(deps.messaging, users[1]!, names[0]!);
    expect(b.id).toBe(a.id);
    expect(b.created).toBe(false);
  });

  it('writes the outbox event in the send transaction and replays it after a crash', async () => {
    const { deps, users, names } = await setup();
    const conv = await openDirect(deps.messaging, users[0]!, names[1]!);
    // The batched clean-up (a 100 ms timer) is held back, so the row stays: as after a crash before clean-up.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let rows;
    try {
      await sendMessage(deps.messaging, users[0]!, { conversationId: conv.id, clientMsgId: 'ob', payload: bytes('o') });
      rows = await h.get().db.selectFrom('outbox').selectAll().execute();
    } finally {
      vi.useRealTimers();
    }
    expect(
      rows.some(
        (r) =>
          r.type === 'message.sent' && (JSON.parse(r.data) as { conversationId?: string }).conversationId === conv.id,
      ),
    ).toBe(true);
    deps.events.length = 0;
    const replayed = await deps.messaging.outbox.recover();
    expect(replayed).toBeGreaterThanOrEqual(1);
    expect(
      deps.events.some(
        (e) => e.type === 'message.sent' && (e.data as { conversationId: string }).conversationId === conv.id,
      ),
    ).toBe(true);
    expect(await h.get().db.selectFrom('outbox').selectAll().execute()).toHaveLength(0);
  });
});

describe('payload limit', () => {
  it('is enforced in the domain, not only in the schema', async () => {
    const { MAX_PAYLOAD_BYTES } = await import('@palisade/protocol');
    const deps = { limiter: { check: () => undefined } } as never;
    await expect(
      sendMessage(deps, {} as never, {
        conversationId: 'c',
        clientMsgId: 'x',
        payload: new Uint8Array(MAX_PAYLOAD_BYTES + 1),
      }),
    ).rejects.toMatchObject({ code: 'payload_too_large' });
  });
});
