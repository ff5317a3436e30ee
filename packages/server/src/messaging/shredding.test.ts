import { expect, it } from 'vitest';
import { deleteUser, updateProfile } from '../auth/index.js';
import { aadOf, EnvelopeSealer, KeyDestroyedError, payloadAad } from '../keys/index.js';
import { testDeps } from '../test-support/deps.js';
import { makeUsers, uniqueName } from '../test-support/users.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { createGroup, deleteConversation, listConversations, sendMessage } from './index.js';

withAllStores('crypto-shredding: deleting a conversation or a user destroys its data key', (h) => {
  it('a deleted group: rows gone, key destroyed, and a copy of its rows taken before (an old backup) never opens again', async () => {
    const deps = await testDeps(h.get());
    const [owner, member] = await makeUsers(deps.auth, [uniqueName('o'), uniqueName('m')]);
    const id = await createGroup(deps.messaging, owner!, 'Project Nightjar', [member!.username], 'launch plans');
    await sendMessage(deps.messaging, owner!, {
      conversationId: id,
      clientMsgId: 'shred-1',
      payload: Buffer.from('the launch code is 1234'),
    });
    // The "old backup": the sealed rows as they were.
    const backup = {
      conv: await h.get().db.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
      msg: await h
        .get()
        .db.selectFrom('messages')
        .selectAll()
        .where('conversation_id', '=', id)
        .executeTakeFirstOrThrow(),
    };
    await expect(deleteConversation(deps.messaging, member!, id)).rejects.toMatchObject({ code: 'forbidden' });
    const r = await deleteConversation(deps.messaging, owner!, id);
    expect(r.members.sort()).toEqual([owner!.userId, member!.userId].sort());
    expect(await listConversations(deps.messaging, member!)).toEqual([]);
    expect(await h.get().db.selectFrom('messages').select('seq').where('conversation_id', '=', id).execute()).toEqual(
      [],
    );
    const keys = await h
      .get()
      .db.selectFrom('data_keys')
      .selectAll()
      .where('scope', '=', `conversation:${id}`)
      .execute();
    expect(keys.length).toBeGreaterThanOrEqual(1);
    for (const k of keys) expect(k).toMatchObject({ wrapped: '', destroyed_at: expect.any(Number) });
    // Even a fresh process with the KMS cannot open the backup's values: the data key is gone.
    const fresh = new EnvelopeSealer(h.get().db, deps.kms, deps.clock);
    await expect(fresh.openText(backup.conv.name!, aadOf('conversations', 'name', id))).rejects.toBeInstanceOf(
      KeyDestroyedError,
    );
    await expect(
      fresh.unsealBytes(backup.msg.payload, payloadAad(id, owner!.userId, 'shred-1')),
    ).rejects.toBeInstanceOf(KeyDestroyedError);
    await expect(
      deps.auth.sealer.openText(backup.conv.topic!, aadOf('conversations', 'topic', id)),
    ).rejects.toBeInstanceOf(KeyDestroyedError);
  });

  it('a deleted user: sessions end, name freed, and display name, e-mail and device names are unreadable for good', async () => {
    const deps = await testDeps(h.get());
    const [admin, gone] = await makeUsers(deps.auth, [uniqueName('a'), uniqueName('g')]);
    await updateProfile(deps.auth, gone!, { displayName: 'Gone Gina', email: `${gone!.username}@example.test` });
    const before = await h
      .get()
      .db.selectFrom('users')
      .selectAll()
      .where('id', '=', gone!.userId)
      .executeTakeFirstOrThrow();
    const device = await h
      .get()
      .db.selectFrom('devices')
      .selectAll()
      .where('user_id', '=', gone!.userId)
      .executeTakeFirstOrThrow();
    await expect(deleteUser(deps.auth, { ...admin!, strongAuthAt: null }, gone!.userId, null)).rejects.toMatchObject({
      code: 'step_up_required',
    });
    await deleteUser(deps.auth, { ...admin!, strongAuthAt: deps.clock.now() }, gone!.userId, null);
    const after = await h
      .get()
      .db.selectFrom('users')
      .selectAll()
      .where('id', '=', gone!.userId)
      .executeTakeFirstOrThrow();
    expect(after).toMatchObject({
      display_name: null,
      email: null,
      email_index: null,
      disabled_at: expect.any(Number),
    });
    expect(after.username).toMatch(/^deleted\./);
    expect(
      await h
        .get()
        .db.selectFrom('sessions')
        .select('id')
        .where('user_id', '=', gone!.userId)
        .where('revoked_at', 'is', null)
        .execute(),
    ).toEqual([]);
    await expect(
      deps.auth.sealer.openText(before.display_name!, aadOf('users', 'display_name', gone!.userId)),
    ).rejects.toBeInstanceOf(KeyDestroyedError);
    await expect(
      deps.auth.sealer.openText(before.email!, aadOf('users', 'email', gone!.userId)),
    ).rejects.toBeInstanceOf(KeyDestroyedError);
    await expect(deps.auth.sealer.openText(device.name, aadOf('devices', 'name', device.id))).rejects.toBeInstanceOf(
      KeyDestroyedError,
    );
  });
});
