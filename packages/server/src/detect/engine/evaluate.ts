import type { FindingSubject } from '../types.js';
import type { Observation } from './observe.js';
import { type KeyField, matches, type Rule } from './rules.js';
import { SlidingWindow } from './windows.js';

/** A rule's verdict before it becomes a Finding (the engine adds id, rule, severity, time). */
export interface Verdict {
  subject: FindingSubject;
  userId?: string;
  address?: string;
  explanation: string;
  evidence: Record<string, unknown>;
  firstSeenAt: number;
  drill?: string;
}

/**
 * The value of a key field for an observation (null: the rule does not apply to it). As a window's key
 * a failed login on an unknown name has no account; as a distinct value (`asValue`) it is one of its own.
 */
export function keyOf(o: Observation, field: KeyField, asValue = false): string | null {
  switch (field) {
    case 'org':
      return 'org';
    case 'targetHead':
      return o.target ? (o.target.split('/')[0] ?? o.target) : null;
    case 'account':
      // A failed login on an unknown name without the name in its details: an account of its own.
      return o.account ?? (asValue && o.name === 'login.failed' ? `unknown:${o.seq ?? o.at}` : null);
    default:
      return o[field];
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
/** "41 s", "12 min", "2 h". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

/** The subject of a finding keyed by `field` = `key`. */
export function subjectOf(
  field: KeyField,
  key: string,
  o: Observation,
  w?: SlidingWindow,
): { subject: FindingSubject; userId?: string } {
  switch (field) {
    case 'address':
      return { subject: { kind: 'address', id: key } };
    case 'network': {
      const only = w && w.addresses.size === 1 ? [...w.addresses.keys()][0] : undefined;
      return { subject: only ? { kind: 'address', id: only } : { kind: 'network', id: key } };
    }
    case 'session':
      return { subject: { kind: 'session', id: key }, ...(o.actor ? { userId: o.actor } : {}) };
    case 'org':
      return { subject: { kind: 'organisation', id: 'org' } };
    default: {
      const kind = o.service ? 'service_account' : 'account';
      const isId = !key.startsWith('name:') && !key.startsWith('unknown:');
      return { subject: { kind, id: key }, ...(isId ? { userId: key } : {}) };
    }
  }
}

const where = (field: KeyField, key: string): string =>
  field === 'address' || field === 'network'
    ? `from ${key}`
    : field === 'org'
      ? 'in the organisation'
      : field === 'session'
        ? `on session ${key}`
        : `by ${key}`;

/** The first `n` items of an iterator. */
function first(it: Iterable<string>, n: number): string[] {
  const out: string[] = [];
  for (const v of it) {
    if (out.length >= n) break;
    out.push(v);
  }
  return out;
}

/** Keys (windows) one rule holds at most. */
export const MAX_KEYS = 100_000;

/** Per-rule state: one sliding window per key. */
export class RuleWindows {
  readonly windows = new Map<string, SlidingWindow>();
  /**
   * `cooling` says whether a finding for this rule and subject would be de-duplicated: asked before a
   * verdict is built, so an attack that goes on costs O(1) per input after its finding.
   */
  constructor(
    readonly rule: Rule,
    private readonly cooling: (rule: Rule, subject: FindingSubject, at: number) => boolean = () => false,
  ) {}

  /** Adds `o` to its key's window and returns a verdict when the rule's test passes. */
  observe(o: Observation): Verdict | null {
    const r = this.rule;
    const key = keyOf(o, r.key);
    if (key === null) return null;
    if (r.kind === 'match') return this.matchVerdict(o, key);
    let w = this.windows.get(key);
    if (!w) {
      // SECURITY: bounded memory under a flood of distinct keys (addresses, names): the oldest key goes.
      if (this.windows.size >= MAX_KEYS) this.windows.delete(this.windows.keys().next().value as string);
      w = new SlidingWindow(r.windowSeconds * 1000, r.kind === 'distinct' ? (r.maxPerValue ?? Infinity) : Infinity);
      this.windows.set(key, w);
    }
    if (r.kind === 'count') {
      w.add({ at: o.at, weight: o.weight, seq: o.seq, drill: o.drill, address: o.address });
      if (w.sum < r.threshold) return null;
      const s = subjectOf(r.key, key, o, w);
      if (this.cooling(r, s.subject, o.at)) return null;
      return {
        ...s,
        ...(o.address ? { address: o.address } : {}),
        explanation: `${r.title}: ${fmt(w.sum)} ${where(r.key, key)} in ${duration(w.lastAt() - w.firstAt())} (threshold ${fmt(r.threshold)} in ${duration(r.windowSeconds * 1000)})`,
        evidence: this.evidence(w, { count: w.sum }),
        firstSeenAt: w.firstAt(),
        ...(w.drill() !== undefined ? { drill: w.drill() } : {}),
      };
    }
    if (r.kind !== 'distinct') return null;
    const value = keyOf(o, r.value, true);
    if (value === null) return null;
    const success = (r.successes ?? []).some((m) => matches(m, o));
    w.add({ at: o.at, weight: 1, seq: o.seq, drill: o.drill, value, success, address: o.address });
    const distinct = r.maxPerValue !== undefined ? w.fewValues : w.values.size;
    if (distinct < r.threshold) return null;
    const ratio = w.sum > 0 ? w.successes / w.sum : 0;
    if (r.maxSuccessRatio !== undefined && ratio > r.maxSuccessRatio) return null;
    const s = subjectOf(r.key, key, o, w);
    if (this.cooling(r, s.subject, o.at)) return null;
    const each = r.maxPerValue !== undefined ? ` tried at most ${r.maxPerValue} times each` : '';
    return {
      ...s,
      ...(o.address ? { address: o.address } : {}),
      explanation: `${r.title}: ${fmt(distinct)} distinct ${r.value}s${each} ${where(r.key, key)} in ${duration(w.lastAt() - w.firstAt())}, ${fmt(w.sum)} attempts, ${(ratio * 100).toFixed(0)} % succeeded (threshold ${fmt(r.threshold)} in ${duration(r.windowSeconds * 1000)})`,
      evidence: this.evidence(w, {
        attempts: w.sum,
        distinct,
        successRatio: ratio,
        values: first(w.values.keys(), 20),
        addresses: first(w.addresses.keys(), 10),
      }),
      firstSeenAt: w.firstAt(),
      ...(w.drill() !== undefined ? { drill: w.drill() } : {}),
    };
  }

  private matchVerdict(o: Observation, key: string): Verdict | null {
    const r = this.rule;
    const s = subjectOf(r.key, key, o);
    if (this.cooling(r, s.subject, o.at)) return null;
    return {
      ...s,
      ...(o.address ? { address: o.address } : {}),
      explanation: `${r.title}: ${o.name} ${where(r.key, key)}${o.address ? ` from ${o.address}` : ''}`,
      evidence: { action: o.name, seqs: o.seq !== null ? [o.seq] : [], firstAt: o.at, lastAt: o.at, key },
      firstSeenAt: o.at,
      ...(o.drill !== undefined ? { drill: o.drill } : {}),
    };
  }

  private evidence(w: SlidingWindow, extra: Record<string, unknown>): Record<string, unknown> {
    return {
      ...extra,
      threshold: this.rule.threshold,
      windowSeconds: this.rule.windowSeconds,
      firstAt: w.firstAt(),
      lastAt: w.lastAt(),
      seqs: w.seqs(50),
    };
  }

  /** Drops windows with nothing left in them at `now`. */
  sweep(now: number): void {
    for (const [k, w] of this.windows) {
      w.evict(now);
      if (w.entries.length === 0) this.windows.delete(k);
    }
  }
}
