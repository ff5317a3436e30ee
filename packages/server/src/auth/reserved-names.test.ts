import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OidcRelyingParty } from '../crypto/index.js';
import { startTestIdp } from '../test-support/oidc-idp.js';
import { testDeps } from '../test-support/deps.js';
import { makeUsers, PASS, uniqueName } from '../test-support/users.js';
import { finishSsoInBrowser } from '../test-support/sso-browser.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { createInvite, deleteUser, enrol, startSso } from './index.js';
import { reservedPrefixOf, unreservedUsername } from './reserved-names.js';

withAllStores('deleting a user whose old tombstone name is squatted (S13)', (h) => {
  it('S13: a user is deletable even when deleted.<first 16 of its id> is taken (data from before the reservation)', async () => {
    const deps = await testDeps(h.get());
    const [admin, victim] = await makeUsers(deps.auth, [uniqueName('a'), uniqueName('v')]);
    // A squatter enrolled before the fix, under the name the old code gave a deleted victim.
    const token = (await createInvite(deps.auth, null, { role: 'member', ttlHours: 1 })).token;
    const { userId: squatterId } = await enrol(
      deps.auth,
      { token, username: uniqueName('sq'), password: PASS },
      '10.9.9.9',
    );
    await h
      .get()
      .db.updateTable('users')
      .set({ username: `deleted.${victim!.userId.slice(0, 16)}` })
      .where('id', '=', squatterId)
      .execute();
    await deleteUser(deps.auth, { ...admin!, strongAuthAt: deps.clock.now() }, victim!.userId, null);
    const row = await h
      .get()
      .db.selectFrom('users')
      .select('username')
      .where('id', '=', victim!.userId)
      .executeTakeFirstOrThrow();
    expect(row.username.startsWith(`deleted.${victim!.userId}.`)).toBe(true);
    const keys = await h
      .get()
      .db.selectFrom('data_keys')
      .select('destroyed_at')
      .where('scope', '=', `user:${victim!.userId}`)
      .execute();
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k.destroyed_at).not.toBeNull();
    // Deleting again (e.g. to finish after a crash) also works: a new random suffix, no collision.
    await deleteUser(deps.auth, { ...admin!, strongAuthAt: deps.clock.now() }, victim!.userId, null);
  });

  it('S13: enrolment refuses a reserved name before anything is created', async () => {
    const deps = await testDeps(h.get());
    const count = async () =>
      Number(
        (
          await h
            .get()
            .db.selectFrom('data_keys')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await count();
    for (const username of ['bot.alerts', 'deleted.0123456789abcdef', 'admin-ops']) {
      const token = (await createInvite(deps.auth, null, { role: 'member', ttlHours: 1 })).token;
      await expect(enrol(deps.auth, { token, username, password: PASS }, '10.9.9.8')).rejects.toMatchObject({
        code: 'username_reserved',
      });
    }
    expect(await count()).toBe(before);
  });
});

describe('reserved user names (S13)', () => {
  it('S13: bot., deleted. and admin are reserved, with cheap look-alikes; other names are not', () => {
    for (const name of [
      'bot.alerts',
      'b0t.alerts',
      'bot-alerts',
      'bot_alerts',
      'deleted.0123456789abcdef',
      'de1eted.x',
      'deieted.x',
      'admin',
      'administrator',
      'adm1n',
      'admln-2',
    ]) {
      expect(reservedPrefixOf(name), name).toBeDefined();
    }
    for (const name of [
      'robot.alerts',
      'bottle',
      'botanist',
      'deleter',
      'deleted',
      'admiral',
      'ad.min',
      'alice',
      'madmin',
    ])
      expect(reservedPrefixOf(name), name).toBeUndefined();
    // The first account, made with the operator's bootstrap token, may be called admin.
    expect(reservedPrefixOf('admin', { bootstrap: true })).toBeUndefined();
    expect(reservedPrefixOf('bot.x', { bootstrap: true })).toBe('bot.');
  });

  it("S13: an identity provider's reserved name is moved out of the way at just-in-time provisioning", () => {
    expect(unreservedUsername('bot.alerts')).toBe('user-bot.alerts');
    expect(unreservedUsername('deleted.0123456789abcdef01')).toBe('user-deleted.0123456789a');
    expect(reservedPrefixOf(unreservedUsername('admin'))).toBeUndefined();
    expect(unreservedUsername('mona')).toBe('mona');
  });
});

const REDIRECT = 'https://localhost:8443/v1/sso/callback';
let idp: Awaited<ReturnType<typeof startTestIdp>>;
beforeAll(async () => {
  idp = await startTestIdp(REDIRECT);
});
afterAll(async () => idp?.close());

withAllStores('just-in-time SSO accounts and reserved names (S13)', (h) => {
  it('S13: an IdP preferred_username of bot.alerts or deleted.<id> is not kept as is', async () => {
    const deps = await testDeps(h.get());
    deps.auth.sso = {
      client: new OidcRelyingParty({
        issuer: idp.issuer,
        clientId: 'palisade',
        clientSecret: 'palisade-secret-0123456789abcdef',
        redirectUri: REDIRECT,
        scopes: ['openid', 'email', 'profile'],
      }),
      issuer: idp.issuer,
      redirectUri: REDIRECT,
      roleClaim: 'groups',
      roleMapping: {},
      requireMfa: false,
      mfaAcrValues: [],
    };
    const publicKey = (generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) as { x: string }).x;
    for (const preferred of ['bot.alerts', `deleted.${'0123456789abcdef'}`]) {
      const sub = `sub-${uniqueName('jit')}`;
      idp.state.next = { sub, claims: { preferred_username: preferred }, amr: ['pwd', 'otp'] };
      const start = await startSso(deps.auth, { publicKey, name: 'laptop', platform: 'linux' }, '10.4.4.4');
      await finishSsoInBrowser(deps.auth, start, '10.4.4.4', REDIRECT);
      const link = await h
        .get()
        .db.selectFrom('external_identities')
        .select('user_id')
        .where('subject', '=', sub)
        .executeTakeFirstOrThrow();
      const user = await h
        .get()
        .db.selectFrom('users')
        .select('username')
        .where('id', '=', link.user_id)
        .executeTakeFirstOrThrow();
      expect(user.username.startsWith('user-')).toBe(true);
      expect(reservedPrefixOf(user.username)).toBeUndefined();
    }
  });
});
