import type { Sealer } from '../../crypto/index.js';
import { openColumn, sealInTable } from '../../keys/index.js';
import type { Db } from '../../store/index.js';
import type { Finding, FindingSubject, Severity } from '../types.js';

const TABLE = 'detect_findings';

/** Which findings to list. `drill`: true only drill findings, false none of them, a string one drill's. */
export interface FindingFilter {
  ruleId?: string;
  /** At or after this instant (UTC ms). */
  since?: number;
  drill?: boolean | string;
  /** At most this many, newest first (default 100, at most 1,000). */
  limit?: number;
}

type Row = {
  id: string;
  rule_id: string;
  severity: string;
  at: number;
  first_seen_at: number;
  subject_kind: string;
  subject_id: string;
  user_id: string | null;
  drill: string | null;
  explanation: string;
  evidence: string;
};

/**
 * Findings at rest. SECURITY: explanation and evidence are sealed (table scope, AAD bound to the row);
 * rule, severity, times, subject, user and drill stay clear so findings can be listed and counted.
 */
export class FindingStore {
  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
  ) {}

  /** Stores a finding (its id is its key; saving the same id twice is refused by the database). */
  async save(f: Finding): Promise<void> {
    await this.sealer.prepare(`table:${TABLE}`);
    const evidence = { ...f.evidence, ...(f.address ? { address: f.address } : {}) };
    await this.db
      .insertInto('detect_findings')
      .values({
        id: f.id,
        rule_id: f.ruleId,
        severity: f.severity,
        at: f.at,
        first_seen_at: f.firstSeenAt,
        subject_kind: f.subject.kind,
        subject_id: f.subject.id,
        user_id: f.userId ?? null,
        drill: f.drill ?? null,
        explanation: sealInTable(this.sealer, TABLE, 'explanation', f.id, f.explanation),
        evidence: sealInTable(this.sealer, TABLE, 'evidence', f.id, JSON.stringify(evidence)),
      })
      .execute();
  }

  /** One finding, or undefined. */
  async get(id: string): Promise<Finding | undefined> {
    const row = await this.db.selectFrom('detect_findings').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? this.open(row) : undefined;
  }

  /** Findings matching `filter`, newest first. */
  async list(filter: FindingFilter = {}): Promise<Finding[]> {
    let q = this.db.selectFrom('detect_findings').selectAll();
    if (filter.ruleId !== undefined) q = q.where('rule_id', '=', filter.ruleId);
    if (filter.since !== undefined) q = q.where('at', '>=', filter.since);
    if (filter.drill === true) q = q.where('drill', 'is not', null);
    else if (filter.drill === false) q = q.where('drill', 'is', null);
    else if (typeof filter.drill === 'string') q = q.where('drill', '=', filter.drill);
    const limit = Math.min(1000, Math.max(1, filter.limit ?? 100));
    const rows = await q.orderBy('at', 'desc').orderBy('id').limit(limit).execute();
    return Promise.all(rows.map((r) => this.open(r)));
  }

  private async open(r: Row): Promise<Finding> {
    const evidence = JSON.parse(await openColumn(this.sealer, TABLE, 'evidence', r.id, r.evidence)) as Record<
      string,
      unknown
    >;
    const { address, ...rest } = evidence;
    return {
      id: r.id,
      ruleId: r.rule_id,
      severity: r.severity as Severity,
      at: Number(r.at),
      firstSeenAt: Number(r.first_seen_at),
      subject: { kind: r.subject_kind as FindingSubject['kind'], id: r.subject_id },
      ...(r.user_id !== null ? { userId: r.user_id } : {}),
      ...(typeof address === 'string' ? { address } : {}),
      explanation: await openColumn(this.sealer, TABLE, 'explanation', r.id, r.explanation),
      evidence: rest,
      ...(r.drill !== null ? { drill: r.drill } : {}),
    };
  }
}
