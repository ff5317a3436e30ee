import { expect, it } from 'vitest';
import type { Principal } from '../core/index.js';
import { addMember, createGroup, listConversations, listMessages, sendMessage } from '../messaging/index.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { testDeps } from '../test-support/deps.js';
import { makeUsers, uniqueName } from '../test-support/users.js';
import { auditRecords } from '../test-support/audit.js';
import {
  authenticateServiceToken,
  createServiceAccount,
  issueServiceToken,
  listServiceAccounts,
  revokeServiceToken,
} from './index.js';

const bytes = (s: string) => new TextEncoder().encode(s);

withAllStores('service accounts', (h) => {
  const setup = async () => {
    const deps = await testDeps(h.get());
    const [admin] = await makeUsers(deps.auth, [uniqueName('sa')], ['org_admin', 'security_admin']);
    const stepped: Principal = { ...admin!, strongAuthAt: deps.clock.now() };
    const svc = await createServiceAccount(deps.auth, stepped, uniqueName('bot').replace('.', ''));
    return { deps, admin: stepped, svc };
  };

  it('issues tokens only after a step-up, with mandatory scopes and expiry; every use is audited', async () => {
    const { deps, admin, svc } = await setup();
    const req = {
      scopes: [{ action: 'message.send' as const, conversations: '*' as const }],
      expiresInDays: 30,
      ratePerMinute: 60,
    };
    await expect(issueServiceToken(deps.auth, { ...admin, strongAuthAt: null }, svc.id, req)).rejects.toMatchObject({
      code: 'step_up_required',
    });
    const t = await issueServiceToken(deps.auth, admin, svc.id, req);
    expect(t.token.startsWith('svc_')).toBe(true);
    const stored = await h
      .get()
      .db.selectFrom('service_tokens')
      .select('token_hash')
      .where('id', '=', t.id)
      .executeTakeFirstOrThrow();
    expect(stored.token_hash).not.toContain(t.token.slice(4));
    const p = await authenticateServiceToken(deps.auth, t.token, '10.0.0.1');
    expect(p).toMatchObject({ userId: svc.id, roles: ['service'], scopes: req.scopes });
    const used = await auditRecords(h.get().db, deps.auth.sealer, { target: t.id, action: 'service_token.used' });
    expect(used.map((u) => [u.action, u.address])).toEqual([['service_token.used', '10.0.0.1']]);
    deps.clock.advance(30 * 86_400_000);
    await expect(authenticateServiceToken(deps.auth, t.token, '10.0.0.1')).rejects.toMatchObject({
      code: 'session_invalid',
    });
  });

  it('rotates without downtime, refuses revoked tokens and addresses off the allowlist, and rate-limits each token', async () => {
    const { deps, admin, svc } = await setup();
    const base = { scopes: [{ action: 'conversation.read' as const, conversations: '*' as const }], expiresInDays: 7 };
    const old = await issueServiceToken(deps.auth, admin, svc.id, { ...base, ratePerMinute: 60 });
    const fresh = await issueServiceToken(deps.auth, admin, svc.id, {
      ...base,
      ratePerMinute: 3,
      allowedAddresses: ['10.1.1.1'],
    });
    await authenticateServiceToken(deps.auth, old.token, '192.0.2.1');
    await revokeServiceToken(deps.auth, admin, svc.id, old.id);
    await expect(authenticateServiceToken(deps.auth, old.token, '192.0.2.1')).rejects.toMatchObject({
      code: 'session_invalid',
    });
    await expect(authenticateServiceToken(deps.auth, fresh.token, '192.0.2.1')).rejects.toMatchObject({
      code: 'session_invalid',
    });
    for (let i = 0; i < 3; i++) await authenticateServiceToken(deps.auth, fresh.token, '10.1.1.1');
    await expect(authenticateServiceToken(deps.auth, fresh.token, '10.1.1.1')).rejects.toMatchObject({
      code: 'rate_limited',
    });
    const listed = (await listServiceAccounts(deps.auth)).find((a) => a.id === svc.id);
    expect(listed?.tokens.map((t) => t.state).sort()).toEqual(['active', 'revoked']);
  });

  it('acts only within its scopes, on top of membership', async () => {
    const { deps, admin, svc } = await setup();
    const a = await createGroup(deps.messaging, admin, 'alpha', []);
    const b = await createGroup(deps.messaging, admin, 'beta', []);
    const c = await createGroup(deps.messaging, admin, 'gamma', []);
    for (const g of [a, b]) await addMember(deps.messaging, admin, g, svc.username, 'member');
    const t = await issueServiceToken(deps.auth, admin, svc.id, {
      scopes: [
        { action: 'message.send', conversations: [a, c] },
        { action: 'conversation.read', conversations: [b] },
      ],
      expiresInDays: 1,
      ratePerMinute: 600,
    });
    const bot = await authenticateServiceToken(deps.auth, t.token, '10.0.0.2');
    await expect(
      sendMessage(deps.messaging, bot, { conversationId: a, clientMsgId: 'x1', payload: bytes('hi') }),
    ).resolves.toMatchObject({ seq: 1 });
    await expect(
      sendMessage(deps.messaging, bot, { conversationId: b, clientMsgId: 'x2', payload: bytes('hi') }),
    ).rejects.toMatchObject({ code: 'forbidden' });
    await expect(
      sendMessage(deps.messaging, bot, { conversationId: c, clientMsgId: 'x3', payload: bytes('hi') }),
    ).rejects.toMatchObject({ code: 'not_found' }); // scoped but not a member
    await expect(listMessages(deps.messaging, bot, a, 0, 10)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(listMessages(deps.messaging, bot, b, 0, 10)).resolves.toEqual([]);
    expect((await listConversations(deps.messaging, bot)).map((x) => x.id)).toEqual([b]);
    await expect(addMember(deps.messaging, bot, a, admin.username, 'member')).rejects.toMatchObject({
      code: 'forbidden',
    });
  });
});
