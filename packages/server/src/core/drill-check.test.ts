import { describe, expect, it } from 'vitest';
import { readDrillMark, type DrillCheck } from './drill-check.js';

const drills: DrillCheck = { check: (t) => (t === 'live-token' ? 'drill_1' : undefined) };

describe('readDrillMark', () => {
  it('honours a TEST-NET source only for a live token from the server machine itself', () => {
    expect(readDrillMark(drills, 'live-token', '203.0.113.7', '127.0.0.1')).toEqual({
      drill: 'drill_1',
      address: '203.0.113.7',
    });
    expect(readDrillMark(drills, 'live-token', '203.0.113.7', '::ffff:127.0.0.1')?.address).toBe('203.0.113.7');
    // A leaked token used from elsewhere may not pick its address.
    expect(() => readDrillMark(drills, 'live-token', '203.0.113.7', '198.18.0.4')).toThrow(/server machine/);
    // It still labels its traffic (at its real address).
    expect(readDrillMark(drills, 'live-token', undefined, '198.18.0.4')).toEqual({ drill: 'drill_1' });
    // No live token: both headers are ignored, wherever they come from.
    expect(readDrillMark(drills, 'old-token', '203.0.113.7', '198.18.0.4')).toBeUndefined();
    expect(() => readDrillMark(drills, 'live-token', '10.0.0.1', '127.0.0.1')).toThrow(/192.0.2.0/);
  });
});
