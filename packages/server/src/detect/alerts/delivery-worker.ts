import type { Bus, Clock, Logger, Timers } from '../../core/index.js';
import type { Sealer } from '../../crypto/index.js';
import type { Db } from '../../store/index.js';
import type { AlertChannel } from './channels/index.js';
import { openAlertRow, toPayload } from './model.js';

/** What the delivery worker needs. */
export interface DeliveryWorkerDeps {
  db: Db;
  sealer: Sealer;
  /** Wall time for `next_at` and ages (stored, shared between processes). */
  clock: Clock;
  /** The poll timer (a FakeClock in tests). */
  timers: Timers;
  log: Logger;
  channels: readonly AlertChannel[];
  /** A delivery still failing this long after it was enqueued is given up (state dead). */
  maxAgeHours: number;
  /** The longest wait between attempts. */
  maxBackoffMinutes: number;
  /** When given, an `alert.raised` event starts a pass at once instead of at the next poll. */
  bus?: Bus;
  /** Poll interval (default 5 s). */
  pollMs?: number;
  /** Deliveries sent in parallel per pass (default 16). */
  batch?: number;
  /** [0, 1) source for the jitter (tests pin it). */
  random?: () => number;
}

/** The first retry's wait; each further one doubles, up to `maxBackoffMinutes`. */
export const BASE_BACKOFF_MS = 5_000;

/**
 * The wait before retry number `attempts` (1 after the first failure): exponential from 5 s, capped,
 * with "equal jitter" (between half and all of it), so receivers coming back are not hit in lockstep.
 */
export function backoffMs(attempts: number, capMs: number, random: () => number): number {
  const exp = Math.min(capMs, BASE_BACKOFF_MS * 2 ** Math.min(30, Math.max(0, attempts - 1)));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

/**
 * Sends pending alert deliveries (table alert_deliveries) and retries failures with backoff, until
 * delivered or too old (dead, logged as an error). Rows are the queue: what was pending at stop or
 * a crash is sent after the next start. A row is claimed (its next_at moved past the attempt) before
 * it is sent, so two workers over one database do not send it twice at once.
 */
export class DeliveryWorker {
  private stopTimer: (() => void) | undefined;
  private cancelWake: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopping = false;
  private readonly channels: Map<string, AlertChannel>;

  constructor(private readonly deps: DeliveryWorkerDeps) {
    this.channels = new Map(deps.channels.map((c) => [c.name, c]));
  }

  /** Starts polling (and a first pass now). Idempotent. */
  start(): void {
    if (this.stopTimer) return;
    this.stopping = false;
    this.stopTimer = this.deps.timers.setInterval(() => this.kick(), this.deps.pollMs ?? 5_000);
    this.unsubscribe = this.deps.bus?.subscribe('alert.raised', () => this.kick());
    this.kick();
  }

  /** Stops polling and waits for the attempts in flight to end; pending rows stay for the next start. */
  async stop(): Promise<void> {
    this.stopTimer?.();
    this.stopTimer = undefined;
    this.cancelWake?.();
    this.cancelWake = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.again = false;
    this.stopping = true;
    await this.idle();
  }

  /** Closes the channels' pooled connections (after `stop`). */
  async close(): Promise<void> {
    await this.stop();
    await Promise.all([...this.channels.values()].map((c) => (c.close ? c.close() : Promise.resolve())));
  }

  /** Starts a pass now (or right after the one running). */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
      // A kick that came after the loop's last check still gets its pass.
      if (this.again && this.stopTimer) this.kick();
    });
  }

  /** Resolves when no pass is running. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** One pass: sends every delivery due now (in batches). Returns how many were attempted. */
  async runOnce(): Promise<number> {
    const { db, clock } = this.deps;
    let attempted = 0;
    for (;;) {
      const now = clock.now();
      const due = await db
        .selectFrom('alert_deliveries')
        .selectAll()
        .where('state', '=', 'pending')
        .where('next_at', '<=', now)
        .orderBy('next_at')
        .orderBy('id')
        .limit(this.deps.batch ?? 16)
        .execute();
      if (due.length === 0) return attempted;
      await Promise.all(due.map((d) => this.attempt(d, now)));
      attempted += due.length;
      if (this.stopping) return attempted;
    }
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.runOnce();
      } catch (e) {
        this.deps.log.error({ err: errorText(e) }, 'alert delivery pass failed');
      }
      if (!this.again && this.stopTimer) await this.wakeAtNextDue();
    } while (this.again && this.stopTimer);
  }

  /** Sets a timer for the earliest pending retry, so a backoff ends on time rather than at the next poll. */
  private async wakeAtNextDue(): Promise<void> {
    try {
      const r = await this.deps.db
        .selectFrom('alert_deliveries')
        .select((eb) => eb.fn.min('next_at').as('next'))
        .where('state', '=', 'pending')
        .executeTakeFirst();
      this.cancelWake?.();
      this.cancelWake = undefined;
      if (r?.next === null || r?.next === undefined || !this.stopTimer) return;
      const wait = Math.max(0, Number(r.next) - this.deps.clock.now());
      this.cancelWake = this.deps.timers.setTimeout(() => this.kick(), wait);
    } catch (e) {
      this.deps.log.warn({ err: errorText(e) }, 'alert delivery: could not read the next retry time');
    }
  }

  private async attempt(
    d: { id: string; alert_id: string; channel: string; attempts: number; created_at: number; next_at: number },
    now: number,
  ): Promise<void> {
    const { db, clock, log } = this.deps;
    const channel = this.channels.get(d.channel);
    const attempts = Number(d.attempts) + 1;
    // Claim: nobody else sends it while this attempt runs (the lease outlasts a channel timeout).
    const lease = now + 15 * 60_000;
    const claimed = await db
      .updateTable('alert_deliveries')
      .set({ next_at: lease })
      .where('id', '=', d.id)
      .where('state', '=', 'pending')
      .where('next_at', '=', Number(d.next_at))
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) return;
    let error: string | undefined;
    try {
      if (!channel) throw new Error(`channel ${d.channel} is not configured`);
      const row = await db.selectFrom('alerts').selectAll().where('id', '=', d.alert_id).executeTakeFirst();
      if (!row) throw new Error('the alert is gone');
      await channel.send(toPayload(await openAlertRow(this.deps.sealer, row)));
    } catch (e) {
      error = errorText(e);
    }
    const at = clock.now();
    if (error === undefined) {
      await db
        .updateTable('alert_deliveries')
        .set({ state: 'delivered', attempts, delivered_at: at, last_error: null })
        .where('id', '=', d.id)
        .execute();
      log.info({ deliveryId: d.id, alertId: d.alert_id, channel: d.channel, attempts }, 'alert delivered');
      return;
    }
    const dead = at - Number(d.created_at) >= this.deps.maxAgeHours * 3_600_000;
    const wait = backoffMs(attempts, this.deps.maxBackoffMinutes * 60_000, this.deps.random ?? Math.random);
    await db
      .updateTable('alert_deliveries')
      .set({ state: dead ? 'dead' : 'pending', attempts, next_at: dead ? at : at + wait, last_error: error })
      .where('id', '=', d.id)
      .execute();
    const fields = { deliveryId: d.id, alertId: d.alert_id, channel: d.channel, attempts, err: error };
    if (dead) log.error(fields, 'alert delivery given up: too old');
    else log.warn({ ...fields, retryInMs: wait }, 'alert delivery failed; will retry');
  }
}

/** An error's message, cut to 500 characters (stored and logged; channel errors hold no secrets). */
function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).slice(0, 500);
}
