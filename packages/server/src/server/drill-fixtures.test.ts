import { expect, it } from 'vitest';
import { authenticateServiceToken } from '../auth/index.js';
import { auditRecords } from '../test-support/audit.js';
import { testDeps } from '../test-support/deps.js';
import { makeUsers, uniqueName } from '../test-support/users.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { createGroup, listMessages } from '../messaging/index.js';
import { drillFixtures } from './drill-fixtures.js';

withAllStores('drill fixtures', (h) => {
  it('a scoped service token for the misuse step, disabled (audited) when the drill finishes', async () => {
    const deps = await testDeps(h.get());
    const fx = drillFixtures(deps.auth);
    const issued = await fx.serviceToken('drill_1');
    expect(issued.scopes).toEqual([{ action: 'conversation.read', conversations: [expect.any(String)] }]);
    const p = await authenticateServiceToken(deps.auth, issued.token, '198.51.100.60');
    expect(p.userId).toBe(issued.serviceUserId);
    expect(await fx.finish('drill_other')).toEqual([]);
    const disabled = await fx.finish('drill_1');
    expect(disabled).toEqual([expect.stringMatching(/^bot\.drill-/)]);
    await expect(authenticateServiceToken(deps.auth, issued.token, '198.51.100.60')).rejects.toBeTruthy();
    const rec = await auditRecords(deps.auth.db, deps.auth.sealer, {
      action: 'user.disabled',
      target: issued.serviceUserId,
    });
    expect(rec).toHaveLength(1);
    expect(rec[0]?.details).toMatchObject({ drill: 'drill_1', reason: 'drill clean-up' });
  });

  it('fills only a conversation a drill account owns alone, with opaque messages it can read back', async () => {
    const deps = await testDeps(h.get());
    const fx = drillFixtures(deps.auth, deps.messaging);
    const name = `drill-${uniqueName('f').slice(-8)}`;
    const [reader, other] = await makeUsers(deps.auth, [name, uniqueName('real')]);
    const own = await createGroup(deps.messaging, reader!, 'drill export', []);
    expect(await fx.fillConversation('drill_4', name, own, 30)).toBe(30);
    const read = await listMessages(deps.messaging, reader!, own, 0, 100);
    expect(read).toHaveLength(30);
    expect(read.every((m) => m.kind === 'mls' && m.payload.length === 64)).toBe(true);
    // A conversation with someone else in it, or another account's: refused.
    const shared = await createGroup(deps.messaging, reader!, 'shared', [other!.username]);
    await expect(fx.fillConversation('drill_4', name, shared, 1)).rejects.toMatchObject({ code: 'not_found' });
    const theirs = await createGroup(deps.messaging, other!, 'theirs', []);
    await expect(fx.fillConversation('drill_4', name, theirs, 1)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('disables only synthetic drill-* member accounts, once, ending their sessions', async () => {
    const deps = await testDeps(h.get());
    const fx = drillFixtures(deps.auth);
    const name = `drill-${uniqueName('t').slice(-8)}`;
    const [drillUser, other] = await makeUsers(deps.auth, [name, uniqueName('real')]);
    expect(await fx.disableAccount('drill_2', other!.username)).toBe(false);
    expect(await fx.disableAccount('drill_2', 'drill-nobody')).toBe(false);
    expect(await fx.disableAccount('drill_2', name)).toBe(true);
    expect(await fx.disableAccount('drill_2', name)).toBe(false);
    const row = await deps.auth.db
      .selectFrom('users')
      .select('disabled_at')
      .where('id', '=', drillUser!.userId)
      .executeTakeFirst();
    expect(row?.disabled_at).not.toBeNull();
    const live = await deps.auth.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', drillUser!.userId)
      .where('revoked_at', 'is', null)
      .execute();
    expect(live).toEqual([]);
    const otherRow = await deps.auth.db
      .selectFrom('users')
      .select('disabled_at')
      .where('id', '=', other!.userId)
      .executeTakeFirst();
    expect(otherRow?.disabled_at).toBeNull();
  });

  it('records the drill lifecycle in the audit log', async () => {
    const deps = await testDeps(h.get());
    await drillFixtures(deps.auth).audit('drill.started', 'drill_3', { scenario: 'all' });
    const rec = await auditRecords(deps.auth.db, deps.auth.sealer, { action: 'drill.started', target: 'drill_3' });
    expect(rec.map((r) => r.details)).toEqual([{ scenario: 'all' }]);
  });
});
