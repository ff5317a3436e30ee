import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/index.js';
import { StoreHealth } from './health.js';

const ok = () => Promise.resolve();

describe('store health latch', () => {
  it('PostgreSQL (no room check): disk_full (53100) keeps /readyz not ready for 10 s, then the next failure latches again', async () => {
    const clock = new FakeClock();
    const h = new StoreHealth(undefined, undefined, () => clock.monotonic());
    expect(await h.check(ok, 100)).toEqual({ ok: true });
    h.onFault('storage_full', { code: '53100' });
    expect(await h.check(ok, 100)).toMatchObject({ ok: false, code: 'storage_full' });
    clock.stepWall(3_600_000); // a wall-clock step does not end the cool-down
    expect(await h.check(ok, 100)).toMatchObject({ ok: false, code: 'storage_full' });
    clock.advance(10_000);
    expect(await h.check(ok, 100)).toEqual({ ok: true });
    h.onFault('storage_full', { code: '53100' });
    expect(h.full).toBe(true);
  });

  it('an unavailable fault latches nothing: readiness follows the ping', async () => {
    const h = new StoreHealth(undefined);
    h.onFault('unavailable', new Error('Connection terminated unexpectedly'));
    expect(await h.check(ok, 100)).toEqual({ ok: true });
    expect(await h.check(() => Promise.reject(new Error('down')), 100)).toEqual({
      ok: false,
      code: 'unavailable',
      reason: 'the store is not reachable',
    });
    expect(await h.check(() => new Promise(() => undefined), 50)).toEqual({
      ok: false,
      code: 'unavailable',
      reason: 'the store did not answer within 50 ms',
    });
  });
});
