import { describe, expect, it } from 'vitest';
import type { MlsCommitRequest } from '@palisade/protocol';
import { revokeDevice } from '../auth/index.js';
import { FakeClock, type DomainEvent } from '../core/index.js';
import {
  createGroup,
  deleteConversation,
  listMessages,
  openDirect,
  removeMember,
  sendMessage,
} from '../messaging/index.js';
import { testDeps } from '../test-support/deps.js';
import {
  b64u,
  makeKeyPackage,
  mlsSecondDevice,
  mlsUsers,
  TestGroup,
  type MlsDevice,
  type TestCommit,
} from '../test-support/mls-fixture.js';
import { rejectionOf } from '../test-support/rejection.js';
import { uniqueName } from '../test-support/users.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { deleteWelcome, groupInfo, groupStatus, listWelcomes, submitCommit } from './index.js';

const SUITE = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519' as const;

/** The commit route's body for a commit made by the fixture. */
function body(c: TestCommit, epoch: number, added: string[], removed: string[] = [], create = false): MlsCommitRequest {
  return {
    epoch,
    commit: b64u(c.commit),
    ...(c.welcome ? { welcome: b64u(c.welcome) } : {}),
    groupInfo: b64u(c.groupInfo),
    added,
    removed,
    ...(create ? { suite: SUITE } : {}),
  };
}

withAllStores('e2ee: MLS groups, commits and the send gate', (h) => {
  /** Alice and Bob in a direct conversation; Alice's device creates the group and adds Bob's. */
  const setup = async () => {
    const deps = await testDeps(h.get(), new FakeClock(Date.now()), { e2eeRequired: true });
    const [a, b] = (await mlsUsers(deps.auth, [uniqueName('ca'), uniqueName('cb')])) as [MlsDevice, MlsDevice];
    const conv = (await openDirect(deps.messaging, a.principal, b.principal.username)).id;
    const group = await TestGroup.create(a, conv);
    const bkp = await makeKeyPackage(b);
    const c = await group.commit([bkp.publicPackage]);
    const res = await submitCommit(deps.e2ee, a.principal, conv, body(c, 0, [b.principal.deviceId], [], true));
    group.state = c.next;
    return { deps, a, b, conv, group, res };
  };
  const send = (
    deps: Awaited<ReturnType<typeof setup>>['deps'],
    dev: MlsDevice,
    conv: string,
    id: string,
    p: Uint8Array,
  ) => sendMessage(deps.messaging, dev.principal, { conversationId: conv, clientMsgId: id, payload: p });

  it('creates the group at epoch 0: the commit is message seq 1 of kind commit, the roster is declared', async () => {
    const { deps, a, b, conv, res } = await setup();
    expect(res).toEqual({ seq: 1, epoch: 1 });
    const st = await groupStatus(deps.e2ee, b.principal, conv);
    expect(st.epoch).toBe(1);
    expect(st.suite).toBe(SUITE);
    expect(Buffer.from(st.groupId ?? '', 'base64url').toString()).toBe(`palisade:${conv}`);
    expect(st.inGroup.sort()).toEqual([a.principal.deviceId, b.principal.deviceId].sort());
    expect(st.missing).toEqual([]);
    expect(st.stale).toEqual([]);
    const [m] = await listMessages(deps.messaging, a.principal, conv, 0, 10);
    expect(m).toMatchObject({ seq: 1, kind: 'commit', senderDeviceId: a.principal.deviceId });
    const audit = await h.get().db.selectFrom('audit_log').select('action').where('target', '=', conv).execute();
    expect(audit.map((r) => r.action)).toContain('mls.commit');
    expect((await groupInfo(deps.e2ee, b.principal, conv)).epoch).toBe(1);
  });

  it('stores the Welcome only for the added device, and only it can list and delete it', async () => {
    const { deps, a, b, conv } = await setup();
    expect(await listWelcomes(deps.e2ee, a.principal)).toEqual([]);
    const [w] = await listWelcomes(deps.e2ee, b.principal);
    expect(w).toMatchObject({ conversationId: conv, seq: 1 });
    const pushed = deps.events.filter((e): e is DomainEvent<'mls.welcomes_stored'> => e.type === 'mls.welcomes_stored');
    expect(pushed.map((e) => e.data.welcomes.map((x) => x.deviceId))).toEqual([[b.principal.deviceId]]);
    expect(pushed[0]?.data.welcome).toBe(w?.welcome);
    expect((await rejectionOf(deleteWelcome(deps.e2ee, a.principal, w!.id))).code).toBe('not_found');
    await deleteWelcome(deps.e2ee, b.principal, w!.id);
    expect(await listWelcomes(deps.e2ee, b.principal)).toEqual([]);
  });

  it('accepts an application message of the current epoch; refuses an old epoch and non-MLS payloads', async () => {
    const { deps, a, conv, group } = await setup();
    const ok = await send(deps, a, conv, 'm1', await group.message('hello'));
    expect(ok).toEqual({ seq: 2, duplicate: false });
    const [, m] = await listMessages(deps.messaging, a.principal, conv, 0, 10);
    expect(m?.kind).toBe('mls');
    // The commit to epoch 2 wins; a message made at epoch 1 is then refused with the current epoch.
    const old = await group.message('late');
    const c = await group.commit();
    await submitCommit(deps.e2ee, a.principal, conv, body(c, 1, []));
    const e = await rejectionOf(send(deps, a, conv, 'm2', old));
    expect(e.code).toBe('epoch_conflict');
    expect(e.details).toEqual({ currentEpoch: 2 });
    expect((await rejectionOf(send(deps, a, conv, 'm3', new TextEncoder().encode('plain text')))).code).toBe(
      'e2ee_required',
    );
    // A retry of the message stored at epoch 1 still answers its first seq (idempotency kept).
    group.state = c.next;
    expect(await send(deps, a, conv, 'm1', await group.message('retry'))).toEqual({ seq: 2, duplicate: true });
    // Refusals gave their sequence numbers back: the next message follows without a gap.
    expect((await send(deps, a, conv, 'm4', await group.message('next'))).seq).toBe(4);
  });

  it('refuses a send before the group exists with e2ee_required', async () => {
    const deps = await testDeps(h.get(), new FakeClock(Date.now()), { e2eeRequired: true });
    const [a, b] = (await mlsUsers(deps.auth, [uniqueName('na'), uniqueName('nb')])) as [MlsDevice, MlsDevice];
    const conv = (await openDirect(deps.messaging, a.principal, b.principal.username)).id;
    const lone = await TestGroup.create(a, conv);
    expect((await rejectionOf(send(deps, a, conv, 'x', await lone.message('hi')))).code).toBe('e2ee_required');
  });

  it('roster_stale after a device is revoked, cleared by a commit removing it', async () => {
    const { deps, a, b, conv, group } = await setup();
    const b2 = await mlsSecondDevice(deps.auth, b);
    expect((await groupStatus(deps.e2ee, a.principal, conv)).missing).toEqual([b2.principal.deviceId]);
    await revokeDevice(deps.auth, b2.principal, b.principal.deviceId, { any: false });
    const st = await groupStatus(deps.e2ee, a.principal, conv);
    expect(st.stale).toEqual([b.principal.deviceId]);
    expect((await rejectionOf(send(deps, a, conv, 's1', await group.message('x')))).code).toBe('roster_stale');
    const c = await group.commit([], [b.signPublic]);
    await submitCommit(deps.e2ee, a.principal, conv, body(c, 1, [], [b.principal.deviceId]));
    group.state = c.next;
    expect((await groupStatus(deps.e2ee, a.principal, conv)).stale).toEqual([]);
    expect((await send(deps, a, conv, 's2', await group.message('y'))).seq).toBeGreaterThan(0);
  });

  it('roster_stale after a member leaves a group', async () => {
    const deps = await testDeps(h.get(), new FakeClock(Date.now()), { e2eeRequired: true });
    const [a, b] = (await mlsUsers(deps.auth, [uniqueName('ga'), uniqueName('gb')])) as [MlsDevice, MlsDevice];
    const conv = await createGroup(deps.messaging, a.principal, 'g', [b.principal.username]);
    const group = await TestGroup.create(a, conv);
    const c = await group.commit([(await makeKeyPackage(b)).publicPackage]);
    await submitCommit(deps.e2ee, a.principal, conv, body(c, 0, [b.principal.deviceId], [], true));
    group.state = c.next;
    await removeMember(deps.messaging, b.principal, conv, b.principal.userId);
    expect((await rejectionOf(send(deps, a, conv, 'l1', await group.message('x')))).code).toBe('roster_stale');
  });

  it('a member device joins by external commit through the stored GroupInfo; others must be in the group', async () => {
    const { deps, a, b, conv, group } = await setup();
    const b2 = await mlsSecondDevice(deps.auth, b);
    const gi = await groupInfo(deps.e2ee, b2.principal, conv);
    const { group: joined, commit } = await TestGroup.joinExternal(b2, Buffer.from(gi.groupInfo, 'base64url'));
    // Not marked external, it is refused; a plain commit from a device outside the group is refused too.
    expect((await rejectionOf(submitCommit(deps.e2ee, b2.principal, conv, body(commit, 1, [])))).code).toBe(
      'invalid_mls_message',
    );
    const outsider = await group.commit();
    expect((await rejectionOf(submitCommit(deps.e2ee, b2.principal, conv, body(outsider, 1, [])))).code).toBe(
      'forbidden',
    );
    const r = await submitCommit(deps.e2ee, b2.principal, conv, { ...body(commit, 1, []), external: true });
    expect(r.epoch).toBe(2);
    const st = await groupStatus(deps.e2ee, a.principal, conv);
    expect(st.inGroup.sort()).toEqual([a.principal.deviceId, b.principal.deviceId, b2.principal.deviceId].sort());
    expect(st.missing).toEqual([]);
    // The joined device can send at the new epoch.
    expect((await send(deps, b2, conv, 'x1', await joined.message('hi'))).seq).toBe(r.seq + 1);
  });

  it('deleting a group deletes its MLS group, roster and Welcomes', async () => {
    const deps = await testDeps(h.get(), new FakeClock(Date.now()), { e2eeRequired: true });
    const [a, b] = (await mlsUsers(deps.auth, [uniqueName('da'), uniqueName('db')])) as [MlsDevice, MlsDevice];
    const conv = await createGroup(deps.messaging, a.principal, 'g', [b.principal.username]);
    const group = await TestGroup.create(a, conv);
    const c = await group.commit([(await makeKeyPackage(b)).publicPackage]);
    await submitCommit(deps.e2ee, a.principal, conv, body(c, 0, [b.principal.deviceId], [], true));
    await deleteConversation(deps.messaging, a.principal, conv);
    for (const t of ['mls_groups', 'mls_group_devices', 'mls_welcomes'] as const)
      expect(await h.get().db.selectFrom(t).selectAll().where('conversation_id', '=', conv).execute()).toEqual([]);
  });

  it('refuses adding a device that is not entitled, commits for another group, and a missing suite on creation', async () => {
    const deps = await testDeps(h.get(), new FakeClock(Date.now()), { e2eeRequired: true });
    const [a, b, c] = await mlsUsers(deps.auth, [uniqueName('ea'), uniqueName('eb'), uniqueName('ec')]);
    const conv = (await openDirect(deps.messaging, a!.principal, b!.principal.username)).id;
    const other = (await openDirect(deps.messaging, a!.principal, c!.principal.username)).id;
    const group = await TestGroup.create(a!, conv);
    const add = await group.commit([(await makeKeyPackage(c!)).publicPackage]);
    const notEntitled = await rejectionOf(
      submitCommit(deps.e2ee, a!.principal, conv, body(add, 0, [c!.principal.deviceId], [], true)),
    );
    expect(notEntitled.code).toBe('device_not_entitled');
    const plain = await group.commit();
    expect((await rejectionOf(submitCommit(deps.e2ee, a!.principal, other, body(plain, 0, [], [], true)))).code).toBe(
      'invalid_mls_message',
    );
    expect((await rejectionOf(submitCommit(deps.e2ee, a!.principal, conv, body(plain, 0, [])))).code).toBe(
      'invalid_mls_message',
    );
    expect((await rejectionOf(submitCommit(deps.e2ee, a!.principal, conv, body(plain, 3, [], [], true)))).code).toBe(
      'invalid_mls_message',
    );
    // Nothing of the refused commits was stored.
    expect((await groupStatus(deps.e2ee, a!.principal, conv)).epoch).toBeNull();
    expect(await listMessages(deps.messaging, a!.principal, conv, 0, 10)).toEqual([]);
  });

  describe('concurrency', () => {
    it('two concurrent commits at one epoch: exactly one wins, the other gets epoch_conflict with currentEpoch', async () => {
      const { deps, a, conv, group } = await setup();
      const [c1, c2] = [await group.commit(), await group.commit()];
      const outcomes = await Promise.allSettled([
        submitCommit(deps.e2ee, a.principal, conv, body(c1, 1, [])),
        submitCommit(deps.e2ee, a.principal, conv, body(c2, 1, [])),
      ]);
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(won[0]).toMatchObject({ value: { seq: 2, epoch: 2 } });
      expect(lost).toHaveLength(1);
      expect(lost[0]?.reason).toMatchObject({ code: 'epoch_conflict', details: { currentEpoch: 2 } });
      const msgs = await listMessages(deps.messaging, a.principal, conv, 0, 10);
      expect(msgs.map((m) => [m.seq, m.kind])).toEqual([
        [1, 'commit'],
        [2, 'commit'],
      ]);
    });

    it('two concurrent creations of a group: exactly one wins', async () => {
      const deps = await testDeps(h.get(), new FakeClock(Date.now()), { e2eeRequired: true });
      const [a, b] = (await mlsUsers(deps.auth, [uniqueName('ra'), uniqueName('rb')])) as [MlsDevice, MlsDevice];
      const conv = (await openDirect(deps.messaging, a.principal, b.principal.username)).id;
      const ga = await (await TestGroup.create(a, conv)).commit();
      const gb = await (await TestGroup.create(b, conv)).commit();
      const outcomes = await Promise.allSettled([
        submitCommit(deps.e2ee, a.principal, conv, body(ga, 0, [], [], true)),
        submitCommit(deps.e2ee, b.principal, conv, body(gb, 0, [], [], true)),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const lost = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(lost?.reason).toMatchObject({ code: 'epoch_conflict', details: { currentEpoch: 1 } });
    });
  });
});
