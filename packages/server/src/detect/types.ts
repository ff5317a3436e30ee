/**
 * The detection engine's shared types: findings (what a rule saw), response actions (what a playbook
 * does about it) and alerts (what people are told). Rules, playbooks and channels are data.
 */

/** How bad a finding is. */
export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** Severities in rising order (for comparisons and `minSeverity` settings). */
export const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

/** What a finding is about. `id` is a user id, an address, a network prefix (`203.0.113.0/24`) or `org`. */
export interface FindingSubject {
  kind: 'account' | 'address' | 'network' | 'service_account' | 'session' | 'organisation';
  id: string;
}

/**
 * What a rule saw. SECURITY: evidence holds counts, ids, addresses and times, never message content,
 * credentials or tokens; it is sealed at rest.
 */
export interface Finding {
  /** Random id. */
  id: string;
  ruleId: string;
  severity: Severity;
  /** When the rule fired (server clock, UTC ms). */
  at: number;
  /** The first event the evidence counts (MTTD is `at - firstSeenAt`). */
  firstSeenAt: number;
  subject: FindingSubject;
  /** The account concerned, when known (the subject's, or the one attacked). */
  userId?: string;
  /** The source address, when one. */
  address?: string;
  /** In words, for a person: "read 4,812 messages at 03:10; usual is under 40, never before 07:00". */
  explanation: string;
  /** The facts: counts, distinct accounts, the audit chain positions seen (at most 50), times. */
  evidence: Record<string, unknown>;
  /** Set when every event in the evidence was drill traffic. */
  drill?: string;
}

/** A containment a playbook can apply. Each is audited and can be undone by an authorized role. */
export type ResponseActionKind =
  | 'throttle'
  | 'require_step_up'
  | 'lock_account'
  | 'revoke_sessions'
  | 'revoke_devices'
  | 'block_address'
  | 'block_network'
  | 'suspend_service_account';

/** One step of a playbook. */
export interface ResponseStep {
  action: ResponseActionKind;
  /** How long the containment lasts (block, throttle, lock); absent: until undone. */
  forSeconds?: number;
  /** Destructive steps can wait for a security admin's approval instead of running at once. */
  requiresApproval?: boolean;
}

/** A playbook: the steps run for findings of one rule at or above a severity. */
export interface Playbook {
  ruleId: string;
  minSeverity?: Severity;
  steps: ResponseStep[];
}

/** A containment in force, pending approval, expired or undone. */
export interface Containment {
  id: string;
  findingId: string;
  action: ResponseActionKind;
  subject: FindingSubject;
  state: 'pending_approval' | 'active' | 'expired' | 'undone' | 'failed';
  createdAt: number;
  /** When it took effect (MTTR is `appliedAt - finding.firstSeenAt`). */
  appliedAt: number | null;
  expiresAt: number | null;
  undoneAt: number | null;
  undoneBy: string | null;
  drill?: string;
}

/** An alert: findings grouped by rule and subject, de-duplicated while open. */
export interface Alert {
  id: string;
  /** `ruleId` + subject: findings with the same key while the alert is open join it. */
  groupKey: string;
  ruleId: string;
  severity: Severity;
  title: string;
  explanation: string;
  state: 'open' | 'acknowledged' | 'resolved';
  firstAt: number;
  lastAt: number;
  /** Findings grouped into it. */
  count: number;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  resolvedBy: string | null;
  resolvedAt: number | null;
  drill?: string;
}
