import type { Alert, Containment, Finding } from '../detect/index.js';
import type { SecurityQueries } from './drills.js';

/** The window of the MTTD/MTTR figures. */
export const STATUS_WINDOW_MS = 30 * 86_400_000;
/** How far back "recent findings" reach, and how many are listed. */
export const RECENT_FINDINGS = { windowMs: 86_400_000, max: 20 } as const;

/** Summary statistics of a set of durations (ms). */
export interface Durations {
  count: number;
  meanMs: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
}

/** One rule's response times over the window. */
export interface RuleResponseTimes {
  ruleId: string;
  findings: number;
  /** Findings with at least one containment applied. */
  contained: number;
  /** Time to detect: `finding.at - finding.firstSeenAt`. */
  mttd: Durations | null;
  /** Time to contain: first `containment.appliedAt` of the finding `- finding.firstSeenAt`. */
  mttr: Durations | null;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Count, mean, median, p95 and max of durations; null when there are none. Negative values count as 0. */
export function durations(values: number[]): Durations | null {
  if (values.length === 0) return null;
  const sorted = values.map((v) => Math.max(0, v)).sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return {
    count: sorted.length,
    meanMs: Math.round(sum / sorted.length),
    medianMs: Math.round(median),
    p95Ms: percentile(sorted, 95),
    maxMs: sorted[sorted.length - 1] as number,
  };
}

/**
 * MTTD and MTTR per rule, over the findings at or after `since` (drill findings left out unless
 * `includeDrills`, so rehearsals do not flatter or spoil the real figures). A containment counts for
 * MTTR once applied (`appliedAt` set), whatever its state now (expired or undone ones too).
 */
export function responseTimesByRule(
  findings: readonly Finding[],
  containments: readonly Containment[],
  opts: { since: number; includeDrills?: boolean },
): RuleResponseTimes[] {
  const firstApplied = new Map<string, number>();
  for (const c of containments) {
    if (c.appliedAt === null) continue;
    const prev = firstApplied.get(c.findingId);
    if (prev === undefined || c.appliedAt < prev) firstApplied.set(c.findingId, c.appliedAt);
  }
  const byRule = new Map<string, { detect: number[]; contain: number[]; findings: number }>();
  for (const f of findings) {
    if (f.at < opts.since || (f.drill !== undefined && !opts.includeDrills)) continue;
    const r = byRule.get(f.ruleId) ?? { detect: [], contain: [], findings: 0 };
    r.findings++;
    r.detect.push(f.at - f.firstSeenAt);
    const applied = firstApplied.get(f.id);
    if (applied !== undefined) r.contain.push(applied - f.firstSeenAt);
    byRule.set(f.ruleId, r);
  }
  return [...byRule.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([ruleId, r]) => ({
      ruleId,
      findings: r.findings,
      contained: r.contain.length,
      mttd: durations(r.detect),
      mttr: durations(r.contain),
    }));
}

/** What `GET /security/status` answers and `palisade security status` prints. */
export interface SecurityStatus {
  at: number;
  openAlerts: Alert[];
  recentFindings: Finding[];
  rules: RuleResponseTimes[];
  containmentsInForce: Containment[];
  chain: { ok: boolean; records: number; lastCheckpointAt: number | null };
}

/** Builds the security status from the queries port at `now`. */
export async function securityStatus(q: SecurityQueries, now: number): Promise<SecurityStatus> {
  const since = now - STATUS_WINDOW_MS;
  const [findings, containments, alerts, chain] = await Promise.all([
    q.findings({ since }),
    q.containments({ since }),
    q.alerts({ since }),
    q.chainState(),
  ]);
  const recentSince = now - RECENT_FINDINGS.windowMs;
  return {
    at: now,
    openAlerts: alerts.filter((a) => a.state !== 'resolved').sort((a, b) => b.lastAt - a.lastAt),
    recentFindings: findings
      .filter((f) => f.at >= recentSince)
      .sort((a, b) => b.at - a.at)
      .slice(0, RECENT_FINDINGS.max),
    rules: responseTimesByRule(findings, containments, { since }),
    containmentsInForce: containments.filter(
      (c) => (c.state === 'active' || c.state === 'pending_approval') && (c.expiresAt === null || c.expiresAt > now),
    ),
    chain,
  };
}
