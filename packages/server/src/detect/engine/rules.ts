import type { Severity } from '../types.js';

/**
 * The detection rules, as data: each names what it selects, how it keys, and the kind of test a generic
 * evaluator (evaluate.ts) applies. Thresholds, windows and severities can be overridden per rule id in
 * the `detect.rules` configuration. A rule id may have several variants (one entry each); an override
 * applies to all of them.
 */

/** Selects observations by name (audit action or `signal:<kind>`), outcome, a detail field and the actor's kind. */
export interface Matcher {
  name: string;
  outcome?: 'success' | 'failure';
  detail?: { field: string; oneOf?: string[]; contains?: string; prefix?: string };
  /** Only (true) or never (false) observations whose actor is a service account. */
  service?: boolean;
}

/** What a window is keyed by: an observation field, `targetHead` (target before its first '/'), or one `org` key. */
export type KeyField = 'account' | 'actor' | 'address' | 'network' | 'session' | 'target' | 'targetHead' | 'org';

/** The baseline models' tests (detect/baseline/). */
export type BaselineMetric =
  'offhours_read' | 'offhours_org' | 'service_volume' | 'service_network' | 'org_connections';

interface RuleBase {
  id: string;
  /** Distinguishes entries of one rule id (for explanations and tests). */
  variant?: string;
  severity: Severity;
  title: string;
  select: Matcher[];
  key: KeyField;
  /** Count, distinct values, or minimum volume, by kind. */
  threshold: number;
  windowSeconds: number;
  /** One finding per rule and subject per this many seconds (default: max(window, 1 hour)). */
  cooldownSeconds?: number;
  enabled?: boolean;
}

/** Fires when the weights of selected observations in the window reach `threshold`. */
export interface CountRule extends RuleBase {
  kind: 'count';
}

/**
 * Fires when the distinct `value`s in the window reach `threshold`, optionally only while the share of
 * successes stays at or under `maxSuccessRatio`, and counting only values seen at most `maxPerValue` times.
 */
export interface DistinctRule extends RuleBase {
  kind: 'distinct';
  value: KeyField;
  /** Observations that count as successes (tracked in the window, counted as values too). */
  successes?: Matcher[];
  maxSuccessRatio?: number;
  maxPerValue?: number;
}

/** Fires on any selected observation. */
export interface MatchRule extends RuleBase {
  kind: 'match';
}

/** Fires when a baseline model says the observation is far outside the subject's history. */
export interface BaselineRule extends RuleBase {
  kind: 'baseline';
  metric: BaselineMetric;
}

/** A rule. */
export type Rule = CountRule | DistinctRule | MatchRule | BaselineRule;

const LOGIN_FAILED: Matcher = { name: 'login.failed' };
const THROTTLED: Matcher = { name: 'signal:login.throttled' };
const LOGIN_LIMITED: Matcher = { name: 'signal:rate_limited', detail: { field: 'limit', prefix: 'login.' } };
const PASSWORD_GUESS: Matcher = {
  name: 'login.failed',
  detail: { field: 'step', oneOf: ['password', 'throttled', 'failure_limit'] },
};
const LOGIN_OK: Matcher = { name: 'login.succeeded' };

/** The built-in rules. */
export const RULES: readonly Rule[] = [
  {
    id: 'auth.brute_force.account',
    kind: 'count',
    severity: 'high',
    title: 'Password guessing against one account',
    select: [LOGIN_FAILED, THROTTLED, LOGIN_LIMITED],
    key: 'account',
    threshold: 20,
    windowSeconds: 600,
  },
  {
    id: 'auth.brute_force.address',
    kind: 'count',
    severity: 'high',
    title: 'Password guessing from one address',
    select: [LOGIN_FAILED, THROTTLED, LOGIN_LIMITED],
    key: 'address',
    threshold: 50,
    windowSeconds: 300,
  },
  {
    id: 'auth.credential_stuffing',
    kind: 'distinct',
    severity: 'high',
    title: 'Credential stuffing: many accounts tried from one network',
    select: [PASSWORD_GUESS, THROTTLED],
    successes: [LOGIN_OK],
    key: 'network',
    value: 'account',
    threshold: 20,
    maxSuccessRatio: 0.25,
    windowSeconds: 600,
  },
  {
    id: 'auth.password_spraying',
    kind: 'distinct',
    severity: 'high',
    title: 'Password spraying: one or two guesses each across many accounts',
    select: [PASSWORD_GUESS, THROTTLED],
    successes: [LOGIN_OK],
    key: 'network',
    value: 'account',
    threshold: 30,
    maxPerValue: 2,
    maxSuccessRatio: 0.25,
    windowSeconds: 3600,
  },
  {
    id: 'data.offhours_bulk_read',
    kind: 'baseline',
    metric: 'offhours_read',
    severity: 'high',
    title: 'Bulk history read at an unusual hour',
    select: [{ name: 'signal:history.read', service: false }],
    key: 'account',
    threshold: 500,
    windowSeconds: 3600,
  },
  {
    id: 'session.device_mismatch',
    kind: 'match',
    severity: 'high',
    title: 'A session or token used from a device it is not bound to',
    select: [
      { name: 'connect.device_proof_failed' },
      { name: 'service_token.refused', detail: { field: 'reason', contains: 'device' } },
      { name: 'authz.refused', detail: { field: 'code', oneOf: ['device_mismatch', 'device_proof_failed'] } },
      // A connection on a session from a device other than the one the session was opened on.
      { name: 'signal:connection.opened', detail: { field: 'sessionDevice', oneOf: ['mismatch'] } },
    ],
    key: 'account',
    threshold: 1,
    windowSeconds: 600,
  },
  {
    id: 'session.token_replay',
    variant: 'networks',
    kind: 'distinct',
    severity: 'high',
    title: 'A session token used from several networks at once',
    select: [{ name: 'signal:connection.opened' }, { name: 'service_token.used' }],
    key: 'session',
    value: 'network',
    threshold: 3,
    windowSeconds: 600,
  },
  {
    id: 'session.token_replay',
    variant: 'reported',
    kind: 'match',
    severity: 'high',
    title: 'A token replay reported by the server',
    select: [
      { name: 'session.replayed' },
      { name: 'service_token.refused', detail: { field: 'reason', contains: 'replay' } },
      { name: 'connect.device_proof_failed', detail: { field: 'reason', contains: 'replay' } },
    ],
    key: 'session',
    threshold: 1,
    windowSeconds: 600,
  },
  {
    id: 'privilege.escalation_attempts',
    kind: 'count',
    severity: 'high',
    title: 'A burst of refused actions and role requests',
    select: [
      { name: 'authz.refused', service: false },
      { name: 'signal:rate_limited', detail: { field: 'limit', oneOf: ['authz.refused'] }, service: false },
      { name: 'elevation.requested' },
      { name: 'approval.requested' },
    ],
    key: 'actor',
    threshold: 15,
    windowSeconds: 600,
  },
  {
    id: 'privilege.offhours_grant',
    kind: 'baseline',
    metric: 'offhours_org',
    severity: 'medium',
    title: 'A role granted at an hour the organisation is not active',
    select: [
      { name: 'role.granted', outcome: 'success' },
      { name: 'elevation.approved', outcome: 'success' },
    ],
    key: 'actor',
    threshold: 1,
    windowSeconds: 3600,
  },
  {
    id: 'service_account.misuse',
    variant: 'refusals',
    kind: 'count',
    severity: 'high',
    title: 'A service account refused repeatedly (out of scope, address or expired token)',
    select: [
      { name: 'authz.refused', service: true },
      // Security review: only a live token used from an address it is not allowed from; a revoked,
      // expired or suspended token is dead (counting it let anyone holding an old token suspend the bot).
      { name: 'service_token.refused', detail: { field: 'reason', oneOf: ['address'] } },
      { name: 'signal:rate_limited', service: true },
    ],
    key: 'actor',
    threshold: 10,
    windowSeconds: 600,
  },
  {
    id: 'service_account.misuse',
    variant: 'volume',
    kind: 'baseline',
    metric: 'service_volume',
    severity: 'high',
    title: 'A service account reading far more than usual',
    select: [{ name: 'signal:history.read', service: true }],
    key: 'actor',
    threshold: 500,
    windowSeconds: 3600,
  },
  {
    id: 'service_account.misuse',
    variant: 'network',
    kind: 'baseline',
    metric: 'service_network',
    severity: 'medium',
    title: 'A service account used from a network it never used',
    select: [{ name: 'service_token.used' }, { name: 'signal:connection.opened', service: true }],
    key: 'actor',
    threshold: 1,
    windowSeconds: 3600,
  },
  {
    id: 'org.mass_deletion',
    kind: 'count',
    severity: 'critical',
    title: 'Many conversations or users deleted by one account',
    select: [{ name: 'conversation.deleted' }, { name: 'user.deleted' }],
    key: 'actor',
    threshold: 10,
    windowSeconds: 600,
  },
  {
    id: 'org.mass_membership_change',
    kind: 'distinct',
    severity: 'high',
    title: 'Memberships or roles changed in many places by one account',
    select: [{ name: 'member.added' }, { name: 'member.removed' }, { name: 'role.granted' }, { name: 'role.revoked' }],
    key: 'actor',
    value: 'targetHead',
    threshold: 15,
    windowSeconds: 600,
  },
  {
    id: 'org.connection_spike',
    kind: 'baseline',
    metric: 'org_connections',
    severity: 'medium',
    title: 'Far more connections than usual for this hour',
    select: [{ name: 'signal:connection.opened' }],
    key: 'org',
    threshold: 200,
    windowSeconds: 3600,
  },
  {
    id: 'org.new_device_spike',
    kind: 'count',
    severity: 'medium',
    title: 'Many new devices added in a short time',
    select: [{ name: 'device.added' }],
    key: 'org',
    threshold: 20,
    windowSeconds: 3600,
  },
];

/** The rule ids (stable: response playbooks are keyed on them). */
export const RULE_IDS: readonly string[] = [...new Set(RULES.map((r) => r.id))];

/** A rule's overrides (the `detect.rules.<id>` configuration). */
export interface RuleOverride {
  enabled?: boolean;
  threshold?: number;
  windowSeconds?: number;
  severity?: Severity;
}

/** The rules with the configured overrides applied. */
export function configuredRules(overrides: Record<string, RuleOverride> = {}, rules = RULES): Rule[] {
  return rules.map((r) => {
    const o = overrides[r.id];
    if (!o) return r;
    return {
      ...r,
      ...(o.enabled !== undefined ? { enabled: o.enabled } : {}),
      ...(o.threshold !== undefined ? { threshold: o.threshold } : {}),
      ...(o.windowSeconds !== undefined ? { windowSeconds: o.windowSeconds } : {}),
      ...(o.severity !== undefined ? { severity: o.severity } : {}),
    };
  });
}

/** True when `o` matches `m`. */
export function matches(
  m: Matcher,
  o: { name: string; outcome: string; service: boolean; details: Record<string, unknown> },
): boolean {
  if (m.name !== o.name) return false;
  if (m.outcome !== undefined && m.outcome !== o.outcome) return false;
  if (m.service !== undefined && m.service !== o.service) return false;
  if (m.detail) {
    const v = o.details[m.detail.field];
    if (typeof v !== 'string') return false;
    if (m.detail.oneOf && !m.detail.oneOf.includes(v)) return false;
    if (m.detail.contains !== undefined && !v.includes(m.detail.contains)) return false;
    if (m.detail.prefix !== undefined && !v.startsWith(m.detail.prefix)) return false;
  }
  return true;
}
