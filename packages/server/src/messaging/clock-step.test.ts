import type { SessionGrant } from '@palisade/protocol';
import { expect, it } from 'vitest';
import { checkSessions, login } from '../auth/index.js';
import { FakeClock } from '../core/index.js';
import { LIMITS, RateLimiter } from '../limits/index.js';
import { testDeps } from '../test-support/deps.js';
import { makeUsers, newDevicePublicKey, PASS, uniqueName } from '../test-support/users.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { openDirect, sendMessage } from './index.js';

const HOUR = 3_600_000;
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { code?: string; message?: string }) => e.code ?? e.message ?? 'no code',
  );

it('fault test 8: a wall-clock step back of 1 h leaves every bucket as it was (connect.address, message.send, login.address)', () => {
  const clock = new FakeClock();
  const rl = new RateLimiter(clock);
  // Buckets used while the wall clock ran an hour fast (the server had been stepped forward).
  clock.stepWall(HOUR);
  for (const name of ['connect.address', 'message.send', 'login.address'] as const)
    rl.check(name, name === 'message.send' ? 'dev1' : '10.0.0.7');
  // NTP steps it back to the true time: the next check must pass at once, with no debt of an hour.
  clock.stepWall(-HOUR);
  for (const name of ['connect.address', 'message.send', 'login.address'] as const) {
    expect(() => rl.check(name, name === 'message.send' ? 'dev1' : '10.0.0.7')).not.toThrow();
  }
  // And a forward jump refills nothing: an exhausted bucket stays exhausted until real time passes.
  const rule = LIMITS['login.account'];
  for (let i = 0; i < rule.burst; i++) rl.check('login.account', 'alice');
  clock.stepWall(24 * HOUR);
  expect(() => rl.check('login.account', 'alice')).toThrow(expect.objectContaining({ code: 'rate_limited' }));
  clock.advance(Math.ceil(1000 / rule.perSecond));
  expect(() => rl.check('login.account', 'alice')).not.toThrow();
});

it('fault test 8: a growing login delay is measured in real time: a step back does not lengthen it, a step forward does not lift it', () => {
  const clock = new FakeClock();
  const rl = new RateLimiter(clock);
  const rule = { free: 1, baseMs: 1000, maxMs: 60_000, forgetMs: HOUR };
  rl.recordFailure(rule, 's');
  rl.recordFailure(rule, 's');
  expect(rl.delayRemaining(rule, 's')).toBe(2000); // 1000 * 2^(2 - 1)
  clock.stepWall(-HOUR);
  expect(rl.delayRemaining(rule, 's')).toBe(2000);
  clock.stepWall(2 * HOUR);
  expect(rl.delayRemaining(rule, 's')).toBe(2000);
  clock.advance(2000);
  expect(rl.delayRemaining(rule, 's')).toBe(0);
});

withAllStores('wall-clock steps (fault test 8)', (h) => {
  it('after a step back of 1 h a device that sent and logged in while the clock was fast still sends and logs in', async () => {
    const clock = new FakeClock();
    const deps = await testDeps(h.get(), clock);
    const names = [uniqueName('ck'), uniqueName('ck')];
    const [alice] = await makeUsers(deps.auth, names);
    const conv = await openDirect(deps.messaging, alice!, names[1]!);
    const send = (id: string) =>
      codeOf(
        sendMessage(deps.messaging, alice!, { conversationId: conv.id, clientMsgId: id, payload: new Uint8Array([1]) }),
      );
    const logIn = () =>
      codeOf(
        login(
          deps.auth,
          {
            username: names[0]!,
            password: PASS,
            device: { publicKey: newDevicePublicKey(), name: 'laptop', platform: 'test' },
          },
          '10.0.0.1',
        ).then((g) => (g as SessionGrant).token),
      );

    clock.stepWall(HOUR); // the server's clock runs an hour fast
    expect(await send('fast-1')).toBe('ok');
    expect(await logIn()).toMatch(/^ok$|device_approval_required/);
    clock.stepWall(-HOUR); // and is stepped back to the true time
    expect(await send('after-step')).toBe('ok');
    expect(await logIn()).toMatch(/^ok$|device_approval_required/);
    // Real rate limits still hold after the step: a burst beyond message.send is refused.
    const burst = await Promise.all(Array.from({ length: LIMITS['message.send'].burst + 5 }, (_, i) => send(`b${i}`)));
    expect(burst.filter((c) => c === 'rate_limited').length).toBeGreaterThan(0);
  });

  it('a forward step of 2 h does not count as idle time: sessions still hold, and real idleness still ends them', async () => {
    const clock = new FakeClock();
    const deps = await testDeps(h.get(), clock);
    const [user] = await makeUsers(deps.auth, [uniqueName('ck')]);
    const check = async () => {
      const r = (await checkSessions(deps.auth, [user!.sessionId])).get(user!.sessionId);
      return r?.ok ? 'ok' : r?.problem;
    };
    expect(await check()).toBe('ok');
    clock.stepWall(2 * HOUR); // NTP steps the clock forward: no real time passed
    expect(await check()).toBe('ok'); // used to be session_invalid (idle limit 1 h)
    clock.advance(HOUR); // a real hour of idleness still ends it
    expect(await check()).toBe('idle');
  });
});
