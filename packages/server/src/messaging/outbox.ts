import { sql } from 'kysely';
import {
  isReliableEventType,
  type Bus,
  type DomainEvent,
  type Logger,
  type ReliableEvents,
  type ReliableEventType,
} from '../core/index.js';
import { prepared, type Db, type Executor } from '../store/index.js';

const insertEvent = prepared<[type: string, data: string, createdAt: number], { id: number }>(
  3,
  (type, data, createdAt) =>
    sql`INSERT INTO outbox (type, data, created_at) VALUES (${type}, ${data}, ${createdAt}) RETURNING id`,
);

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

  /** Writes a reliable event's row inside the caller's transaction; returns its id. */
  async record<K extends ReliableEventType>(tx: Executor, type: K, data: ReliableEvents[K]): Promise<number> {
    const res = await insertEvent(tx, type, JSON.stringify(data), this.now());
    return Number((res.rows[0] as { id: number }).id);
  }

  /** Publishes an event whose transaction has committed, and schedules its row for deletion. */
  published(id: number, event: DomainEvent<ReliableEventType>): void {
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
    for (const r of rows) {
      // Rows are written by `record` only, so their data has the type's shape (JSON: a replayed
      // `message.sent` carries no message). A type no longer in the catalogue is dropped, not replayed.
      if (isReliableEventType(r.type)) {
        const data = JSON.parse(r.data) as unknown;
        this.published(Number(r.id), { type: r.type, data } as DomainEvent<ReliableEventType>);
      } else {
        this.log.warn({ event: r.type }, 'outbox row of an unknown event type dropped');
        this.done.push(Number(r.id));
      }
    }
    await this.flush();
    return rows.length;
  }
}
