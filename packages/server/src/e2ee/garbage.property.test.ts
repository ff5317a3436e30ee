import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '@palisade/protocol';
import { FakeClock, isAppError } from '../core/index.js';
import { openDirect, sendMessage } from '../messaging/index.js';
import { testDeps } from '../test-support/deps.js';
import {
  b64u,
  makeKeyPackage,
  mlsUsers,
  offlineMlsKeys,
  TestGroup,
  type MlsDevice,
  type TestCommit,
} from '../test-support/mls-fixture.js';
import { uniqueName } from '../test-support/users.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { submitCommit } from './index.js';
import { peekMls, readKeyPackage } from './mls-wire.js';

/** The stable code a call fails with, or 'accepted'; anything but an AppError is a crash (a 500). */
async function outcome(call: () => Promise<unknown>): Promise<ErrorCode | 'accepted'> {
  try {
    await call();
    return 'accepted';
  } catch (e) {
    if (!isAppError(e)) throw new Error('not an AppError', { cause: e });
    expect(Object.hasOwn(ERROR_CODES, e.code)).toBe(true);
    return e.code;
  }
}

/** Real MLS bytes, then truncated, extended or with some bytes replaced. */
const mutated = (real: Uint8Array) =>
  fc.oneof(
    fc.nat({ max: real.length - 1 }).map((n) => real.slice(0, n)),
    fc.uint8Array({ minLength: 1, maxLength: 8 }).map((tail) => new Uint8Array([...real, ...tail])),
    fc
      .array(fc.tuple(fc.nat({ max: real.length - 1 }), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 6,
      })
      .map((edits) => {
        const b = real.slice();
        for (const [i, v] of edits) b[i] = v;
        return b;
      }),
  );

describe('mls-wire never throws a library error', () => {
  let real: { kp: Uint8Array; commit: Uint8Array; welcome: Uint8Array; groupInfo: Uint8Array; app: Uint8Array };
  beforeAll(async () => {
    const [a, b] = [offlineMlsKeys('ua', 'da'), offlineMlsKeys('ub', 'db')];
    const g = await TestGroup.create(a, 'c1');
    const kp = await makeKeyPackage(b);
    const c = await g.commit([kp.publicPackage]);
    g.state = c.next;
    real = { kp: kp.bytes, commit: c.commit, welcome: c.welcome!, groupInfo: c.groupInfo, app: await g.message('x') };
  });

  it('peekMls answers undefined or header facts for any bytes, and reads real messages right', () => {
    expect(peekMls(real.commit)).toMatchObject({ wireformat: 'private_message', contentType: 'commit', epoch: 0 });
    expect(peekMls(real.app)).toMatchObject({ wireformat: 'private_message', contentType: 'application', epoch: 1 });
    expect(peekMls(real.welcome)?.wireformat).toBe('welcome');
    expect(peekMls(real.groupInfo)).toMatchObject({ wireformat: 'group_info', epoch: 1 });
    const any = fc.oneof(
      fc.uint8Array({ maxLength: 512 }),
      mutated(real.commit),
      mutated(real.app),
      mutated(real.welcome),
      mutated(real.groupInfo),
    );
    fc.assert(
      fc.property(any, (bytes) => {
        const p = peekMls(bytes);
        expect(p === undefined || typeof p.wireformat === 'string').toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('readKeyPackage accepts the real package and refuses any other bytes with invalid_key_package', async () => {
    expect((await readKeyPackage(real.kp)).ref).toMatch(/^[0-9a-f]{64}$/);
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 512 }), mutated(real.kp)), async (bytes) => {
        const code = await outcome(() => readKeyPackage(bytes));
        // A mutation may leave the signed part intact (e.g. a byte of the signature's own length is not hit).
        expect(['invalid_key_package', 'accepted']).toContain(code);
        if (code === 'accepted') expect(Buffer.from(bytes).equals(Buffer.from(real.kp))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

withAllStores('e2ee: garbage sends and commits get a stable code, never a crash', (h) => {
  it('sends and commits of garbage or mutated MLS bytes are refused with a published code', async () => {
    const deps = await testDeps(h.get(), new FakeClock(Date.now()), { e2eeRequired: true });
    const [a, b] = (await mlsUsers(deps.auth, [uniqueName('pa'), uniqueName('pb')])) as [MlsDevice, MlsDevice];
    const conv = (await openDirect(deps.messaging, a.principal, b.principal.username)).id;
    const g = await TestGroup.create(a, conv);
    const c0 = await g.commit();
    await submitCommit(deps.e2ee, a.principal, conv, {
      epoch: 0,
      commit: b64u(c0.commit),
      groupInfo: b64u(c0.groupInfo),
      added: [],
      removed: [],
      suite: 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
    });
    g.state = c0.next;
    const app = await g.message('hello');
    const next: TestCommit = await g.commit([(await makeKeyPackage(b)).publicPackage]);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 256 }), mutated(app)), async (payload) => {
        const code = await outcome(() =>
          sendMessage(deps.messaging, a.principal, { conversationId: conv, clientMsgId: `g${n++}`, payload }),
        );
        // The server cannot (and must not) read the ciphertext: a mutation of it is relayed; the header is checked.
        expect(['e2ee_required', 'epoch_conflict', 'accepted']).toContain(code);
      }),
      { numRuns: 60 },
    );
    const parts = fc.record({
      commit: fc.oneof(fc.constant(next.commit), mutated(next.commit), fc.uint8Array({ minLength: 1, maxLength: 64 })),
      groupInfo: fc.oneof(fc.constant(next.groupInfo), mutated(next.groupInfo)),
      welcome: fc.oneof(fc.constant(next.welcome!), mutated(next.welcome!)),
      epoch: fc.constantFrom(0, 1, 2, 9),
    });
    await fc.assert(
      fc.asyncProperty(parts, async (p) => {
        const code = await outcome(() =>
          submitCommit(deps.e2ee, a.principal, conv, {
            epoch: p.epoch,
            commit: b64u(p.commit),
            welcome: b64u(p.welcome),
            groupInfo: b64u(p.groupInfo),
            added: [b.principal.deviceId],
            removed: [],
          }),
        );
        expect(['invalid_mls_message', 'epoch_conflict', 'accepted']).toContain(code);
        // Only a commit whose header is intact can move the group (one per epoch, so at most once).
        if (code === 'accepted') expect(p.epoch).toBe(1);
      }),
      { numRuns: 60 },
    );
  });
});
