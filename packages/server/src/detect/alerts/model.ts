import { AppError } from '../../core/index.js';
import { openColumn, scopeOf, sealInTable } from '../../keys/index.js';
import type { Sealer } from '../../crypto/index.js';
import { SEVERITIES, type Alert, type Finding, type FindingSubject, type Severity } from '../types.js';

/** The data-key scope of the alerts table (explanations, evidence, resolution notes). */
export const ALERTS_SCOPE = scopeOf.table('alerts');

/** Position of a severity in rising order (low 0 .. critical 3). */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** The higher of two severities. */
export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}

/** An alert with what only its readers see: the subject, the latest evidence and the resolution note. */
export interface AlertDetail extends Alert {
  subject: FindingSubject;
  evidence: Record<string, unknown>;
  resolutionNote: string | null;
}

/**
 * What a channel sends. SECURITY: rule, severity, subject, explanation, counts and times only; never
 * evidence, message content, tokens or passwords.
 */
export interface AlertPayload {
  id: string;
  ruleId: string;
  severity: Severity;
  title: string;
  state: Alert['state'];
  subject: FindingSubject;
  explanation: string;
  count: number;
  firstAt: number;
  lastAt: number;
  drill?: string;
}

/** A stored alerts row (the columns this module reads). */
export interface AlertRow {
  id: string;
  group_key: string;
  rule_id: string;
  severity: Severity;
  title: string;
  subject_kind: string;
  subject_id: string;
  explanation: string;
  evidence: string;
  state: Alert['state'];
  first_at: number;
  last_at: number;
  count: number;
  acknowledged_by: string | null;
  acknowledged_at: number | null;
  resolved_by: string | null;
  resolved_at: number | null;
  resolution_note: string | null;
  drill: string | null;
}

/** Seals an alerts column under the table's key (prepared: `sealer.prepare(ALERTS_SCOPE)`). */
export function sealAlertColumn(
  sealer: Sealer,
  column: 'explanation' | 'evidence' | 'resolution_note',
  id: string,
  v: string,
): string {
  return sealInTable(sealer, 'alerts', column, id, v);
}

const num = (v: number | null): number | null => (v === null ? null : Number(v));

/** Opens a stored alert row into an AlertDetail. */
export async function openAlertRow(sealer: Sealer, r: AlertRow): Promise<AlertDetail> {
  const [explanation, evidence, note] = await Promise.all([
    openColumn(sealer, 'alerts', 'explanation', r.id, r.explanation),
    openColumn(sealer, 'alerts', 'evidence', r.id, r.evidence),
    openColumn(sealer, 'alerts', 'resolution_note', r.id, r.resolution_note),
  ]);
  return {
    id: r.id,
    groupKey: r.group_key,
    ruleId: r.rule_id,
    severity: r.severity,
    title: r.title,
    explanation,
    state: r.state,
    firstAt: Number(r.first_at),
    lastAt: Number(r.last_at),
    count: Number(r.count),
    acknowledgedBy: r.acknowledged_by,
    acknowledgedAt: num(r.acknowledged_at),
    resolvedBy: r.resolved_by,
    resolvedAt: num(r.resolved_at),
    ...(r.drill !== null ? { drill: r.drill } : {}),
    subject: { kind: r.subject_kind as FindingSubject['kind'], id: r.subject_id },
    evidence: JSON.parse(evidence) as Record<string, unknown>,
    resolutionNote: note,
  };
}

/** The Alert view of a detail (what lists and bus events carry). */
export function toAlert(d: AlertDetail): Alert {
  const { subject: _s, evidence: _e, resolutionNote: _n, ...alert } = d;
  return alert;
}

/** What channels send for an alert. */
export function toPayload(d: AlertDetail): AlertPayload {
  return {
    id: d.id,
    ruleId: d.ruleId,
    severity: d.severity,
    title: d.title,
    state: d.state,
    subject: d.subject,
    explanation: d.explanation,
    count: d.count,
    firstAt: d.firstAt,
    lastAt: d.lastAt,
    ...(d.drill !== undefined ? { drill: d.drill } : {}),
  };
}

/** The group key of a finding: rule and subject (and the drill, so rehearsals never merge with real alerts). */
export function groupKeyOf(f: Pick<Finding, 'ruleId' | 'subject' | 'drill'>): string {
  const base = `${f.ruleId}|${f.subject.kind}:${f.subject.id}`;
  return f.drill === undefined ? base : `${base}|drill:${f.drill}`;
}

/** The title of an alert: rule, severity and subject (and the drill). */
export function titleOf(f: Finding): string {
  const t = `${f.ruleId} (${f.severity}) on ${f.subject.kind} ${f.subject.id}`;
  return f.drill === undefined ? t : `[drill ${f.drill}] ${t}`;
}

/** Longest explanation kept, and the largest evidence (JSON) kept whole. */
const MAX_EXPLANATION = 2000;
const MAX_EVIDENCE = 16_384;

/** A finding as stored: known severity, explanation and evidence bounded (a runaway rule cannot bloat rows). */
export function boundedFinding(f: Finding): Finding {
  if (severityRank(f.severity) < 0) throw new AppError('bad_request', `unknown severity ${String(f.severity)}`);
  const explanation =
    f.explanation.length > MAX_EXPLANATION ? `${f.explanation.slice(0, MAX_EXPLANATION - 1)}…` : f.explanation;
  const size = JSON.stringify(f.evidence).length;
  const evidence = size > MAX_EVIDENCE ? { truncated: true, bytes: size } : f.evidence;
  return { ...f, explanation, evidence };
}
