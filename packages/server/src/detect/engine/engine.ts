import type { Clock, Logger, Timers } from '../../core/index.js';
import { randomId, type Sealer } from '../../crypto/index.js';
import type { Db } from '../../store/index.js';
import { deviation } from '../baseline/detectors.js';
import { observeActivity } from '../baseline/model.js';
import { Baselines } from '../baseline/store.js';
import type { Finding, FindingSubject } from '../types.js';
import { keyOf, RuleWindows, subjectOf } from './evaluate.js';
import { AccountNames, type DetectInput, type Observation, observe, SessionDevices } from './observe.js';
import { configuredRules, type Matcher, matches, type Rule, type RuleOverride } from './rules.js';

/** The engine's settings (the `detect` configuration section has this shape). */
export interface DetectEngineConfig {
  enabled?: boolean;
  /** Days of history a baseline needs before its rules fire. */
  learningDays: number;
  /** Seconds between periodic saves (`start`). */
  saveEverySeconds?: number;
  rules?: Record<string, RuleOverride>;
}

/** What the engine needs. */
export interface DetectEngineOptions {
  db: Db;
  sealer: Sealer;
  clock: Clock;
  log: Logger;
  config: DetectEngineConfig;
}

/** What a rule looks at: its selection and, for distinct rules, its successes. */
const selectors = (r: Rule): Matcher[] => (r.kind === 'distinct' ? [...r.select, ...(r.successes ?? [])] : r.select);

const CURSOR_KEY = 'feed.cursor';
const SWEEP_MS = 60_000;
const MAX_SERVICE_IDS = 100_000;

/**
 * The detection engine: normalises each security event or signal, updates the rules' sliding windows
 * and the behaviour baselines, and returns the findings it caused. `ingest` is synchronous and in
 * memory (amortised O(1) per observation per matching rule); `save` persists the baselines and the
 * audit feed cursor. SECURITY: observations of category `detection` (the engine's own records) are
 * never counted; drill traffic is counted like any other and labelled on the findings it causes.
 */
export class DetectionEngine {
  private readonly rules: Rule[];
  private readonly byName = new Map<string, RuleWindows[]>();
  private readonly lastFired = new Map<string, number>();
  private readonly names = new AccountNames();
  private readonly services = new Set<string>();
  private readonly sessions = new SessionDevices();
  private readonly baselines: Baselines;
  private seq = 0;
  private cursorDirty = false;
  private lastSweep = 0;
  private stopTimer: (() => void) | undefined;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly opts: DetectEngineOptions) {
    this.rules = configuredRules(opts.config.rules).filter((r) => r.enabled !== false);
    for (const r of this.rules) {
      const w = new RuleWindows(r, (rule, subject, at) => this.cooling(rule, subject, at));
      for (const name of new Set(selectors(r).map((m) => m.name)))
        this.byName.set(name, [...(this.byName.get(name) ?? []), w]);
    }
    this.baselines = new Baselines(opts.db, opts.sealer);
  }

  /** The rules in force (after configuration). */
  activeRules(): readonly Rule[] {
    return this.rules;
  }

  /** Reads the baselines and the feed cursor back. */
  async load(): Promise<void> {
    const { loaded, skipped } = await this.baselines.load();
    const row = await this.opts.db
      .selectFrom('detect_state')
      .select('value')
      .where('key', '=', CURSOR_KEY)
      .executeTakeFirst();
    this.seq = row ? Number(row.value) : 0;
    this.opts.log.info({ baselines: loaded, skipped, cursor: this.seq }, 'detection state loaded');
  }

  /** The last audit chain position ingested (or set). */
  cursor(): number {
    return this.seq;
  }
  /** Sets the feed cursor (saved by the next `save`). */
  setCursor(seq: number): void {
    this.seq = seq;
    this.cursorDirty = true;
  }

  /**
   * Feeds one event or signal; returns the findings it caused (not stored: see FindingStore). Never
   * throws: it runs inside the publisher of every signal; a fault is logged and the input skipped.
   */
  ingest(input: DetectInput): Finding[] {
    if (this.opts.config.enabled === false) return [];
    try {
      return this.ingestOne(input);
    } catch (err) {
      this.opts.log.error({ err, kind: input.kind }, 'detection skipped an input');
      return [];
    }
  }

  private ingestOne(input: DetectInput): Finding[] {
    if (input.kind === 'event') {
      if (input.event.seq > this.seq) this.setCursor(input.event.seq);
      // SECURITY: the engine's own containment and alert records never feed back into detection.
      if (input.event.category === 'detection') return [];
    }
    const o = observe(input, this.names, (id) => this.services.has(id));
    this.learnService(o);
    this.sessions.note(o);
    const out: Finding[] = [];
    for (const rw of this.byName.get(o.name) ?? []) {
      if (!selectors(rw.rule).some((m) => matches(m, o))) continue;
      const f = rw.rule.kind === 'baseline' ? this.baselineFinding(rw.rule, o) : this.toFinding(rw.rule, o, rw);
      if (f) out.push(f);
    }
    this.updateBaselines(o);
    if (o.at - this.lastSweep >= SWEEP_MS) this.sweep(o.at);
    return out;
  }

  /** Saves the changed baselines and the cursor (saves never overlap: each waits for the one before). */
  save(): Promise<void> {
    const next = this.saving.catch(() => undefined).then(() => this.saveNow());
    this.saving = next;
    return next;
  }

  private async saveNow(): Promise<void> {
    const now = this.opts.clock.now();
    const saved = await this.baselines.save(now);
    if (this.cursorDirty) {
      this.cursorDirty = false;
      const value = String(this.seq);
      try {
        await this.opts.db
          .insertInto('detect_state')
          .values({ key: CURSOR_KEY, value })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
          .execute();
      } catch (err) {
        this.cursorDirty = true;
        throw err;
      }
    }
    if (saved) this.opts.log.debug({ baselines: saved }, 'detection baselines saved');
  }

  /** Saves every `saveEverySeconds` (default 60) until `stop`. */
  start(timers: Timers): void {
    const every = (this.opts.config.saveEverySeconds ?? 60) * 1000;
    this.stopTimer = timers.setInterval(() => {
      this.save().catch((err: unknown) => this.opts.log.warn({ err }, 'detection state not saved'));
    }, every);
  }

  /** Stops the periodic save and saves once more. */
  async stop(): Promise<void> {
    this.stopTimer?.();
    this.stopTimer = undefined;
    await this.save();
  }

  private learnService(o: Observation): void {
    if (!o.service || !o.actor || this.services.has(o.actor)) return;
    if (this.services.size >= MAX_SERVICE_IDS) this.services.clear();
    this.services.add(o.actor);
  }

  private toFinding(rule: Rule, o: Observation, rw: RuleWindows): Finding | null {
    const v = rw.observe(o);
    if (!v) return null;
    return this.fire(rule, o.at, v);
  }

  private baselineFinding(rule: Rule, o: Observation): Finding | null {
    if (rule.kind !== 'baseline') return null;
    const key = keyOf(o, rule.key);
    if (key === null) return null;
    const subject = rule.metric === 'offhours_org' || rule.metric === 'org_connections' ? 'org' : `user:${key}`;
    const model = this.baselines.peek(subject);
    if (!model) return null;
    const d = deviation(rule.metric, model, {
      at: o.at,
      weight: o.weight,
      network: o.network,
      threshold: rule.threshold,
      learningDays: this.opts.config.learningDays,
    });
    if (!d) return null;
    const s = subjectOf(rule.key, key, o);
    return this.fire(rule, o.at, {
      ...s,
      ...(o.address ? { address: o.address } : {}),
      explanation: d.explanation,
      evidence: { ...d.evidence, firstAt: d.firstSeenAt, lastAt: o.at, seqs: o.seq !== null ? [o.seq] : [] },
      firstSeenAt: d.firstSeenAt,
      ...(o.drill !== undefined ? { drill: o.drill } : {}),
    });
  }

  /** True while a finding of `rule` on `subject` would repeat one made less than a cool-down ago. */
  private cooling(rule: Rule, subject: FindingSubject, at: number): boolean {
    const last = this.lastFired.get(`${rule.id}|${subject.kind}|${subject.id}`);
    return last !== undefined && at - last < (rule.cooldownSeconds ?? Math.max(rule.windowSeconds, 3600)) * 1000;
  }

  /** De-duplicates (one finding per rule and subject per cool-down) and builds the finding. */
  private fire(rule: Rule, at: number, v: Omit<Finding, 'id' | 'ruleId' | 'severity' | 'at'>): Finding | null {
    if (this.cooling(rule, v.subject, at)) return null;
    this.lastFired.set(`${rule.id}|${v.subject.kind}|${v.subject.id}`, at);
    const variant = rule.variant ? { variant: rule.variant } : {};
    return {
      id: randomId(),
      ruleId: rule.id,
      severity: rule.severity,
      at: this.opts.clock.now(),
      ...v,
      evidence: { ...v.evidence, ...variant },
    };
  }

  /**
   * Gives an account a learned activity history (for drills, which run in real time): on every
   * weekday of the `days` before `now`, `readsPerHour` messages read and one connection in each of
   * `hours` (UTC), from `network`. SECURITY: only the admin socket's drill set-up calls this, for the
   * drill's own synthetic accounts; it changes what the off-hours rules expect of that account only.
   */
  seedBaseline(
    userId: string,
    opts: { now: number; days: number; hours: readonly number[]; readsPerHour: number; network: string },
  ): void {
    const day = 86_400_000;
    const start = Math.floor((opts.now - opts.days * day) / day) * day;
    const user = `user:${userId}`;
    for (let d = 0; d < opts.days; d++) {
      const midnight = start + d * day;
      const weekday = new Date(midnight).getUTCDay();
      if (weekday === 0 || weekday === 6) continue;
      for (const h of [...opts.hours].sort((a, b) => a - b)) {
        const at = midnight + h * 3_600_000 + 60_000;
        if (at >= opts.now) continue;
        observeActivity(this.baselines.get(user, at), {
          at,
          reads: opts.readsPerHour,
          connections: 1,
          network: opts.network,
        });
      }
    }
    this.baselines.touch(user);
  }

  private updateBaselines(o: Observation): void {
    if (o.outcome !== 'success' || !o.actor) return;
    const reads = o.name === 'signal:history.read' ? o.weight : 0;
    const connections = o.name === 'signal:connection.opened' ? 1 : 0;
    const user = `user:${o.actor}`;
    observeActivity(this.baselines.get(user, o.at), { at: o.at, reads, connections, network: o.network });
    observeActivity(this.baselines.get('org', o.at), { at: o.at, connections });
    this.baselines.touch(user);
    this.baselines.touch('org');
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const list of this.byName.values()) for (const rw of list) rw.sweep(now);
    for (const [k, at] of this.lastFired) if (now - at > 7 * 86_400_000) this.lastFired.delete(k);
  }
}
