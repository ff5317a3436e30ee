import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { networkOf } from './observe.js';
import { Deque, SlidingWindow } from './windows.js';

describe('sliding window (property)', () => {
  it('agrees with a brute-force count of the entries inside the window', () => {
    const step = fc.record({
      dt: fc.integer({ min: 0, max: 5000 }),
      weight: fc.integer({ min: 1, max: 4 }),
      value: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      success: fc.boolean(),
      drill: fc.option(fc.constant('d1'), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), fc.integer({ min: 1, max: 20_000 }), (steps, windowMs) => {
        const w = new SlidingWindow(windowMs, 2);
        const all: { at: number; weight: number; value: string; success: boolean; drill?: string }[] = [];
        let at = 0;
        for (const s of steps) {
          at += s.dt;
          w.add({ at, weight: s.weight, seq: null, drill: s.drill, value: s.value, success: s.success });
          all.push({
            at,
            weight: s.weight,
            value: s.value,
            success: s.success,
            ...(s.drill ? { drill: s.drill } : {}),
          });
          const inside = all.filter((e) => e.at > at - windowMs);
          const counts = new Map<string, number>();
          for (const e of inside) counts.set(e.value, (counts.get(e.value) ?? 0) + 1);
          expect(w.sum).toBe(inside.reduce((n, e) => n + e.weight, 0));
          expect(w.successes).toBe(inside.filter((e) => e.success).reduce((n, e) => n + e.weight, 0));
          expect(w.values.size).toBe(counts.size);
          expect(w.fewValues).toBe([...counts.values()].filter((n) => n <= 2).length);
          expect(w.drill()).toBe(inside.every((e) => e.drill) ? inside[0]?.drill : undefined);
          expect(w.firstAt()).toBe(inside[0]?.at ?? 0);
        }
      }),
    );
  });

  it('the deque keeps order through growth and wrap-around', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 300 }), (ops) => {
        const d = new Deque<number>();
        const ref: number[] = [];
        let n = 0;
        for (const push of ops) {
          if (push) {
            d.push(n);
            ref.push(n++);
          } else expect(d.shift()).toBe(ref.shift());
          expect(d.length).toBe(ref.length);
          expect(d.peek()).toBe(ref[0]);
          expect(d.at(ref.length - 1)).toBe(ref[ref.length - 1]);
        }
      }),
    );
  });
});

describe('networkOf', () => {
  it('gives /24 for IPv4 (mapped too) and /64 for IPv6', () => {
    expect(networkOf('203.0.113.9')).toBe('203.0.113.0/24');
    expect(networkOf('::ffff:203.0.113.9')).toBe('203.0.113.0/24');
    expect(networkOf('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(networkOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(networkOf('2001:0db8:0001::')).toBe('2001:db8:1:0::/64');
    expect(networkOf(null)).toBeNull();
  });

  it('puts every address of one /64 in the same network (property)', () => {
    const group = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
    fc.assert(
      fc.property(
        fc.array(group, { minLength: 8, maxLength: 8 }),
        fc.array(group, { minLength: 4, maxLength: 4 }),
        (g, tail) => {
          const a = g.join(':');
          const b = [...g.slice(0, 4), ...tail].join(':');
          expect(networkOf(a)).toBe(networkOf(b));
          expect(networkOf(a)).toBe(`${g.slice(0, 4).join(':')}::/64`);
        },
      ),
    );
  });
});
