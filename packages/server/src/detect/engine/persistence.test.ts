import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock, silentLogger } from '../../core/index.js';
import { LocalKms, randomKey } from '../../crypto/index.js';
import { EnvelopeSealer } from '../../keys/index.js';
import { detectStore, ev, sig } from '../../test-support/detect.js';
import { withAllStores } from '../../test-support/with-all-stores.js';
import { deviation } from '../baseline/detectors.js';
import { type BaselineState, newBaseline, observeActivity, parseBaseline } from '../baseline/model.js';
import { Baselines } from '../baseline/store.js';
import { DetectionEngine, FindingStore, type Finding } from '../index.js';

const HOUR = 3_600_000;
const MONDAY = Date.UTC(2026, 0, 5);

withAllStores('detect persistence', (h) => {
  let sealer: EnvelopeSealer | undefined;
  // One key ring for the suite: the data keys in the store are wrapped by it.
  const sealerFor = async (clock: FakeClock) => {
    if (sealer) return sealer;
    const kms = new LocalKms(join(mkdtempSync(join(tmpdir(), 'palisade-keys-')), 'keyring.json'), randomKey(32));
    sealer = new EnvelopeSealer(h.get().db, kms, clock);
    await sealer.prepareServerScopes();
    return sealer;
  };

  it('findings are stored sealed and listed by rule, time and drill', async () => {
    const clock = new FakeClock(MONDAY);
    const sealer = await sealerFor(clock);
    const store = new FindingStore(h.get().db, sealer);
    const base: Finding = {
      id: 'f1',
      ruleId: 'auth.brute_force.address',
      severity: 'high',
      at: MONDAY + 1000,
      firstSeenAt: MONDAY,
      subject: { kind: 'address', id: '203.0.113.9' },
      address: '203.0.113.9',
      explanation: 'Password guessing from one address: 50 from 203.0.113.9 in 4 s',
      evidence: { count: 50, seqs: [1, 2, 3] },
    };
    await store.save(base);
    await store.save({
      ...base,
      id: 'f2',
      at: MONDAY + 5000,
      drill: 'd1',
      userId: 'alice',
      ruleId: 'auth.brute_force.account',
    });
    expect(await store.get('f1')).toEqual(base);
    const raw = await h
      .get()
      .db.selectFrom('detect_findings')
      .selectAll()
      .where('id', '=', 'f1')
      .executeTakeFirstOrThrow();
    expect(raw.explanation).not.toContain('203.0.113.9');
    expect(raw.evidence).not.toContain('seqs');
    expect((await store.list()).map((f) => f.id)).toEqual(['f2', 'f1']);
    expect((await store.list({ ruleId: 'auth.brute_force.address' })).map((f) => f.id)).toEqual(['f1']);
    expect((await store.list({ drill: true })).map((f) => f.id)).toEqual(['f2']);
    expect((await store.list({ drill: false })).map((f) => f.id)).toEqual(['f1']);
    expect((await store.list({ drill: 'd1', since: MONDAY + 2000 })).map((f) => f.id)).toEqual(['f2']);
    expect(await store.list({ limit: 1 })).toHaveLength(1);
  });

  it('a restarted engine keeps its baselines and cursor', async () => {
    const clock = new FakeClock(MONDAY);
    const sealer = await sealerFor(clock);
    const opts = { db: h.get().db, sealer, clock, log: silentLogger, config: { learningDays: 14 } };
    const a = new DetectionEngine(opts);
    await a.load();
    for (let d = 0; d < 21; d++)
      for (let hr = 9; hr < 17; hr++)
        a.ingest(
          sig({
            kind: 'history.read',
            at: MONDAY + d * 24 * HOUR + hr * HOUR,
            userId: 'eve',
            deviceId: 'd',
            conversationId: 'c',
            count: 20,
          }),
        );
    const last = ev('login.succeeded', MONDAY + 21 * 24 * HOUR, { actorId: 'eve', target: 's' });
    a.ingest(last);
    await a.stop();
    const b = new DetectionEngine(opts);
    await b.load();
    expect(b.cursor()).toBe(last.kind === 'event' ? last.event.seq : -1);
    const t = MONDAY + 21 * 24 * HOUR + 3 * HOUR;
    const found = [];
    for (let i = 0; i < 10; i++)
      found.push(
        ...b.ingest(
          sig({ kind: 'history.read', at: t + i, userId: 'eve', deviceId: 'd', conversationId: 'c', count: 100 }),
        ),
      );
    expect(found.map((f) => f.ruleId)).toEqual(['data.offhours_bulk_read']);
    const raw = await h
      .get()
      .db.selectFrom('detect_baselines')
      .select('state')
      .where('subject', '=', 'user:eve')
      .executeTakeFirstOrThrow();
    expect(raw.state).not.toContain('firstAt');
    b.setCursor(42);
    await b.save();
    const c = new DetectionEngine(opts);
    await c.load();
    expect(c.cursor()).toBe(42);
  });

  it('saves periodically once started, and at stop', async () => {
    const clock = new FakeClock(MONDAY);
    const opts = {
      db: h.get().db,
      sealer: await sealerFor(clock),
      clock,
      log: silentLogger,
      config: { learningDays: 14, saveEverySeconds: 30 },
    };
    const a = new DetectionEngine(opts);
    await a.load();
    a.start(clock);
    a.ingest(sig({ kind: 'connection.opened', at: MONDAY, userId: 'periodic', deviceId: 'd', sessionId: 's' }));
    const stored = () =>
      h.get().db.selectFrom('detect_baselines').select('subject').where('subject', '=', 'user:periodic').execute();
    expect(await stored()).toHaveLength(0);
    clock.advance(30_000);
    await expect.poll(stored).toHaveLength(1);
    a.setCursor(7);
    await a.stop();
    const b = new DetectionEngine(opts);
    await b.load();
    expect(b.cursor()).toBe(7);
  });
});

describe('baseline model persistence (property)', () => {
  const activity = fc.record({
    dt: fc.integer({ min: 0, max: 6 * HOUR }),
    reads: fc.integer({ min: 0, max: 5000 }),
    connections: fc.integer({ min: 0, max: 3 }),
    network: fc.option(fc.constantFrom('198.51.100.0/24', '203.0.113.0/24', '2001:db8::/64', '192.0.2.0/24'), {
      nil: null,
    }),
  });

  it('a model saved as JSON and read back is the same and judges the same', () => {
    fc.assert(
      fc.property(
        fc.array(activity, { maxLength: 300 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 5000 }),
        (acts, org, probe) => {
          let at = MONDAY;
          const s: BaselineState = newBaseline(at, org);
          for (const a of acts) {
            at += a.dt;
            observeActivity(s, { at, reads: a.reads, connections: a.connections, network: a.network });
          }
          const back = parseBaseline(JSON.stringify(s));
          expect(back).toEqual(s);
          if (!back) return;
          const p = { at: at + HOUR, weight: probe, network: '10.9.9.0/24', threshold: 1, learningDays: 0 };
          for (const m of [
            'offhours_read',
            'service_volume',
            'service_network',
            'org_connections',
            'offhours_org',
          ] as const)
            expect(deviation(m, back, { ...p })).toEqual(deviation(m, structuredClone(s), { ...p }));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('models saved to the store (sealed) and loaded back are the same', async () => {
    const { store, sealer } = await detectStore();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(activity, { maxLength: 60 }), { minLength: 1, maxLength: 4 }),
        async (subjects) => {
          run++;
          const a = new Baselines(store.db, sealer);
          const names = subjects.map((_, i) => (i === 0 ? 'org' : `user:r${run}-${i}`));
          subjects.forEach((acts, i) => {
            let at = MONDAY;
            const m = a.get(names[i] as string, at);
            for (const x of acts) {
              at += x.dt;
              observeActivity(m, { at, reads: x.reads, connections: x.connections, network: x.network });
            }
            a.touch(names[i] as string);
          });
          await a.save(MONDAY);
          const b = new Baselines(store.db, sealer);
          await b.load();
          for (const n of names) expect(b.peek(n)).toEqual(a.peek(n));
        },
      ),
      { numRuns: 25 },
    );
    await store.close();
  });

  it('refuses what is not a baseline', () => {
    expect(parseBaseline('{"v":2}')).toBeNull();
    expect(parseBaseline(JSON.stringify({ ...newBaseline(0), how: [1, 2] }))).toBeNull();
  });
});
