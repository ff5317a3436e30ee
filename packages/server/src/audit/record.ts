import type { Executor } from '../store/index.js';

/** One audit record: when (UTC ms), who, what, on what, from where, and how it ended. */
export interface AuditEntry {
  at: number;
  actorId: string | null;
  action: string;
  target?: string | null;
  address?: string | null;
  outcome: 'success' | 'failure';
  /** Extra facts. SECURITY: never credentials, tokens or message content. */
  details?: Record<string, unknown>;
}

/** Appends an audit record, inside the caller's transaction when given one. */
export async function recordAudit(exec: Executor, entry: AuditEntry): Promise<void> {
  await exec
    .insertInto('audit_log')
    .values({
      at: entry.at,
      actor_id: entry.actorId,
      action: entry.action,
      target: entry.target ?? null,
      address: entry.address ?? null,
      outcome: entry.outcome,
      details: JSON.stringify(entry.details ?? {}),
    })
    .execute();
}
