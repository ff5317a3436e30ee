import { sql } from 'kysely';
import { beforeAll, expect, it } from 'vitest';
import { withAllStores } from '../test-support/with-all-stores.js';
import { SendQueue, sendLanes } from './send-queue.js';

withAllStores('send queue lanes', (h) => {
  beforeAll(async () => {
    await sql`CREATE TABLE lane_probe (k TEXT NOT NULL, n INTEGER NOT NULL)`.execute(h.get().db);
  });

  it('keeps the order of one key across batches, whatever the lane count', async () => {
    const db = h.get().db;
    const q = new SendQueue(db, undefined, sendLanes(h.kind, 10));
    const ran = new Map<string, number[]>();
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => {
        const k = `k${i % 3}`;
        return q.enqueue(
          async (tx) => {
            await sql`INSERT INTO lane_probe (k, n) VALUES (${k}, ${i})`.execute(tx);
            ran.set(k, [...(ran.get(k) ?? []), i]);
          },
          undefined,
          k,
        );
      }),
    );
    for (const k of ['k0', 'k1', 'k2']) {
      const ns = ran.get(k) ?? [];
      expect(ns).toHaveLength(100);
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
      const stored = await sql<{ n: number }>`SELECT count(*) AS n FROM lane_probe WHERE k = ${k}`.execute(db);
      expect(Number(stored.rows[0]?.n)).toBe(100);
    }
  });

  it('lets a large committed batch go in slices with event-loop turns between, in order', async () => {
    const db = h.get().db;
    let turn = 0;
    let ticking = true;
    const tick = () => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const seen: { i: number; turn: number }[] = [];
    const wroteIn: number[] = [];
    const batches: number[] = [];
    const q2 = new SendQueue(db, (n) => batches.push(n));
    await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        q2
          .enqueue((tx) => (wroteIn.push(turn), sql`INSERT INTO lane_probe (k, n) VALUES ('slices', ${i})`.execute(tx)))
          .then(() => seen.push({ i, turn })),
      ),
    );
    ticking = false;
    expect(batches).toEqual([64]); // one transaction
    expect(seen.map((s) => s.i)).toEqual(Array.from({ length: 64 }, (_, i) => i));
    // The writes themselves also let the loop turn (every 32 sends), inside the one transaction.
    expect(new Set(wroteIn).size).toBeGreaterThanOrEqual(2);
    // Resolved over several turns (one turn for all 64 would hold the event loop for the whole fan-out).
    expect(new Set(seen.map((s) => s.turn)).size).toBeGreaterThanOrEqual(4);
  });

  if (h.kind === 'postgres')
    it('on PostgreSQL, a batch of one conversation does not wait for another’s', async () => {
      const db = h.get().db;
      const q = new SendQueue(db, undefined, sendLanes('postgres', 10));
      // Two keys in different lanes: with one lane this test would deadlock (and time out).
      const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let first: string | undefined;
      let second: string | undefined;
      for (const a of keys)
        for (const b of keys) if (!first && a !== b && laneIndex(a) !== laneIndex(b)) [first, second] = [a, b];
      const slow = q.enqueue(
        async (tx) => {
          await sql`INSERT INTO lane_probe (k, n) VALUES ('slow', 1)`.execute(tx);
          await held; // this lane's transaction stays open until the other lane's item has committed
        },
        undefined,
        first,
      );
      await q.enqueue((tx) => sql`INSERT INTO lane_probe (k, n) VALUES ('fast', 1)`.execute(tx), undefined, second);
      release();
      await slow;
      const n = await sql<{ n: number }>`SELECT count(*) AS n FROM lane_probe WHERE k IN ('slow', 'fast')`.execute(db);
      expect(Number(n.rows[0]?.n)).toBe(2);
    });
});

/** The lane a key takes with 4 lanes (the same FNV-1a as the queue). */
function laneIndex(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % 4;
}
