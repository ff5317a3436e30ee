import type { Bus, Logger } from '../core/index.js';
import type { DetectInput } from './engine/observe.js';
import type { Finding } from './types.js';

/** What the service needs of the engine (detect/engine). */
export interface EnginePort {
  ingest(input: DetectInput): Finding[];
  /** The last audit chain position ingested (persisted by `save`). */
  cursor(): number;
  setCursor(seq: number): void;
  save(): Promise<void>;
}

/** Where findings go: stored, contained, alerted. */
export interface FindingPorts {
  save(finding: Finding): Promise<void>;
  respond?(finding: Finding): Promise<unknown>;
  raise?(finding: Finding): Promise<unknown>;
}

/** Counters of the service, for metrics and `security status`. */
export interface DetectionStats {
  ingested: number;
  dropped: number;
  findings: number;
  failures: number;
  queued: number;
}

/** Inputs handled per event-loop turn: detection yields to the message path between slices. */
const SLICE = 256;

/**
 * Detection as a bus subscriber, off the message path: bus handlers only queue (O(1), bounded); the
 * queue is drained in slices on later turns of the event loop; findings are then stored, contained
 * and alerted one after the other (containment first: it is what stops the attack).
 * SECURITY (availability): the queue is bounded; under a flood new signals are dropped and
 * counted, never audit records.
 */
export class DetectionService {
  private readonly queue: DetectInput[] = [];
  private head = 0;
  private scheduled = false;
  private unsubscribe: (() => void)[] = [];
  private findingsChain: Promise<void> = Promise.resolve();
  private saveTimer: NodeJS.Timeout | undefined;
  private readonly counters = { ingested: 0, dropped: 0, findings: 0, failures: 0 };

  constructor(
    private readonly bus: Bus,
    private readonly engine: EnginePort,
    private readonly out: FindingPorts,
    private readonly log: Logger,
    private readonly opts: { maxQueue?: number; saveEveryMs?: number; onFinding?: (f: Finding) => void } = {},
  ) {}

  /** Subscribes to the security stream and saves the engine's state periodically. */
  start(): void {
    this.unsubscribe.push(
      this.bus.subscribe('security.recorded', (e) => this.enqueue({ kind: 'event', event: e.data })),
      this.bus.subscribe('security.signal', (e) => this.enqueue({ kind: 'signal', signal: e.data })),
    );
    const every = this.opts.saveEveryMs ?? 30_000;
    this.saveTimer = setInterval(() => void this.saveState(), every);
    this.saveTimer.unref();
  }

  /** Stops listening, handles what is queued, waits for findings in hand and saves the state. */
  async stop(): Promise<void> {
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    if (this.saveTimer) clearInterval(this.saveTimer);
    this.drain(Number.POSITIVE_INFINITY);
    await this.findingsChain;
    await this.saveState();
  }

  /** Waits until everything queued so far is ingested and its findings handled (tests, drills). */
  async settled(): Promise<void> {
    while (this.head < this.queue.length || this.scheduled) {
      await new Promise<void>((r) => setImmediate(r));
    }
    await this.findingsChain;
  }

  /** The service's counters. */
  stats(): DetectionStats {
    return { ...this.counters, queued: this.queue.length - this.head };
  }

  private enqueue(input: DetectInput): void {
    // A full queue refuses new signals; audit records are always taken (the store bounds them).
    if (input.kind === 'signal' && this.queue.length - this.head >= (this.opts.maxQueue ?? 100_000)) {
      this.counters.dropped++;
      return;
    }
    this.queue.push(input);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.turn());
    }
  }

  private turn(): void {
    this.drain(SLICE);
    if (this.head < this.queue.length) setImmediate(() => this.turn());
    else this.scheduled = false;
  }

  private drain(limit: number): void {
    let n = 0;
    while (this.head < this.queue.length && n < limit) {
      const input = this.queue[this.head++] as DetectInput;
      n++;
      if (input.kind === 'event') {
        // At-least-once feed: a record at or before the cursor was ingested before a restart.
        if (input.event.seq <= this.engine.cursor()) continue;
        this.engine.setCursor(input.event.seq);
      }
      this.counters.ingested++;
      let found: Finding[];
      try {
        found = this.engine.ingest(input);
      } catch (e) {
        this.counters.failures++;
        this.log.error({ err: e }, 'a detection rule failed on an input; it was skipped');
        continue;
      }
      for (const f of found) this.handle(f);
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  private handle(f: Finding): void {
    this.counters.findings++;
    this.opts.onFinding?.(f);
    this.findingsChain = this.findingsChain.then(async () => {
      try {
        await this.out.save(f);
        // Containment first, then people: the response must not wait for a mail server.
        await this.out.respond?.(f);
        await this.out.raise?.(f);
      } catch (e) {
        this.counters.failures++;
        this.log.error({ err: e, rule: f.ruleId, finding: f.id }, 'handling a finding failed');
      }
    });
  }

  private async saveState(): Promise<void> {
    try {
      await this.engine.save();
    } catch (e) {
      this.log.warn({ err: e }, 'saving detection state failed; retried at the next save');
    }
  }
}
