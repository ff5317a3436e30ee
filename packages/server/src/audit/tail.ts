import type { Bus, Logger } from '../core/index.js';
import type { Sealer } from '../crypto/index.js';
import type { Db } from '../store/index.js';
import { openAudit, type OpenedAudit } from './record.js';

/** Event carrying one committed audit record, for detection and shipping to other systems. */
export const AUDIT_RECORDED = 'audit.recorded';

/** What `audit.recorded` carries: the record with its sealed address and details opened (never credentials or content: audit records hold none). */
export type AuditRecorded = OpenedAudit;

/**
 * Publishes every audit record on the bus after it has committed, in id order, by tailing the
 * append-only audit table. Records written in a transaction that rolls back are never published.
 * Known limit: on PostgreSQL, concurrent transactions can commit ids out of order, and a record that
 * commits after a higher id was read is skipped; SQLite's single writer has no such gap. A
 * commit-ordered feed (logical decoding or a per-transaction sequence) comes with clustering.
 */
export class AuditTail {
  private lastId = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly everyMs = 200,
  ) {}

  /** Starts after the newest existing record (history is not replayed). */
  async start(): Promise<void> {
    const row = await this.db.selectFrom('audit_log').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst();
    this.lastId = Number(row?.max ?? 0);
    this.timer = setInterval(() => void this.poll(), this.everyMs);
    this.timer.unref();
  }

  /** Publishes what was committed since the last poll. */
  poll(): Promise<void> {
    this.running ??= this.read().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.poll();
  }

  private async read(): Promise<void> {
    try {
      for (;;) {
        const rows = await this.db.selectFrom('audit_log').selectAll().where('id', '>', this.lastId).orderBy('id').limit(500).execute();
        for (const r of rows) {
          this.lastId = Number(r.id);
          const data: AuditRecorded = await openAudit(this.sealer, r);
          this.bus.publish({ type: AUDIT_RECORDED, data });
        }
        if (rows.length < 500) return;
      }
    } catch (e) {
      this.log.warn({ err: e }, 'audit tail failed; retrying');
    }
  }
}
