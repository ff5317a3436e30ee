import { expect, it } from 'vitest';
import { sha256Hex } from '../crypto/index.js';
import { testDeps } from '../test-support/deps.js';
import { loginAgain, makeUsers, uniqueName } from '../test-support/users.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { checkSessions, revokeSessions, touchSession } from './index.js';

withAllStores('session re-check', (h) => {
  it('S21: checkSessions reports valid, idle, expired and revoked sessions; touching never revives an idle one', async () => {
    const deps = await testDeps(h.get());
    const [u] = await makeUsers(deps.auth, [uniqueName('rc')]);
    const idOf = async (token: string) =>
      (
        await deps.auth.db
          .selectFrom('sessions')
          .select('id')
          .where('token_hash', '=', sha256Hex(token))
          .executeTakeFirstOrThrow()
      ).id;
    const a = await idOf((await loginAgain(deps.auth, u!)).token);
    const b = await idOf((await loginAgain(deps.auth, u!)).token);
    const r1 = await checkSessions(deps.auth, [a, b, 'nosuchsession']);
    expect(r1.get(a)).toMatchObject({ ok: true });
    expect(r1.get('nosuchsession')).toEqual({ ok: false, problem: 'revoked' });
    await revokeSessions(deps.auth, null, { sessionId: b }, null);
    deps.clock.advance(59 * 60_000);
    await touchSession(deps.auth, a); // activity within the idle limit counts
    deps.clock.advance(59 * 60_000);
    const r2 = await checkSessions(deps.auth, [a, b]);
    expect(r2.get(a)).toMatchObject({ ok: true });
    expect(r2.get(b)).toEqual({ ok: false, problem: 'revoked' });
    deps.clock.advance(2 * 60_000); // 61 min since the touch
    await touchSession(deps.auth, a);
    expect((await checkSessions(deps.auth, [a])).get(a)).toEqual({ ok: false, problem: 'idle' });
    const c = await idOf((await loginAgain(deps.auth, u!)).token);
    await deps.auth.db.updateTable('sessions').set({ expires_at: deps.clock.now() }).where('id', '=', c).execute();
    expect((await checkSessions(deps.auth, [c])).get(c)).toEqual({ ok: false, problem: 'expired' });
  });
});
