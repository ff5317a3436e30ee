import { expect, it } from 'vitest';
import { silentLogger } from '../core/index.js';
import { installAuditFailure } from '../test-support/audit-failure.js';
import { testDeps } from '../test-support/deps.js';
import { makeUsers, uniqueName } from '../test-support/users.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { addMember, createGroup, Outbox, removeMember } from './index.js';

withAllStores('conversation.members_changed is a reliable event (outbox, same transaction)', (h) => {
  const setup = async () => {
    const deps = await testDeps(h.get());
    const names = [uniqueName('own'), uniqueName('mem'), uniqueName('new')];
    const users = await makeUsers(deps.auth, names);
    const fault = await installAuditFailure(h);
    const outboxRows = async (conversationId: string) =>
      (await h.get().db.selectFrom('outbox').selectAll().where('type', '=', 'conversation.members_changed').execute())
        .map((r) => JSON.parse(r.data) as { conversationId: string; added: string[]; removed: string[] })
        .filter((d) => d.conversationId === conversationId);
    const members = async (conversationId: string) =>
      (await h.get().db.selectFrom('members').select('user_id').where('conversation_id', '=', conversationId).execute())
        .map((m) => m.user_id)
        .sort();
    return { deps, users, names, fault, outboxRows, members };
  };

  it('writes the event with the membership change and publishes it after commit; a crash before publishing replays it at start', async () => {
    const { deps, users, names, outboxRows } = await setup();
    const g = await createGroup(deps.messaging, users[0]!, 'team', [names[1]!]);
    expect(deps.events).toContainEqual(
      expect.objectContaining({
        type: 'conversation.members_changed',
        data: expect.objectContaining({ conversationId: g, removed: [] }),
      }),
    );
    // A process that dies after COMMIT and before publishing: the rows are all that is left.
    const crashing = new (class extends Outbox {
      override published(): void {}
    })(h.get().db, deps.bus, silentLogger, () => deps.clock.now());
    const crashed = { ...deps.messaging, outbox: crashing };
    await addMember(crashed, users[0]!, g, names[2]!, 'member');
    await removeMember(crashed, users[0]!, g, users[1]!.userId);
    const ofG = () =>
      deps.events.filter(
        (e) => e.type === 'conversation.members_changed' && (e.data as { conversationId: string }).conversationId === g,
      );
    deps.events.length = 0;
    expect(await outboxRows(g)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ added: [users[2]!.userId], removed: [] }),
        expect.objectContaining({ added: [], removed: [users[1]!.userId] }),
      ]),
    );
    expect(ofG()).toHaveLength(0);
    await deps.messaging.outbox.recover();
    expect(ofG().map((e) => e.data)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ added: [users[2]!.userId] }),
        expect.objectContaining({ removed: [users[1]!.userId] }),
      ]),
    );
    expect(await outboxRows(g)).toHaveLength(0);
  });

  it('a failing audit insert leaves neither the membership change nor its event', async () => {
    const { deps, users, names, fault, outboxRows, members } = await setup();
    const g = await createGroup(deps.messaging, users[0]!, 'team', [names[1]!]);
    await deps.messaging.outbox.flush();
    deps.events.length = 0;
    const before = await members(g);
    await fault.arm('member.added');
    await expect(addMember(deps.messaging, users[0]!, g, names[2]!, 'member')).rejects.toThrow(
      /injected audit failure/,
    );
    await fault.arm('member.removed');
    await expect(removeMember(deps.messaging, users[0]!, g, users[1]!.userId)).rejects.toThrow(
      /injected audit failure/,
    );
    expect(await members(g)).toEqual(before);
    expect(await outboxRows(g)).toHaveLength(0);
    expect(deps.events.filter((e) => e.type === 'conversation.members_changed')).toHaveLength(0);
    await fault.disarm();
  });
});
