import type { Logger } from '../core/index.js';
import type { Db } from '../store/index.js';

/** How often buffered delivery cursors are written. */
const FLUSH_MS = 200;

/**
 * Buffers delivery-cursor updates and writes them together every 200 ms (and on close).
 * A cursor only says where to resume; losing the last few hundred milliseconds of them in a crash
 * re-delivers those messages, which clients drop by sequence number. Messages themselves are never
 * buffered: they are committed before they are acknowledged.
 */
export class CursorWriter {
  private pending = new Map<string, { deviceId: string; conversationId: string; seq: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  /** Records that `deviceId` has everything up to `seq` in the conversation. */
  record(deviceId: string, conversationId: string, seq: number): void {
    const key = `${deviceId}\u0000${conversationId}`;
    const cur = this.pending.get(key);
    if (!cur || cur.seq < seq) this.pending.set(key, { deviceId, conversationId, seq });
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** The buffered (not yet written) cursor of a device in a conversation, if any. */
  buffered(deviceId: string, conversationId: string): number | undefined {
    return this.pending.get(`${deviceId}\u0000${conversationId}`)?.seq;
  }

  /** Writes everything buffered. Cursors only move forward. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rows = [...this.pending.values()];
    this.pending = new Map();
    if (rows.length === 0) return;
    try {
      await this.db.transaction().execute(async (tx) => {
        for (const r of rows) {
          await tx
            .insertInto('device_cursors')
            .values({ device_id: r.deviceId, conversation_id: r.conversationId, delivered_seq: r.seq })
            .onConflict((oc) =>
              oc
                .columns(['device_id', 'conversation_id'])
                .doUpdateSet((eb) => ({ delivered_seq: eb.ref('excluded.delivered_seq') }))
                .where('device_cursors.delivered_seq', '<', r.seq),
            )
            .execute();
        }
      });
    } catch (e) {
      this.log.warn({ err: e, count: rows.length }, 'writing delivery cursors failed; will retry');
      for (const r of rows) this.record(r.deviceId, r.conversationId, r.seq);
    }
  }
}
