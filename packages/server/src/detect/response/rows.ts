import type { Selectable } from 'kysely';
import type { ContainmentsTable } from '../../store/index.js';
import type { Containment, ResponseActionKind } from '../types.js';
import type { Sealer } from '../../crypto/index.js';
import type { ContainmentRow } from './actions.js';
import { openSubject } from './sealed.js';

/** A stored containment row. */
export type Row = Selectable<ContainmentsTable>;

/** A stored row as the API returns it. */
export async function toContainment(sealer: Sealer, r: Row): Promise<Containment> {
  const c: Containment = {
    id: r.id,
    findingId: r.finding_id,
    action: r.action as ResponseActionKind,
    subject: { kind: r.subject_kind as Containment['subject']['kind'], id: await openSubject(sealer, r) },
    state: r.state,
    createdAt: Number(r.created_at),
    appliedAt: r.applied_at === null ? null : Number(r.applied_at),
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    undoneAt: r.undone_at === null ? null : Number(r.undone_at),
    undoneBy: r.undone_by,
  };
  if (r.drill !== null) c.drill = r.drill;
  return c;
}

/** A stored row as the actions see it. */
export const asRow = async (sealer: Sealer, r: Row): Promise<ContainmentRow> => ({
  id: r.id,
  action: r.action as ResponseActionKind,
  subject_kind: r.subject_kind,
  subject_id: r.subject_id,
  subject: await openSubject(sealer, r),
  expires_at: r.expires_at === null ? null : Number(r.expires_at),
});
