import { openAudit, type OpenedAudit } from '../audit/index.js';
import type { Sealer } from '../crypto/index.js';
import type { Db } from '../store/index.js';

/** Audit records matching the filter, oldest first, with their sealed address and details opened. */
export async function auditRecords(
  db: Db,
  sealer: Sealer,
  filter: { actorId?: string; action?: string; target?: string },
): Promise<OpenedAudit[]> {
  let q = db.selectFrom('audit_log').selectAll().orderBy('id');
  if (filter.actorId !== undefined) q = q.where('actor_id', '=', filter.actorId);
  if (filter.action !== undefined) q = q.where('action', '=', filter.action);
  if (filter.target !== undefined) q = q.where('target', '=', filter.target);
  return Promise.all((await q.execute()).map((r) => openAudit(sealer, r)));
}
