import { describe, expect, it } from 'vitest';
import { InProcessBus } from '../cluster/index.js';
import { silentLogger, type SecurityEvent } from '../core/index.js';
import type { DetectInput } from './engine/observe.js';
import { DetectionService, type EnginePort } from './service.js';
import type { Finding } from './types.js';

const event = (seq: number, action = 'login.failed'): SecurityEvent => ({
  seq,
  at: 1_000 + seq,
  action,
  category: 'authentication',
  actorId: null,
  target: null,
  address: '203.0.113.7',
  outcome: 'failure',
  details: {},
});

/** An engine that fires once per `every` inputs and remembers what it saw. */
function countingEngine(every: number): EnginePort & { seen: DetectInput[]; saves: number } {
  let cursor = 0;
  const seen: DetectInput[] = [];
  return {
    seen,
    saves: 0,
    ingest(input) {
      seen.push(input);
      if (seen.length % every !== 0) return [];
      const f: Finding = {
        id: `f${seen.length}`,
        ruleId: 'test.rule',
        severity: 'high',
        at: 0,
        firstSeenAt: 0,
        subject: { kind: 'address', id: '203.0.113.7' },
        explanation: 'x',
        evidence: {},
      };
      return [f];
    },
    cursor: () => cursor,
    setCursor(seq) {
      cursor = seq;
    },
    save() {
      this.saves++;
      return Promise.resolve();
    },
  };
}

describe('DetectionService', () => {
  it('queues on publish and ingests on a later turn, so the publisher never runs a rule', async () => {
    const bus = new InProcessBus();
    const engine = countingEngine(1000);
    const svc = new DetectionService(bus, engine, { save: () => Promise.resolve() }, silentLogger);
    svc.start();
    bus.publish({ type: 'security.recorded', data: event(1) });
    expect(engine.seen).toHaveLength(0);
    await svc.settled();
    expect(engine.seen).toHaveLength(1);
    await svc.stop();
  });

  it('skips audit records at or before its cursor (the feed is at-least-once)', async () => {
    const bus = new InProcessBus();
    const engine = countingEngine(1000);
    engine.setCursor(5);
    const svc = new DetectionService(bus, engine, { save: () => Promise.resolve() }, silentLogger);
    svc.start();
    for (const s of [4, 5, 6, 6, 7]) bus.publish({ type: 'security.recorded', data: event(s) });
    await svc.settled();
    expect(engine.seen.map((x) => (x.kind === 'event' ? x.event.seq : -1))).toEqual([6, 7]);
    expect(engine.cursor()).toBe(7);
    await svc.stop();
  });

  it('stores a finding, then contains it, then alerts, in that order', async () => {
    const bus = new InProcessBus();
    const order: string[] = [];
    const svc = new DetectionService(
      bus,
      countingEngine(2),
      {
        save: (f) => Promise.resolve(void order.push(`save ${f.id}`)),
        respond: (f) => Promise.resolve((order.push(`respond ${f.id}`), [])),
        raise: (f) => {
          order.push(`raise ${f.id}`);
          return Promise.resolve(undefined as never);
        },
      },
      silentLogger,
    );
    svc.start();
    for (let i = 1; i <= 4; i++) bus.publish({ type: 'security.recorded', data: event(i) });
    await svc.settled();
    expect(order).toEqual(['save f2', 'respond f2', 'raise f2', 'save f4', 'respond f4', 'raise f4']);
    expect(svc.stats()).toMatchObject({ ingested: 4, findings: 2, failures: 0 });
    await svc.stop();
  });

  it('a full queue drops new signals and counts them, but keeps every audit record', async () => {
    const bus = new InProcessBus();
    const engine = countingEngine(10_000);
    const svc = new DetectionService(bus, engine, { save: () => Promise.resolve() }, silentLogger, { maxQueue: 3 });
    svc.start();
    for (let i = 0; i < 5; i++)
      bus.publish({ type: 'security.signal', data: { kind: 'login.throttled', at: i, username: 'a' } });
    for (let i = 1; i <= 4; i++) bus.publish({ type: 'security.recorded', data: event(i) });
    await svc.settled();
    expect(engine.seen.filter((x) => x.kind === 'signal')).toHaveLength(3);
    expect(engine.seen.filter((x) => x.kind === 'event')).toHaveLength(4);
    expect(svc.stats().dropped).toBe(2);
    await svc.stop();
  });

  it('a failing handler is counted and does not stop later findings', async () => {
    const bus = new InProcessBus();
    let saved = 0;
    const svc = new DetectionService(
      bus,
      countingEngine(1),
      {
        save: (f) => {
          if (f.id === 'f1') return Promise.reject(new Error('store down'));
          saved++;
          return Promise.resolve();
        },
      },
      silentLogger,
    );
    svc.start();
    bus.publish({ type: 'security.recorded', data: event(1) });
    bus.publish({ type: 'security.recorded', data: event(2) });
    await svc.settled();
    expect(saved).toBe(1);
    expect(svc.stats().failures).toBe(1);
    await svc.stop();
  });

  it('stop saves the engine state', async () => {
    const bus = new InProcessBus();
    const engine = countingEngine(10);
    const svc = new DetectionService(bus, engine, { save: () => Promise.resolve() }, silentLogger);
    svc.start();
    await svc.stop();
    expect(engine.saves).toBe(1);
    bus.publish({ type: 'security.recorded', data: event(1) });
    await new Promise<void>((r) => setImmediate(r));
    expect(engine.seen).toHaveLength(0);
  });
});
