import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Alert, Containment, Finding } from '../server/index.js';

/** What one scripted attack did (filled by the scenario runner). */
export interface StepRun {
  scenario: string;
  /** In words: "300 wrong passwords for drill-ab12-victim from 203.0.113.7". */
  description: string;
  /** Attack start and end (UTC ms, this machine's clock; the server's is assumed in step). */
  startedAt: number;
  endedAt: number;
  /** Addresses, user ids, usernames and session ids the attack used: a finding about any is this step's. */
  subjects: string[];
  requests: number;
  /** The attack's answers by HTTP status (`{"401": 12, "429": 288}`). */
  statuses: Record<string, number>;
  /** Set-up problems (e.g. a port not wired): the step then counts as not detected. */
  notes: string[];
}

/** The evidence of a drill (GET /drills/:id/evidence). */
export interface DrillEvidence {
  findings: Finding[];
  containments: Containment[];
  alerts: Alert[];
}

/** One step's outcome in the report. */
export interface StepResult {
  scenario: string;
  description: string;
  startedAt: string;
  requests: number;
  statuses: Record<string, number>;
  detected: boolean;
  rules: string[];
  findings: { id: string; ruleId: string; severity: string; at: string; explanation: string }[];
  /** Attack start -> first finding. */
  mttdMs: number | null;
  /** Attack start -> first containment applied. */
  mttrMs: number | null;
  actions: { action: string; subject: string; state: string; appliedAt: string | null }[];
  notes: string[];
}

/** A whole drill's report. */
export interface DrillReport {
  drillId: string;
  scenario: string;
  server: string;
  startedAt: string;
  finishedAt: string;
  steps: StepResult[];
  /** What was undone afterwards: containments reverted, synthetic accounts disabled, and problems. */
  undone: { containments: number | null; accounts: string[]; notes: string[] };
  allDetected: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

const ipv4 = (ip: string): number | undefined => {
  const p = ip.split('.').map(Number);
  return p.length === 4 && p.every((o) => Number.isInteger(o) && o >= 0 && o <= 255)
    ? (((p[0] as number) << 24) | ((p[1] as number) << 16) | ((p[2] as number) << 8) | (p[3] as number)) >>> 0
    : undefined;
};

/** True when IPv4 `ip` lies in `cidr` (`203.0.113.0/24`); false for anything else. */
export function inNetwork(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/');
  const a = ipv4(ip);
  const n = ipv4(net ?? '');
  const b = Number(bits);
  if (a === undefined || n === undefined || !Number.isInteger(b) || b < 0 || b > 32) return false;
  const mask = b === 0 ? 0 : (~0 << (32 - b)) >>> 0;
  return (a & mask) >>> 0 === (n & mask) >>> 0;
}

/**
 * True when a finding concerns one of a step's subjects (its address, account or session, or a
 * network holding its address when the finding names no other address) and came after it started.
 */
export function findingMatches(f: Finding, step: StepRun): boolean {
  if (f.at < step.startedAt - 1_000) return false;
  const ids = new Set(step.subjects);
  if (ids.has(f.subject.id) || (f.address !== undefined && ids.has(f.address))) return true;
  if (f.userId !== undefined && ids.has(f.userId)) return true;
  return (
    f.subject.kind === 'network' && f.address === undefined && step.subjects.some((s) => inNetwork(s, f.subject.id))
  );
}

/** The findings of `evidence` that belong to `step`. */
export function stepFindings(step: StepRun, evidence: DrillEvidence): Finding[] {
  return evidence.findings.filter((f) => findingMatches(f, step)).sort((a, b) => a.at - b.at);
}

/** A step's result: detected when a finding matches; MTTD and MTTR from the attack's start. */
export function stepResult(step: StepRun, evidence: DrillEvidence): StepResult {
  const found = stepFindings(step, evidence);
  const ids = new Set(found.map((f) => f.id));
  const contained = evidence.containments.filter((c) => ids.has(c.findingId));
  const applied = contained.map((c) => c.appliedAt).filter((t): t is number => t !== null);
  const first = found[0];
  return {
    scenario: step.scenario,
    description: step.description,
    startedAt: iso(step.startedAt),
    requests: step.requests,
    statuses: step.statuses,
    detected: found.length > 0,
    rules: [...new Set(found.map((f) => f.ruleId))],
    findings: found.map((f) => ({
      id: f.id,
      ruleId: f.ruleId,
      severity: f.severity,
      at: iso(f.at),
      explanation: f.explanation,
    })),
    mttdMs: first ? Math.max(0, first.at - step.startedAt) : null,
    mttrMs: applied.length ? Math.max(0, Math.min(...applied) - step.startedAt) : null,
    actions: contained.map((c) => ({
      action: c.action,
      subject: `${c.subject.kind}:${c.subject.id}`,
      state: c.state,
      appliedAt: c.appliedAt === null ? null : iso(c.appliedAt),
    })),
    notes: step.notes,
  };
}

const ms = (v: number | null) => (v === null ? '-' : v < 10_000 ? `${v} ms` : `${(v / 1000).toFixed(1)} s`);
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The report as Markdown. */
export function reportMarkdown(r: DrillReport): string {
  const lines = [
    `# Drill ${r.drillId} (${r.scenario})`,
    '',
    `Server ${r.server}; ${r.startedAt} to ${r.finishedAt}. **${r.allDetected ? 'Every step was detected.' : 'Some steps were NOT detected.'}**`,
    '',
    '| step | detected | rules | MTTD | MTTR | actions |',
    '|---|---|---|---|---|---|',
    ...r.steps.map(
      (s) =>
        `| ${cell(s.scenario)} | ${s.detected ? 'yes' : '**no**'} | ${cell(s.rules.join(', ') || '-')} | ${ms(s.mttdMs)} | ${ms(s.mttrMs)} | ${cell(s.actions.map((a) => `${a.action} ${a.subject} (${a.state})`).join('; ') || '-')} |`,
    ),
    '',
  ];
  for (const s of r.steps) {
    const answers = Object.entries(s.statuses)
      .map(([k, v]) => `${v}x ${k}`)
      .join(', ');
    lines.push(
      `## ${s.scenario}`,
      '',
      `${s.description} (${s.requests} requests${answers ? `, answered ${answers}` : ''}, from ${s.startedAt}).`,
      '',
    );
    for (const f of s.findings) lines.push(`- ${f.at} ${f.ruleId} (${f.severity}): ${f.explanation}`);
    for (const n of s.notes) lines.push(`- note: ${n}`);
    lines.push('');
  }
  lines.push(
    '## Undone afterwards',
    '',
    `- containments undone: ${r.undone.containments ?? 'unknown'}`,
    `- synthetic accounts disabled: ${r.undone.accounts.join(', ') || 'none'}`,
    ...r.undone.notes.map((n) => `- note: ${n}`),
    '',
  );
  return lines.join('\n');
}

/** Writes `<dir>/<drillId>.json` and `.md`; returns their paths. */
export function writeDrillReport(dir: string, r: DrillReport): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `${r.drillId}.json`);
  const markdown = join(dir, `${r.drillId}.md`);
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(markdown, reportMarkdown(r));
  return { json, markdown };
}
