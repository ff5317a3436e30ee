import { randomId, type Sealer } from '../crypto/index.js';
import { auditAad, scopeOf } from '../keys/index.js';
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

/** The data-key scope of audit records; prepared at start so records can be sealed inside transactions. */
export const AUDIT_SCOPE = scopeOf.table('audit_log');

/**
 * Appends an audit record, inside the caller's transaction when given one.
 * SECURITY: the address and the details are sealed (table scope, AAD bound to a random row reference);
 * who, what, on what, when and the outcome stay clear so detection can filter on them.
 */
export async function recordAudit(exec: Executor, sealer: Sealer, entry: AuditEntry): Promise<void> {
  const uid = randomId();
  await exec
    .insertInto('audit_log')
    .values({
      uid,
      at: entry.at,
      actor_id: entry.actorId,
      action: entry.action,
      target: entry.target ?? null,
      address: entry.address ? sealer.sealText(entry.address, auditAad('address', uid, 0), AUDIT_SCOPE) : null,
      outcome: entry.outcome,
      details: sealer.sealText(JSON.stringify(entry.details ?? {}), auditAad('details', uid, 0), AUDIT_SCOPE),
    })
    .execute();
}

/** A stored audit row with its sealed columns opened. */
export interface OpenedAudit {
  id: number;
  at: number;
  actorId: string | null;
  action: string;
  target: string | null;
  address: string | null;
  outcome: 'success' | 'failure';
  details: Record<string, unknown>;
}

type AuditRow = {
  id: number;
  uid: string | null;
  at: number;
  actor_id: string | null;
  action: string;
  target: string | null;
  address: string | null;
  outcome: 'success' | 'failure';
  details: string;
};

/** Opens an audit row's sealed address and details. */
export async function openAudit(sealer: Sealer, r: AuditRow): Promise<OpenedAudit> {
  const id = Number(r.id);
  return {
    id,
    at: Number(r.at),
    actorId: r.actor_id,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
    address: r.address === null ? null : await sealer.openText(r.address, auditAad('address', r.uid, id)),
    details: JSON.parse(await sealer.openText(r.details, auditAad('details', r.uid, id))) as Record<string, unknown>,
  };
}
