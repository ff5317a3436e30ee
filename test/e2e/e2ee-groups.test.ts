import { describe, expect, it } from 'vitest';
import {
  MemoryStateStore,
  openSecureMessaging,
  type E2eeMessage,
  type E2eeNotice,
  type PalisadeClient,
  type SecureSession,
} from '@palisade/client';
import { useServerWithAdmin } from '../support/harness.js';
import { addDevice, createUsers, waitFor } from '../support/users.js';

/** One device with its end-to-end layer, and what it received. */
interface Device {
  name: string;
  client: PalisadeClient;
  session: SecureSession;
  store: MemoryStateStore;
  got: E2eeMessage[];
  notices: E2eeNotice[];
}

async function secureDevice(name: string, client: PalisadeClient): Promise<Device> {
  const store = new MemoryStateStore();
  const session = await openSecureMessaging(client, { store });
  const d: Device = { name, client, session, store, got: [], notices: [] };
  session.secure.on.message = (m) => d.got.push(m);
  session.secure.on.notice = (n) => d.notices.push(n);
  await session.secure.start();
  await client.connect();
  return d;
}

const texts = (d: Device, conv: string) => d.got.filter((m) => m.conversationId === conv).map((m) => m.text);

describe('end-to-end encrypted groups (MLS) through a real server', () => {
  const ctx = useServerWithAdmin({ env: { PALISADE_E2EE_REQUIRED: 'true' } });

  it('3 users, 5 devices: all decrypt; a removed member and a revoked device cannot decrypt the next message', async () => {
    const [alice, bob, carol] = (await createUsers(ctx.server, ctx.admin, ['e2alice', 'e2bob', 'e2carol'])) as [
      PalisadeClient,
      PalisadeClient,
      PalisadeClient,
    ];
    const alice2 = await addDevice(ctx.server, alice, 'e2alice', 'alice phone');
    const bob2 = await addDevice(ctx.server, bob, 'e2bob', 'bob phone');
    const devs = await Promise.all(
      (
        [
          ['alice', alice],
          ['alice2', alice2],
          ['bob', bob],
          ['bob2', bob2],
          ['carol', carol],
        ] as const
      ).map(([n, c]) => secureDevice(n, c)),
    );
    const [dA, dA2, dB, dB2, dC] = devs as [Device, Device, Device, Device, Device];
    const conv = await alice.api.createGroup('e2ee-5', ['e2bob', 'e2carol']);

    await dA.session.secure.sendText(conv.id, 'hello all five');
    for (const d of [dA2, dB, dB2, dC])
      await waitFor(() => texts(d, conv.id).includes('hello all five'), 15_000, `${d.name} to decrypt`);
    await dB2.session.secure.sendText(conv.id, 'bob from his phone');
    for (const d of [dA, dA2, dB, dC])
      await waitFor(() => texts(d, conv.id).includes('bob from his phone'), 15_000, `${d.name} to decrypt bob2`);
    // The server holds only ciphertext: no stored payload contains the text.
    const stored = await alice.api.history(conv.id, 0, 100);
    expect(stored.every((m) => !Buffer.from(m.payload, 'base64').includes('hello all five'))).toBe(true);
    expect(stored.filter((m) => m.kind === 'mls')).toHaveLength(2);

    // carol leaves the group: her state from before cannot read what comes next.
    const carolGroup = await dC.store.get(`group/${conv.id}`);
    expect(carolGroup).toBeDefined();
    await alice.api.removeMember(conv.id, dC.session.userId);
    await dA.session.secure.sendText(conv.id, 'carol has left');
    for (const d of [dA2, dB, dB2])
      await waitFor(() => texts(d, conv.id).includes('carol has left'), 15_000, `${d.name} after carol left`);
    const afterCarol = (await alice.api.history(conv.id, 0, 100)).at(-1)!;
    expect(afterCarol.kind).toBe('mls');
    const adapter = dC.session.adapter;
    await expect(
      adapter.process(adapter.decodeGroup(carolGroup!), Buffer.from(afterCarol.payload, 'base64')),
    ).rejects.toMatchObject({
      name: 'MlsError',
    });
    expect(texts(dC, conv.id)).not.toContain('carol has left');

    // bob's phone is revoked: its last state cannot read the next message either.
    const bob2Group = await dB2.store.get(`group/${conv.id}`);
    await bob.api.call('DELETE', `/v1/devices/${dB2.session.deviceId}`);
    await dA.session.secure.sendText(conv.id, 'after the phone was revoked');
    for (const d of [dA2, dB])
      await waitFor(() => texts(d, conv.id).includes('after the phone was revoked'), 15_000, `${d.name} after revoke`);
    const afterRevoke = (await alice.api.history(conv.id, 0, 100)).at(-1)!;
    await expect(
      adapter.process(adapter.decodeGroup(bob2Group!), Buffer.from(afterRevoke.payload, 'base64')),
    ).rejects.toMatchObject({
      name: 'MlsError',
    });
    expect(texts(dB2, conv.id)).not.toContain('after the phone was revoked');
    // Everyone was told about the device changes.
    expect(dB.notices.some((n) => n.kind === 'devices_changed' && n.removed.length > 0)).toBe(true);
    for (const d of devs) d.client.close();
  });

  it('two members commit in the same epoch: exactly one wins, the other processes it, retries, and the group agrees', async () => {
    const [ann, ben, dee] = (await createUsers(ctx.server, ctx.admin, ['e2ann', 'e2ben', 'e2dee'])) as [
      PalisadeClient,
      PalisadeClient,
      PalisadeClient,
    ];
    const [dAnn, dBen, dDee] = await Promise.all([
      secureDevice('ann', ann),
      secureDevice('ben', ben),
      secureDevice('dee', dee),
    ]);
    const conv = await ann.api.createGroup('race', ['e2ben']);
    await dAnn.session.secure.sendText(conv.id, 'start');
    await waitFor(() => texts(dBen, conv.id).includes('start'), 15_000, 'ben to join');
    // dee joins the conversation: the next send of ann AND of ben both want to add her devices.
    await ann.api.addMember(conv.id, 'e2dee');
    dAnn.session.secure.membershipChanged(conv.id);
    dBen.session.secure.membershipChanged(conv.id);
    await Promise.all([
      dAnn.session.secure.sendText(conv.id, 'from ann'),
      dBen.session.secure.sendText(conv.id, 'from ben'),
    ]);
    for (const d of [dAnn, dBen, dDee])
      for (const t of ['from ann', 'from ben'].filter(
        (x) => !(d === dAnn && x === 'from ann') && !(d === dBen && x === 'from ben'),
      ))
        await waitFor(() => texts(d, conv.id).includes(t), 15_000, `${d.name} to read ${t}`);
    const history = await ann.api.history(conv.id, 0, 100);
    // Exactly one commit per epoch was stored (the loser's was refused, then redone on the winner's
    // epoch): the commits' epochs run 0, 1, 2, ... with no repeat.
    const epochsOfCommits = history
      .filter((m) => m.kind === 'commit')
      .map((m) => dAnn.session.adapter.peek(Buffer.from(m.payload, 'base64')).epoch);
    expect(epochsOfCommits).toEqual(epochsOfCommits.map((_, i) => i));
    expect(epochsOfCommits.length).toBeGreaterThanOrEqual(2);
    const epochs = await Promise.all([dAnn, dBen, dDee].map((d) => d.session.secure.groupEpoch(conv.id)));
    expect(new Set(epochs).size).toBe(1);
    for (const d of [dAnn, dBen, dDee]) d.client.close();
  });
});
