import type { AuditRecordView } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import type { Sealer } from '../crypto/index.js';
import type { Executor } from '../store/index.js';
import { openAudit, recordAudit } from './record.js';

/**
 * What the caller may do with the audit trail, decided by the transport from the principal's roles
 * (rbac `accountCan`: audit cannot import rbac, which records audit itself).
 */
export interface AuditAccess {
  /** Who reads (the user id, null for the operator on the admin socket); the actor of `audit.read` / `audit.exported`. */
  actorId: string | null;
  /** Holds `audit.read`: may query, and sealed fields (address, details) are opened. */
  read: boolean;
  /** Holds `audit.export`: may stream the export. */
  export: boolean;
  /** The caller's address, recorded (sealed) with the read. */
  address?: string | null;
  /** When the read happens (UTC ms; default the system clock). */
  now?: number;
}

/** Filter of a query or an export. Times are UTC ms, inclusive; `after` is a chain seq. */
export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  from?: number;
  to?: number;
  after?: number;
  limit?: number;
}

const MAX_PAGE = 1000;

type Row = Parameters<typeof openAudit>[1] & { chain_seq: number | null; hash: string | null; drill: string | null };

function select(db: Executor, f: AuditFilter, after: number, limit: number) {
  let q = db.selectFrom('audit_log').selectAll().where('chain_seq', '>', after);
  if (f.actor !== undefined) q = q.where('actor_id', '=', f.actor);
  if (f.action !== undefined) q = q.where('action', '=', f.action);
  if (f.target !== undefined) q = q.where('target', '=', f.target);
  if (f.from !== undefined) q = q.where('at', '>=', f.from);
  if (f.to !== undefined) q = q.where('at', '<=', f.to);
  return q.orderBy('chain_seq').limit(limit);
}

async function view(sealer: Sealer, r: Row, open: boolean): Promise<AuditRecordView> {
  const base: AuditRecordView = {
    seq: Number(r.chain_seq),
    at: Number(r.at),
    actorId: r.actor_id,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
    drill: r.drill,
    hash: r.hash ?? '',
  };
  if (!open) return base;
  // SECURITY: sealed fields are opened only here, only for holders of audit.read.
  const o = await openAudit(sealer, r);
  return { ...base, address: o.address, details: o.details };
}

/** The filter as recorded in the read's own audit record (only the keys given). */
function filterDetails(f: AuditFilter): Record<string, unknown> {
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined));
}

async function auditTheRead(db: Executor, sealer: Sealer, access: AuditAccess, action: string, details: object) {
  const write = (tx: Executor) =>
    recordAudit(tx, sealer, {
      at: access.now ?? Date.now(),
      actorId: access.actorId,
      action,
      address: access.address ?? null,
      outcome: 'success',
      details: { ...details },
    });
  await (db.isTransaction ? write(db) : db.transaction().execute(write));
}

/**
 * A page of audit records matching `filter`, in chain order, for holders of `audit.read`; the read
 * itself is audited (`audit.read`, with the filter and the count in its details).
 */
export async function queryAudit(
  db: Executor,
  sealer: Sealer,
  access: AuditAccess,
  filter: AuditFilter,
): Promise<{ records: AuditRecordView[]; next: number | null }> {
  if (!access.read) throw new AppError('forbidden', 'reading the audit trail needs audit.read');
  const limit = Math.min(Math.max(1, filter.limit ?? 100), MAX_PAGE);
  const rows = (await select(db, filter, filter.after ?? 0, limit).execute()) as Row[];
  const records = await Promise.all(rows.map((r) => view(sealer, r, true)));
  await auditTheRead(db, sealer, access, 'audit.read', { filter: filterDetails(filter), count: records.length });
  const last = records.at(-1);
  return { records, next: rows.length === limit && last ? last.seq : null };
}

/**
 * Every record matching `filter` (ignoring `limit`), streamed in chain order in batches, for holders
 * of `audit.export`; address and details are opened only when the caller also holds `audit.read`.
 * The export is audited (`audit.exported`, with the filter) before the first record leaves, so an
 * interrupted export is on record too. Records written after the export started are not included.
 */
export async function* exportAudit(
  db: Executor,
  sealer: Sealer,
  access: AuditAccess,
  filter: AuditFilter,
  batchSize = 500,
): AsyncGenerator<AuditRecordView> {
  if (!access.export) throw new AppError('forbidden', 'exporting the audit trail needs audit.export');
  const head = await db.selectFrom('audit_chain_head').select('seq').where('id', '=', 1).executeTakeFirst();
  const until = Number(head?.seq ?? 0);
  await auditTheRead(db, sealer, access, 'audit.exported', { filter: filterDetails(filter), opened: access.read });
  let after = filter.after ?? 0;
  for (;;) {
    const rows = (await select(db, filter, after, batchSize).where('chain_seq', '<=', until).execute()) as Row[];
    for (const r of rows) yield await view(sealer, r, access.read);
    const last = rows.at(-1);
    if (!last || rows.length < batchSize) return;
    after = Number(last.chain_seq);
  }
}
