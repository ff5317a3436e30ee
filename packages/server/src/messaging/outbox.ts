import { sql } from 'kysely';
import type { Bus, DomainEvent, Logger } from '../core/index.js';
import type { Db, Executor } from '../store/index.js';

/**
 * Transactional outbox: events are written in the same transaction as the change they describe and
 * published only after COMMIT. Rows are deleted in batches once published; rows left by a crash are
 * published again at start (at-least-once; consumers dedupe by sequence number).
 */
export class Outbox {
  private done: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** Writes an event row inside the caller's transaction; returns its id. */
  async record(tx: Executor, type: string, data: unknown): Promise<number> {
    const res = await sql<{
      id: number;
    }>`INSERT INTO outbox (type, data, created_at) VALUES (${type}, ${JSON.stringify(data)}, ${this.now()}) RETURNING id`.execute(
      tx,
    );
    return Number((res.rows[0] as { id: number }).id);
  }

  /** Publishes an event whose transaction has committed, and schedules its row for deletion. */
  published(id: number, event: DomainEvent): void {
    this.bus.publish(event);
    this.done.push(id);
    if (this.done.length >= 500) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), 100);
  }

  /** Deletes the rows of published events. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const ids = this.done;
    this.done = [];
    if (ids.length === 0) return;
    try {
      await this.db.deleteFrom('outbox').where('id', 'in', ids).execute();
    } catch (e) {
      this.log.warn({ err: e, count: ids.length }, 'outbox clean-up failed; will retry');
      this.done.push(...ids);
    }
  }

  /** Publishes every row left from before a crash, oldest first, then deletes them. */
  async recover(): Promise<number> {
    const rows = await this.db.selectFrom('outbox').selectAll().orderBy('id').execute();
    for (const r of rows) this.published(Number(r.id), { type: r.type, data: JSON.parse(r.data) as unknown });
    await this.flush();
    return rows.length;
  }
}
