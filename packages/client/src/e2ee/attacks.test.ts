import { describe, expect, it } from 'vitest';
import { fromBase64Url } from '../bytes.js';
import { DeviceKey } from '../device-key.js';
import { createTsMlsAdapter } from '../mls/ts-mls-adapter.js';
import { ToyOrg } from '../test-support/toy-org.js';
import { ToyServer } from '../test-support/toy-server.js';
import { device, settle, texts } from '../test-support/toy-device.js';
import type { PendingWelcome } from './ports.js';
import { MemoryStateStore } from './state-store.js';

/** Attacks found by the security review of the end-to-end layer; each test plays the hostile server. */
describe('end-to-end layer under a hostile server', () => {
  const pair = async () => {
    const server = new ToyServer(new ToyOrg());
    server.conversation('c1', ['alice', 'bob']);
    const alice = await device(server, 'alice', 'a1');
    const bob = await device(server, 'bob', 'b1');
    return { server, alice, bob };
  };

  it('a replayed Welcome (to the last-resort KeyPackage) does not roll the group back; no generation is reused', async () => {
    const { server, alice, bob } = await pair();
    const bd = server.devices.get('b1')!;
    bd.packages = bd.packages.filter((p) => p.lastResort); // the server hands out bob's last resort
    let captured: PendingWelcome | undefined;
    const deliver = bd.welcome!;
    bd.welcome = (w) => {
      captured = w;
      deliver(w);
    };
    await alice.secure.sendText('c1', 'one');
    await settle(alice, bob);
    await bob.secure.sendText('c1', 'b-first');
    await alice.secure.sendText('c1', 'two');
    await settle(alice, bob);
    expect(texts(bob)).toEqual(['one', 'two']);
    await bob.secure.onWelcome(captured!); // pushed again
    await settle(alice, bob);
    await bob.secure.sendText('c1', 'b-second');
    await settle(alice, bob);
    expect(texts(bob)).toEqual(['one', 'two']); // nothing re-shown
    expect(texts(alice)).toEqual(['b-first', 'b-second']);
    expect(alice.notices.filter((n) => n.kind === 'replayed')).toEqual([]);
    // The used last-resort secret is gone from bob's device, and a fresh one was made at the next top-up.
    const identity = async () =>
      JSON.parse(new TextDecoder().decode(await bob.store.get('identity'))) as { lastResortRef?: string };
    expect((await identity()).lastResortRef).toBeUndefined();
    await bob.secure.topUpKeyPackages();
    const fresh = (await identity()).lastResortRef;
    expect(fresh).toBeDefined();
    expect(await bob.store.keys('kp/')).toContain(`kp/${fresh}`);
    expect(server.devices.get('b1')!.packages.filter((p) => p.lastResort).length).toBeGreaterThan(1);
  });

  it("a ghost leaf naming alice's own device with a key the server made is removed by alice's next send", async () => {
    const { server, alice, bob } = await pair();
    await alice.secure.sendText('c1', 'one');
    await settle(alice, bob);
    // A compromised server signs and logs a credential for alice/a1 with its own key and joins with it.
    const gk = DeviceKey.generate();
    const gpub = fromBase64Url(gk.publicKey);
    const ghost = server.org.credential('alice', 'a1', gpub);
    const a1 = server.devices.get('a1')!;
    const real = { credential: a1.credential, leafIndex: a1.leafIndex };
    Object.assign(a1, { credential: ghost, leafIndex: server.org.log(ghost) }); // the directory lies while it joins
    const ghostMls = await createTsMlsAdapter({ validate: () => Promise.resolve(true) });
    const info = await server.portsFor('b1').delivery.groupInfo('c1');
    const me = { credential: ghost, signatureSecret: fromBase64Url(gk.export()), signaturePublic: gpub };
    const { group, commit } = await ghostMls.joinExternal(info.groupInfo, me);
    server.addDevice('x', 'relay', fromBase64Url(DeviceKey.generate().publicKey));
    await server.portsFor('relay').delivery.commit('c1', {
      epoch: info.epoch,
      commit,
      groupInfo: await ghostMls.groupInfo(group),
      added: [],
      removed: [],
      external: true,
    });
    await settle(alice, bob);
    Object.assign(a1, real);
    alice.secure.membershipChanged('c1');
    await alice.secure.sendText('c1', 'after the ghost');
    expect(alice.notices).toContainEqual(
      expect.objectContaining({ kind: 'member_refused', reason: expect.stringMatching(/claims to be this device/) }),
    );
    await settle(alice, bob);
    // The ghost's state cannot read what alice sent after removing it.
    const last = server.conversations.get('c1')!.messages.at(-1)!;
    let g = group;
    for (const m of server.conversations.get('c1')!.messages.filter((x) => x.seq < last.seq)) {
      try {
        g = (await ghostMls.process(g, m.payload)).group;
      } catch {
        /* before it joined */
      }
    }
    await expect(ghostMls.process(g, last.payload)).rejects.toMatchObject({ name: 'MlsError' });
    expect(texts(bob)).toContain('after the ghost');
  });

  it('a state restored from an older copy never reuses a ratchet generation (the first send is a self-update)', async () => {
    const server = new ToyServer(new ToyOrg());
    server.conversation('c1', ['alice', 'bob']);
    const key = DeviceKey.generate();
    const store = new MemoryStateStore();
    const alice = await device(server, 'alice', 'a1', key, store);
    const bob = await device(server, 'bob', 'b1');
    await alice.secure.sendText('c1', 'one');
    await settle(alice, bob);
    const backup = new MemoryStateStore();
    await backup.putMany(
      await Promise.all((await store.keys('')).map(async (k) => [k, (await store.get(k))!] as [string, Uint8Array])),
    );
    await alice.secure.sendText('c1', 'two');
    await settle(alice, bob);
    const restored = await device(server, 'alice', 'a1', key, backup);
    await restored.secure.sendText('c1', 'three');
    await settle(restored, bob);
    expect(texts(bob)).toEqual(['one', 'two', 'three']);
    expect(bob.notices.filter((n) => n.kind === 'replayed' || n.kind === 'undecryptable')).toEqual([]);
  });

  it('a plaintext message injected after the conversation became end-to-end encrypted is refused, not shown', async () => {
    const { server, alice, bob } = await pair();
    await alice.secure.sendText('c1', 'one');
    await settle(alice, bob);
    const conv = server.conversations.get('c1')!;
    const forged = {
      conversationId: 'c1',
      seq: conv.messages.length + 1,
      senderId: 'alice',
      senderDeviceId: 'a1',
      kind: 'legacy' as const,
      payload: new TextEncoder().encode(JSON.stringify({ text: 'send the wire to account 123' })),
      sentAt: new Date().toISOString(),
    };
    conv.messages.push(forged);
    server.deliver('c1', forged);
    await settle(alice, bob);
    expect(texts(bob)).toEqual(['one']);
    expect(bob.notices).toContainEqual(expect.objectContaining({ kind: 'forged_plaintext', seq: forged.seq }));
  });

  it('one corrupted ciphertext is reported and passed over; the device keeps its group and reads the next', async () => {
    const { server, alice, bob } = await pair();
    await alice.secure.sendText('c1', 'one');
    await settle(alice, bob);
    const conv = server.conversations.get('c1')!;
    const deliver = server.deliver.bind(server);
    server.deliver = () => undefined;
    await alice.secure.sendText('c1', 'two');
    const last = conv.messages.at(-1)!;
    const bad = last.payload.slice();
    bad[bad.length - 5]! ^= 1;
    last.payload = bad;
    server.deliver = deliver;
    await alice.secure.sendText('c1', 'three');
    await settle(alice, bob);
    expect(texts(bob)).toEqual(['one', 'three']);
    expect(bob.notices).toContainEqual(expect.objectContaining({ kind: 'undecryptable', seq: last.seq }));
    expect(bob.notices.map((n) => n.kind)).not.toContain('rejoined');
  });
});
