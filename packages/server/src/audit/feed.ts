import { securityCategory, type Bus, type Logger, type SecurityEvent, type Timers } from '../core/index.js';
import type { Sealer } from '../crypto/index.js';
import type { Executor } from '../store/index.js';
import { openAudit } from './record.js';

/** Options of the feed. */
export interface AuditFeedOptions {
  /** How often committed records are looked for (default 200 ms). */
  pollMs?: number;
  /** Records per query (default 500). */
  batchSize?: number;
}

/**
 * Publishes every committed audit record as a `security.recorded` event, in chain (= commit) order.
 * Since chain positions are handed out under the head's lock and become visible in that order, a
 * reader of `chain_seq > cursor` never skips a record that commits later.
 * Idle cost: one indexed query per poll. It runs on its own timer, off the message path.
 */
export class AuditFeed {
  private at = 0;
  private stopTimer: (() => void) | undefined;
  private running = false;
  private polling: Promise<void> | undefined;
  private readonly pollMs: number;
  private readonly batchSize: number;

  constructor(
    private readonly db: Executor,
    private readonly sealer: Sealer,
    private readonly bus: Bus,
    private readonly timers: Timers,
    private readonly log: Logger,
    opts: AuditFeedOptions = {},
  ) {
    this.pollMs = opts.pollMs ?? 200;
    this.batchSize = opts.batchSize ?? 500;
  }

  /** Starts publishing records after `fromSeq` (default: the current head, so only new records). */
  async start(fromSeq?: number): Promise<void> {
    if (fromSeq === undefined) {
      const head = await this.db.selectFrom('audit_chain_head').select('seq').where('id', '=', 1).executeTakeFirst();
      fromSeq = Number(head?.seq ?? 0);
    }
    this.at = fromSeq;
    this.running = true;
    this.schedule();
  }

  /** Stops; waits for a poll in progress. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopTimer?.();
    this.stopTimer = undefined;
    await this.polling;
  }

  /** The seq of the last record published. */
  cursor(): number {
    return this.at;
  }

  /** Publishes everything committed after the cursor now (tests and shutdown call it). */
  poll(): Promise<void> {
    this.polling ??= this.drain().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private schedule(): void {
    if (!this.running) return;
    this.stopTimer = this.timers.setTimeout(() => {
      void this.poll().finally(() => this.schedule());
    }, this.pollMs);
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        const rows = await this.db
          .selectFrom('audit_log')
          .selectAll()
          .where('chain_seq', '>', this.at)
          .orderBy('chain_seq')
          .limit(this.batchSize)
          .execute();
        for (const r of rows) {
          const seq = Number(r.chain_seq);
          // SECURITY: a record whose sealed fields do not open is published without them (the chain
          // verifier reports it); the feed never stops on one bad row.
          const opened = await openAudit(this.sealer, r).catch(() => undefined);
          const event: SecurityEvent = {
            seq,
            at: Number(r.at),
            action: r.action,
            category: securityCategory(r.action),
            actorId: r.actor_id,
            target: r.target,
            address: opened?.address ?? null,
            outcome: r.outcome,
            details: opened?.details ?? {},
            ...(r.drill ? { drill: r.drill } : {}),
          };
          this.at = seq;
          this.bus.publish({ type: 'security.recorded', data: event });
        }
        if (rows.length < this.batchSize) return;
      }
    } catch (err) {
      this.log.error({ err }, 'audit feed poll failed');
    }
  }
}
