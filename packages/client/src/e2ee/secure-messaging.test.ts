import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromBase64Url } from '../bytes.js';
import { DeviceKey } from '../device-key.js';
import { ToyOrg } from '../test-support/toy-org.js';
import { ToyServer } from '../test-support/toy-server.js';
import { device, settle, texts } from '../test-support/toy-device.js';

describe('SecureMessaging against a server the test plays', () => {
  it('delivers end to end; a replayed ciphertext and a reordered pair are reported, not shown twice or hidden', async () => {
    const server = new ToyServer(new ToyOrg());
    server.conversation('c1', ['alice', 'bob']);
    const alice = await device(server, 'alice', 'a1');
    const bob = await device(server, 'bob', 'b1');
    await alice.secure.sendText('c1', 'one');
    await settle(alice, bob);
    expect(texts(bob)).toEqual(['one']);
    expect(bob.got[0]).toMatchObject({ senderId: 'alice', senderDeviceId: 'a1', protection: 'e2ee' });

    // The server replays the last ciphertext under a new seq.
    const conv = server.conversations.get('c1')!;
    const last = conv.messages.at(-1)!;
    const replay = { ...last, seq: conv.messages.length + 1 };
    conv.messages.push(replay);
    server.deliver('c1', replay);
    await settle(alice, bob);
    expect(texts(bob)).toEqual(['one']);
    expect(bob.notices).toContainEqual(expect.objectContaining({ kind: 'replayed', seq: replay.seq }));

    // The server swaps the order of two messages from alice.
    const hold: typeof conv.messages = [];
    const realDeliver = server.deliver.bind(server);
    server.deliver = (id, m) => void hold.push(m);
    await alice.secure.sendText('c1', 'two');
    await alice.secure.sendText('c1', 'three');
    const [two, three] = conv.messages.splice(-2) as [(typeof hold)[0], (typeof hold)[0]];
    conv.messages.push({ ...three, seq: two.seq }, { ...two, seq: three.seq });
    server.deliver = realDeliver;
    await settle(alice, bob);
    expect(texts(bob)).toEqual(['one', 'three', 'two']);
    expect(bob.notices).toContainEqual(expect.objectContaining({ kind: 'reordered', seq: three.seq }));
  });

  it('refuses a device whose credential the organisation did not sign, or that is not in the log', async () => {
    const server = new ToyServer(new ToyOrg());
    server.conversation('c1', ['alice', 'bob', 'mallory']);
    const alice = await device(server, 'alice', 'a1');
    await device(server, 'bob', 'b1');
    // The server adds a device for mallory with a credential signed by a key of its own making...
    const mk = DeviceKey.generate();
    const forged = server.org.credential('mallory', 'm1', fromBase64Url(mk.publicKey), ed25519.utils.randomSecretKey());
    server.devices.set('m1', {
      userId: 'mallory',
      deviceId: 'm1',
      credential: forged,
      leafIndex: server.org.log(forged),
      packages: [],
    });
    const mallory = await device(server, 'mallory', 'm1', mk); // its KeyPackages carry the forged credential
    const bob = [...server.devices.values()].find((d) => d.deviceId === 'b1')!;
    await alice.secure.sendText('c1', 'secret');
    expect(alice.notices).toContainEqual(expect.objectContaining({ kind: 'member_refused' }));
    expect(alice.members.refusals.at(-1)).toMatchObject({ deviceId: 'm1' });
    expect(alice.members.refusals.at(-1)?.reason).toMatch(/transparency|signed/);
    await settle(alice, mallory);
    expect(mallory.got).toEqual([]);
    expect(server.conversations.get('c1')!.inGroup.has('m1')).toBe(false);
    expect(bob.deviceId).toBe('b1');
    // ...and one signed properly but kept out of the log (a leaf index the log does not have).
    const server2 = new ToyServer(new ToyOrg());
    server2.conversation('c1', ['alice', 'eve']);
    const a2 = await device(server2, 'alice', 'a1');
    const ek = DeviceKey.generate();
    const unlogged = server2.org.credential('eve', 'e1', fromBase64Url(ek.publicKey));
    server2.devices.set('e1', { userId: 'eve', deviceId: 'e1', credential: unlogged, leafIndex: 7, packages: [] });
    const eve = await device(server2, 'eve', 'e1', ek);
    await a2.secure.sendText('c1', 'secret');
    expect(a2.members.refusals.at(-1)).toMatchObject({ deviceId: 'e1' });
    expect(a2.members.refusals.at(-1)?.reason).toMatch(/not_in_log|beyond the log|not leaf/);
    await settle(a2, eve);
    expect(eve.got).toEqual([]);
    expect(server2.conversations.get('c1')!.inGroup.has('e1')).toBe(false);
  });

  it('a conversation from before end-to-end encryption: its messages stay readable, marked; the next send makes it MLS', async () => {
    const server = new ToyServer(new ToyOrg());
    server.conversation('c1', ['alice', 'bob']);
    const conv = server.conversations.get('c1')!;
    conv.messages.push({
      conversationId: 'c1',
      seq: 1,
      senderId: 'bob',
      senderDeviceId: 'old-device',
      kind: 'legacy',
      payload: new TextEncoder().encode(JSON.stringify({ text: 'from last year' })),
      sentAt: '2025-12-01T10:00:00.000Z',
    });
    const alice = await device(server, 'alice', 'a1');
    const bob = await device(server, 'bob', 'b1');
    await alice.secure.sync('c1');
    expect(alice.got).toEqual([expect.objectContaining({ seq: 1, text: 'from last year', protection: 'legacy' })]);
    await alice.secure.sendText('c1', 'now encrypted');
    await settle(alice, bob);
    expect(conv.messages.map((m) => m.kind)).toEqual(['legacy', 'commit', 'mls']);
    expect(bob.got.map((m) => [m.text, m.protection])).toEqual([
      ['from last year', 'legacy'],
      ['now encrypted', 'e2ee'],
    ]);
    expect((await alice.secure.kept('c1')).map((m) => m.protection)).toEqual(['legacy', 'e2ee']);
  });

  it('a device that lost its state re-joins by external commit, says so, and reads what follows', async () => {
    const server = new ToyServer(new ToyOrg());
    server.conversation('c1', ['alice', 'bob']);
    const alice = await device(server, 'alice', 'a1');
    const bob = await device(server, 'bob', 'b1');
    await alice.secure.sendText('c1', 'before');
    await settle(alice, bob);
    expect(texts(bob)).toEqual(['before']);
    // bob's group state is lost (restored from an old backup, say): drop it.
    await bob.store.putMany([['group/c1', undefined]]);
    await alice.secure.sendText('c1', 'during');
    await settle(alice, bob);
    expect(bob.notices.map((n) => n.kind)).toContain('rejoined');
    await alice.secure.sendText('c1', 'after');
    await settle(alice, bob);
    expect(texts(bob)).toContain('after');
    expect(texts(bob)).not.toContain('during');
  });
});
