import { KeyTransparency } from '@palisade/client';
import { decodeDeviceCredential } from '@palisade/protocol';
import { expect, it } from 'vitest';
import { createGroup } from '../messaging/index.js';
import { testDeps } from '../test-support/deps.js';
import { makeUsers, uniqueName } from '../test-support/users.js';
import { addDevice, raw, sourceOf } from '../test-support/transparency.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { currentHead, issueCredential, lookupDirectory, reportGossip, siblingHeads } from './index.js';

withAllStores('key directory and gossip', (h) => {
  it('the directory lists credentialed active devices of users sharing a conversation, nobody else', async () => {
    const { auth, messaging, transparency } = await testDeps(h.get());
    const [alice, bob, carol] = await makeUsers(auth, [uniqueName('kda'), uniqueName('kdb'), uniqueName('kdc')]);
    await createGroup(messaging, alice!, 'g', [bob!.username]);
    for (const p of [alice!, bob!, carol!]) await issueCredential(transparency, p, null);
    const bob2 = await addDevice(h.get().db, bob!);
    const bob3 = await addDevice(h.get().db, bob!); // no credential: not listed
    await issueCredential(transparency, bob2.principal, null);
    await h.get().db.updateTable('devices').set({ revoked_at: 1 }).where('id', '=', bob2.principal.deviceId).execute();
    const d = await lookupDirectory(transparency, alice!, [alice!.userId, bob!.userId, carol!.userId, 'nobody']);
    expect(d.users.map((u) => u.userId).sort()).toEqual([alice!.userId, bob!.userId].sort());
    const bobs = d.users.find((u) => u.userId === bob!.userId)!;
    expect(bobs.username).toBe(bob!.username);
    expect(bobs.devices.map((x) => x.deviceId)).toEqual([bob!.deviceId]);
    expect(bobs.devices.map((x) => x.deviceId)).not.toContain(bob3.principal.deviceId);
    const client = new KeyTransparency(sourceOf(transparency));
    const dev = bobs.devices[0]!;
    const cred = decodeDeviceCredential(raw(dev.credential));
    await expect(
      client.verifyCredential(raw(dev.credential), cred.ok ? cred.value.signatureKey : '', dev.leafIndex),
    ).resolves.toMatchObject({ userId: bob!.userId });
    expect((await lookupDirectory(transparency, carol!, [alice!.userId])).users).toEqual([]);
  });

  it('gossip: stores signed reports, shows them to the other devices only, refuses forgeries', async () => {
    const { auth, transparency } = await testDeps(h.get());
    const [p] = await makeUsers(auth, [uniqueName('ktg')]);
    const a = await addDevice(h.get().db, p!);
    const b = await addDevice(h.get().db, p!);
    const head = await currentHead(transparency);
    await reportGossip(transparency, a.principal, { head, signature: a.key.signGossip(head) });
    const seenByB = await siblingHeads(transparency, b.principal);
    expect(seenByB).toHaveLength(1);
    expect(seenByB[0]).toMatchObject({ deviceId: a.principal.deviceId, head, signature: a.key.signGossip(head) });
    expect(await siblingHeads(transparency, a.principal)).toEqual([]);
    // B's client checks A's report with A's key.
    const client = new KeyTransparency(sourceOf(transparency));
    await client.checkGossip(seenByB.map((g) => ({ ...g, publicKey: a.key.publicKey })));
    await expect(
      reportGossip(transparency, b.principal, { head, signature: a.key.signGossip(head) }),
    ).rejects.toMatchObject({ code: 'gossip_signature_invalid' });
    const forged = { ...head, treeSize: head.treeSize + 1 };
    await expect(
      reportGossip(transparency, b.principal, { head: forged, signature: b.key.signGossip(forged) }),
    ).rejects.toMatchObject({ code: 'gossip_signature_invalid' });
    await h.get().db.updateTable('devices').set({ revoked_at: 1 }).where('id', '=', a.principal.deviceId).execute();
    expect(await siblingHeads(transparency, b.principal)).toEqual([]);
  });
});
