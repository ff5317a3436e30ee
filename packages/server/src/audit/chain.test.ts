import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InProcessBus } from '../cluster/index.js';
import { FakeClock, silentLogger, withRequestContext, type SecurityEvent } from '../core/index.js';
import { verifyEd25519 } from '../crypto/index.js';
import { auditAad } from '../keys/index.js';
import { KeyRotation } from '../keys/index.js';
import { auditKms, auditSealer } from '../test-support/audit-chain.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { AUDIT_SCOPE, checkpointMessage, forgetAuditKey, GENESIS_HASH } from './chain.js';
import {
  AuditCheckpointer,
  AuditFeed,
  checkpointFileSink,
  exportAudit,
  prepareAuditChain,
  queryAudit,
  readExportedCheckpoints,
  recordAudit,
  startAuditServices,
  verifyAuditChain,
  writeCheckpoint,
  type AuditCheckpoint,
} from './index.js';

const entry = (at: number, i: number) => ({
  at,
  actorId: `u${i % 3}`,
  action: i % 2 ? 'login.failed' : 'role.granted',
  target: `t${i}`,
  address: `192.0.2.${i % 200}`,
  outcome: 'success' as const,
  details: { i },
});

withAllStores('audit hash chain', (h) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 5, 10));
  // One KMS and sealer per store (every data key in a store is wrapped by it).
  const kms = auditKms(clock);
  let shared: Promise<Awaited<ReturnType<typeof auditSealer>>> | undefined;
  const sealerFor = (db: Parameters<typeof auditSealer>[0]) => (shared ??= auditSealer(db, clock, kms));

  it('after re-encryption, a restarted server records inside a transaction at once (its seed is resealed too)', async () => {
    const db = h.get().db;
    const sealer = await sealerFor(db);
    await recordAudit(db, sealer, entry(clock.now(), 1));
    const policy = { rotateEveryDays: 90, autoRotate: false };
    const report = await new KeyRotation(db, sealer, kms, clock, silentLogger, policy).rotate({ reencrypt: true });
    expect(report.reencrypt?.resealed).toBeGreaterThan(0);
    // A restart: a new sealer that has only the current keys of its server scopes in memory.
    const restarted = await auditSealer(db, clock, kms);
    // On SQLite a database read from inside the transaction would wait for it forever (the test times out).
    await db.transaction().execute((tx) => recordAudit(tx, restarted, entry(clock.now(), 2)));
    expect((await verifyAuditChain(db, restarted)).ok).toBe(true);
  });

  it('chains concurrent records gap-free in commit order, inside callers transactions and alone', async () => {
    const db = h.get().db;
    const sealer = await sealerFor(db);
    await prepareAuditChain(db, sealer, clock.now());
    const before = (await verifyAuditChain(db, sealer)).head.seq;
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2
          ? recordAudit(db, sealer, entry(clock.now(), i))
          : db.transaction().execute(async (tx) => {
              await recordAudit(tx, sealer, entry(clock.now(), i));
              await recordAudit(tx, sealer, entry(clock.now(), i + 100));
            }),
      ),
    );
    // A transaction that rolls back leaves no hole.
    await db
      .transaction()
      .execute(async (tx) => {
        await recordAudit(tx, sealer, entry(clock.now(), 999));
        throw new Error('roll back');
      })
      .catch(() => undefined);
    const seqs = (await db.selectFrom('audit_log').select('chain_seq').orderBy('chain_seq').execute()).map((r) =>
      Number(r.chain_seq),
    );
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    const v = await verifyAuditChain(db, sealer, { batchSize: 7 });
    expect(v).toMatchObject({ ok: true, records: before + 60, head: { seq: before + 60 } });
  });

  it('verifies a live chain: records and checkpoints committed during the walk are no tampering', async () => {
    const db = h.get().db;
    const sealer = await sealerFor(db);
    for (let i = 0; i < 20; i++) await recordAudit(db, sealer, entry(clock.now(), i));
    const writes = (async () => {
      for (let i = 0; i < 30; i++) {
        await recordAudit(db, sealer, entry(clock.now(), i));
        if (i % 10 === 9) await writeCheckpoint(db, sealer, clock.now());
      }
    })();
    const [v] = await Promise.all([verifyAuditChain(db, sealer, { batchSize: 3 }), writes]);
    expect(v.ok).toBe(true);
    expect((await verifyAuditChain(db, sealer)).ok).toBe(true);
  });

  it('labels drill traffic, survives re-sealing, and chains records written before the chain existed', async () => {
    const db = h.get().db;
    const sealer = await sealerFor(db);
    await withRequestContext({ drill: 'drill-7' }, () => recordAudit(db, sealer, entry(clock.now(), 1)));
    const last = await db.selectFrom('audit_log').selectAll().orderBy('chain_seq', 'desc').executeTakeFirstOrThrow();
    expect(last.drill).toBe('drill-7');
    // KEK rotation re-seals: new ciphertext, same plaintext; the chain does not move.
    const details = await sealer.openText(last.details, auditAad('details', last.uid, 0));
    const resealed = sealer.sealText(details, auditAad('details', last.uid, 0), AUDIT_SCOPE);
    expect(resealed).not.toBe(last.details);
    await db.updateTable('audit_log').set({ details: resealed }).where('id', '=', last.id).execute();
    expect((await verifyAuditChain(db, sealer)).ok).toBe(true);
    // A record as written before migration 0021 (no chain position), then a restart.
    await db
      .insertInto('audit_log')
      .values({
        uid: 'legacy-1',
        at: clock.now(),
        actor_id: 'old',
        action: 'login.succeeded',
        target: null,
        address: sealer.sealText('198.51.100.1', auditAad('address', 'legacy-1', 0), AUDIT_SCOPE),
        outcome: 'success',
        details: sealer.sealText('{}', auditAad('details', 'legacy-1', 0), AUDIT_SCOPE),
        chain_seq: null,
        prev_hash: null,
        hash: null,
        drill: null,
      })
      .execute();
    expect((await verifyAuditChain(db, sealer)).firstBad?.problem).toBe('inserted');
    // Security review: a row outside the chain is never chained later (checkpoint, restart): it
    // stays an inserted record. Only an upgrade from before 0021 (migration 0025 leaves legacy_done 0
    // while such rows exist) chains them, once, at start.
    await writeCheckpoint(db, sealer, clock.now());
    forgetAuditKey(sealer);
    await prepareAuditChain(db, sealer, clock.now());
    expect((await verifyAuditChain(db, sealer)).firstBad?.problem).toBe('inserted');
    await db.updateTable('audit_chain_head').set({ legacy_done: 0 }).where('id', '=', 1).execute();
    forgetAuditKey(sealer);
    const head = await prepareAuditChain(db, sealer, clock.now());
    expect(await verifyAuditChain(db, sealer)).toMatchObject({ ok: true, head: { seq: head.seq } });
    const legacy = await db.selectFrom('audit_log').selectAll().where('uid', '=', 'legacy-1').executeTakeFirstOrThrow();
    expect(legacy.chain_seq).toBe(head.seq);
    expect(legacy.prev_hash).not.toBe(GENESIS_HASH);
    expect((await db.selectFrom('audit_chain_head').select('legacy_done').executeTakeFirstOrThrow()).legacy_done).toBe(
      1,
    );
    // A copy borrowing a record's uid (and so its sealed fields) is refused by the store.
    await expect(
      db
        .insertInto('audit_log')
        .values({ ...legacy, id: undefined as never, chain_seq: null, prev_hash: null, hash: null, action: 'forged' })
        .execute(),
    ).rejects.toThrow();
  });

  it('signs checkpoints every N records or T seconds, exports them and the hook sees each', async () => {
    const db = h.get().db;
    const sealer = await sealerFor(db);
    const out = join(mkdtempSync(join(tmpdir(), 'palisade-cp-')), 'checkpoints.jsonl');
    const seen: AuditCheckpoint[] = [];
    const sink = checkpointFileSink(out, join(tmpdir(), 'some-data-dir'));
    const cps = new AuditCheckpointer(db, sealer, clock, clock, silentLogger, {
      everyRecords: 5,
      everyMs: 60_000,
      pollMs: 1000,
      onCheckpoint: async (cp) => {
        seen.push(cp);
        await sink(cp);
      },
    });
    await cps.start();
    await cps.tick();
    const n0 = seen.length;
    for (let i = 0; i < 5; i++) await recordAudit(db, sealer, entry(clock.now(), i));
    await cps.tick();
    expect(seen.length).toBe(n0 + 1);
    await recordAudit(db, sealer, entry(clock.now(), 9));
    await cps.tick();
    expect(seen.length).toBe(n0 + 1); // one record, too soon
    clock.advance(61_000);
    await cps.tick();
    expect(seen.length).toBe(n0 + 2); // one record, but T passed
    await cps.stop();
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditCheckpoint);
    expect(lines).toEqual(seen);
    const cp = lines.at(-1) as AuditCheckpoint;
    const ok = verifyEd25519(
      Buffer.from(cp.publicKey, 'base64url'),
      checkpointMessage(cp.seq, cp.hash, cp.at),
      Buffer.from(cp.signature, 'base64url'),
    );
    expect(ok).toBe(true);
    const v = await verifyAuditChain(db, sealer);
    expect(v.ok).toBe(true);
    expect(v.checkpoints).toBeGreaterThanOrEqual(2);
    expect(() => checkpointFileSink(join(tmpdir(), 'd', 'x.jsonl'), join(tmpdir(), 'd'))).toThrow(/outside/);
  });

  it('feeds committed records to the bus in chain order, with sealed fields opened', async () => {
    const db = h.get().db;
    const sealer = await sealerFor(db);
    const bus = new InProcessBus();
    const got: SecurityEvent[] = [];
    bus.subscribe('security.recorded', (e) => void got.push(e.data));
    const feed = new AuditFeed(db, sealer, bus, clock, silentLogger, { pollMs: 200, batchSize: 3 });
    await feed.start();
    const start = feed.cursor();
    for (let i = 0; i < 7; i++) await recordAudit(db, sealer, entry(clock.now(), i));
    await withRequestContext({ drill: 'd1' }, () => recordAudit(db, sealer, entry(clock.now(), 7)));
    clock.advance(200);
    await feed.poll();
    expect(got.map((e) => e.seq)).toEqual(Array.from({ length: 8 }, (_, i) => start + i + 1));
    expect(got[0]).toMatchObject({
      category: 'admin',
      address: '192.0.2.0',
      details: { i: 0 },
      action: 'role.granted',
    });
    expect(got[1]?.category).toBe('authentication');
    expect(got[7]?.drill).toBe('d1');
    expect(feed.cursor()).toBe(start + 8);
    await feed.stop();
  });

  it('reads and exports with filters; sealed fields only for audit.read; every read audited', async () => {
    const db = h.get().db;
    const sealer = await sealerFor(db);
    for (let i = 0; i < 6; i++) await recordAudit(db, sealer, { ...entry(clock.now(), i), actorId: 'qa-actor' });
    const reader = { actorId: 'auditor-1', read: true, export: false, address: '203.0.113.9', now: clock.now() };
    const page = await queryAudit(db, sealer, reader, { actor: 'qa-actor', action: 'login.failed', limit: 2 });
    expect(page.records.map((r) => r.details)).toEqual([{ i: 1 }, { i: 3 }]);
    expect(page.next).toBe(page.records[1]?.seq);
    const rest = await queryAudit(db, sealer, reader, {
      actor: 'qa-actor',
      action: 'login.failed',
      after: page.next ?? 0,
    });
    expect(rest).toMatchObject({ records: [{ details: { i: 5 }, address: '192.0.2.5' }], next: null });
    await expect(queryAudit(db, sealer, { ...reader, read: false }, {})).rejects.toMatchObject({ code: 'forbidden' });
    const exporter = { actorId: 'co-1', read: false, export: true };
    const exported = [];
    for await (const r of exportAudit(db, sealer, exporter, { actor: 'qa-actor' })) exported.push(r);
    expect(exported).toHaveLength(6);
    expect(exported[0]).not.toHaveProperty('details');
    expect(exported[0]).not.toHaveProperty('address');
    await expect(exportAudit(db, sealer, reader, {}).next()).rejects.toMatchObject({ code: 'forbidden' });
    const reads = await queryAudit(db, sealer, reader, { actor: 'auditor-1', action: 'audit.read' });
    expect(reads.records[0]).toMatchObject({
      address: '203.0.113.9',
      details: { filter: { actor: 'qa-actor', action: 'login.failed', limit: 2 }, count: 2 },
    });
    const exports = await queryAudit(db, sealer, reader, { actor: 'co-1', action: 'audit.exported' });
    expect(exports.records[0]?.details).toEqual({ filter: { actor: 'qa-actor' }, opened: false });
    expect((await verifyAuditChain(db, sealer)).ok).toBe(true);
  });
});

describe('audit services at start', () => {
  it('chain old records, checkpoint on schedule and at stop, and feed new records', async () => {
    const { openStore } = await import('../store/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'palisade-audit-svc-'));
    const store = await openStore({ dataDir: dir });
    await store.migrate();
    const clock = new FakeClock(Date.UTC(2026, 0, 5, 10));
    const sealer = await auditSealer(store.db, clock);
    const bus = new InProcessBus();
    const seen: number[] = [];
    bus.subscribe('security.recorded', (e) => void seen.push(e.data.seq));
    const hooked: AuditCheckpoint[] = [];
    const file = join(mkdtempSync(join(tmpdir(), 'palisade-audit-out-')), 'cp.jsonl');
    const svc = await startAuditServices(
      { db: store.db, sealer, bus, clock, timers: clock, log: silentLogger },
      {
        checkpointEveryRecords: 3,
        checkpointEverySeconds: 60,
        checkpointFile: file,
        dataDir: dir,
        onCheckpoint: (cp) => void hooked.push(cp),
      },
    );
    for (let i = 0; i < 4; i++) await recordAudit(store.db, sealer, entry(clock.now(), i));
    clock.advance(1000);
    await svc.checkpointer.tick();
    await svc.feed.poll();
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(hooked.map((c) => c.seq)).toEqual([4]);
    await recordAudit(store.db, sealer, entry(clock.now(), 5));
    await svc.stop();
    expect(hooked.map((c) => c.seq)).toEqual([4, 5]);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(await verifyAuditChain(store.db, sealer)).toMatchObject({ ok: true, records: 5, checkpoints: 2 });
    // Security review: a tail cut with the head moved back and the checkpoints deleted fools the
    // database alone, not the exported checkpoints.
    const exported = await readExportedCheckpoints(file);
    const r3 = await store.db
      .selectFrom('audit_log')
      .select('hash')
      .where('chain_seq', '=', 3)
      .executeTakeFirstOrThrow();
    await store.db.deleteFrom('audit_log').where('chain_seq', '>', 3).execute();
    await store.db.deleteFrom('audit_checkpoints').execute();
    await store.db
      .updateTable('audit_chain_head')
      .set({ seq: 3, hash: r3.hash as string })
      .execute();
    expect((await verifyAuditChain(store.db, sealer)).ok).toBe(true);
    expect((await verifyAuditChain(store.db, sealer, { exported })).firstBad).toMatchObject({
      problem: 'truncated',
      seq: 4,
    });
    // And a record rewritten at an exported position is named.
    expect(
      (await verifyAuditChain(store.db, sealer, { exported: [{ seq: 3, hash: 'f'.repeat(64) }] })).firstBad,
    ).toMatchObject({ problem: 'bad_checkpoint', seq: 3 });
    await store.close();
  });
});

describe('checkpoint message', () => {
  it('binds seq, hash and time', () => {
    const a = Buffer.from(checkpointMessage(1, 'ab', 2)).toString();
    expect(a).not.toBe(Buffer.from(checkpointMessage(1, 'ab', 3)).toString());
    expect(a).not.toBe(Buffer.from(checkpointMessage(2, 'ab', 2)).toString());
  });
});
