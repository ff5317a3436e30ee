import { describe, expect, it } from 'vitest';
import { utf8, type PalisadeClient } from '@palisade/client';
import { createUsers, waitFor } from '../support/users.js';
import { useServerWithAdmin } from '../support/harness.js';

describe('receipts, typing and presence (ephemeral events)', () => {
  const env = useServerWithAdmin();

  it('relays typing, delivery and read receipts, and presence to the other member', async () => {
    const [ann, ben] = (await createUsers(env.server, env.admin, ['ann', 'ben'])) as [PalisadeClient, PalisadeClient];
    const conv = await ann.api.openDirect('ben');
    const annSaw: Record<string, unknown>[] = [];
    ann.on.typing = (t) => annSaw.push(t);
    ann.on.receipt = (r) => annSaw.push(r);
    ann.on.presence = (p) => annSaw.push(p);
    await ann.connect();
    await ben.connect();
    await waitFor(() => annSaw.some((e) => e.type === 'presence' && e.online === true), 5000, 'presence online');
    const benId = (await ben.api.me()).userId;
    expect(annSaw.find((e) => e.type === 'presence')).toMatchObject({ userId: benId, online: true });

    expect(ben.typing(conv.id)).toBe(true);
    await waitFor(() => annSaw.some((e) => e.type === 'typing'), 5000, 'typing');
    expect(annSaw.find((e) => e.type === 'typing')).toMatchObject({ conversationId: conv.id, userId: benId });

    const seq = await ann.send(conv.id, utf8('hi'));
    await waitFor(
      () => annSaw.some((e) => e.type === 'receipt' && e.kind === 'delivered' && e.userId === benId),
      5000,
      'delivered receipt',
    );
    ben.markRead(conv.id, seq);
    await waitFor(
      () => annSaw.some((e) => e.type === 'receipt' && e.kind === 'read' && e.userId === benId),
      5000,
      'read receipt',
    );
    const receipts = await ann.api.call<{ receipts: { userId: string; deliveredSeq: number; readSeq: number }[] }>(
      'GET',
      `/v1/conversations/${conv.id}/receipts`,
    );
    expect(receipts.receipts.find((r) => r.userId === benId)).toMatchObject({ readSeq: seq });

    ben.close();
    await waitFor(() => annSaw.some((e) => e.type === 'presence' && e.online === false), 5000, 'presence offline');
    ann.close();
  });

  it('does not relay typing into a conversation the sender is not in', async () => {
    const [cat, dan, eve] = await createUsers(env.server, env.admin, ['cat', 'dan', 'eve']);
    const conv = await cat!.api.openDirect('dan');
    const errors: string[] = [];
    const danSaw: unknown[] = [];
    eve!.on.error = (e) => errors.push(e.code);
    dan!.on.typing = (t) => danSaw.push(t);
    await Promise.all([eve!.connect(), dan!.connect()]);
    eve!.typing(conv.id);
    await waitFor(() => errors.length > 0, 5000, 'error frame');
    expect(errors).toEqual(['not_found']);
    expect(danSaw).toEqual([]);
    for (const c of [cat, dan, eve]) c!.close();
  });
});

describe('membership changes reach live sockets at once', () => {
  const env = useServerWithAdmin();

  it('stops delivering to a removed member and starts delivering to an added one, without reconnecting', async () => {
    const [owner, kim, lee] = await createUsers(env.server, env.admin, ['owner', 'kim', 'lee']);
    const g = await owner!.api.createGroup('ops', ['kim']);
    const kimGot: string[] = [];
    const leeGot: string[] = [];
    const kimChanges: string[] = [];
    kim!.on.message = (m) => kimGot.push(Buffer.from(m.payload).toString());
    kim!.on.conversation = (c) => kimChanges.push(c.change);
    lee!.on.message = (m) => leeGot.push(Buffer.from(m.payload).toString());
    await Promise.all([owner!.connect(), kim!.connect(), lee!.connect()]);
    await owner!.send(g.id, utf8('one'));
    await waitFor(() => kimGot.length === 1);
    const kimId = (await kim!.api.me()).userId;
    await owner!.api.removeMember(g.id, kimId);
    await waitFor(() => kimChanges.includes('left'), 1000, 'left notice');
    await owner!.api.addMember(g.id, 'lee');
    await owner!.send(g.id, utf8('two'));
    await waitFor(() => leeGot.length === 1, 2000, 'lee to receive');
    // A barrier instead of a sleep: a later message to kim on the same socket arrives after 'two' would have.
    const direct = await owner!.api.openDirect('kim');
    await owner!.send(direct.id, utf8('marker'));
    await waitFor(() => kimGot.includes('marker'), 5000, 'kim to receive the marker');
    expect(kimGot).toEqual(['one', 'marker']);
    expect(leeGot).toEqual(['two']); // a new member sees only what was sent after joining
    for (const c of [owner, kim, lee]) c!.close();
  });
});
