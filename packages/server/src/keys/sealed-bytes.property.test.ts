import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, expect, it } from 'vitest';
import { FakeClock } from '../core/index.js';
import { CryptoIntegrityError, LocalKms, randomKey } from '../crypto/index.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { EnvelopeSealer } from './index.js';
import { keyIdOfBytes } from './sealed-format.js';

/** The only ways a damaged binary sealed value may be refused: never a plaintext, never a TypeError. */
const isStableRefusal = (e: unknown) =>
  e instanceof CryptoIntegrityError ||
  (e instanceof Error && ['not an envelope-sealed value', 'unknown data key'].includes(e.message));

async function refusal(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => ({ opened: v }),
    (e: unknown) => e,
  );
}

withAllStores('binary sealed format (properties)', (h) => {
  let sealer: EnvelopeSealer;
  beforeAll(() => {
    const kms = new LocalKms(join(mkdtempSync(join(tmpdir(), 'palisade-sealed-')), 'keyring.json'), randomKey(32));
    sealer = new EnvelopeSealer(h.get().db, kms, new FakeClock());
  });
  const payload = fc.uint8Array({ maxLength: 2048 });
  const aad = fc.stringMatching(/^[a-z_]{1,12}\.[a-z_]{1,12}:[a-z0-9-]{1,16}$/);

  it('round-trips any payload under its AAD, with exactly 2 + key id + 12 + 16 bytes of overhead', async () => {
    await fc.assert(
      fc.asyncProperty(payload, aad, async (p, a) => {
        const sealed = await sealer.sealBytes(p, a, 'server');
        expect(sealed[0]).toBe(0x02);
        expect(sealed.length - p.length).toBe(2 + keyIdOfBytes(sealed)!.length + 12 + 16);
        expect(Buffer.from(await sealer.unsealBytes(sealed, a)).equals(Buffer.from(p))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses any flipped bit, any truncation and any other AAD with one of three stable errors', async () => {
    await fc.assert(
      fc.asyncProperty(payload, aad, fc.nat(), fc.integer({ min: 0, max: 7 }), fc.nat(), async (p, a, at, bit, cut) => {
        const sealed = await sealer.sealBytes(p, a, 'server');
        const flipped = Buffer.from(sealed);
        flipped[at % flipped.length]! ^= 1 << bit;
        const truncated = sealed.subarray(0, cut % sealed.length);
        for (const [damaged, withAad] of [
          [flipped, a],
          [truncated, a],
          [sealed, `${a}x`],
        ] as const) {
          const e = await refusal(sealer.unsealBytes(damaged, withAad));
          expect(isStableRefusal(e), `refused with ${String(e)}`).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });
});
