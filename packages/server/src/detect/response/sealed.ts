import type { Clock } from '../../core/index.js';
import type { Sealer } from '../../crypto/index.js';
import { openColumn, scopeOf, sealInTable } from '../../keys/index.js';
import type { AddressBlock } from '../../limits/index.js';
import type { Db } from '../../store/index.js';
import type { FindingSubject } from '../types.js';

const SCOPES = [scopeOf.table('containments'), scopeOf.table('address_blocks')];

/** Loads the data keys the responder seals with (before any transaction that seals). */
export async function prepareResponseScopes(sealer: Sealer): Promise<void> {
  for (const s of SCOPES) await sealer.prepare(s);
}

/** True for subjects that are addresses (personal data: sealed at rest). */
const isAddress = (kind: FindingSubject['kind']) => kind === 'address' || kind === 'network';

/**
 * How a subject is stored. SECURITY: an address or network is sealed, and `subject_id` holds its keyed
 * blind index (equality lookups still work); account ids stay clear.
 */
export async function storedSubject(
  sealer: Sealer,
  containmentId: string,
  s: FindingSubject,
): Promise<{ subject_id: string; subject_sealed: string | null }> {
  if (!isAddress(s.kind)) return { subject_id: s.id, subject_sealed: null };
  return {
    subject_id: await sealer.blindIndex('containment.subject', s.id),
    subject_sealed: sealInTable(sealer, 'containments', 'subject_sealed', containmentId, s.id),
  };
}

/** The clear subject of a stored row. */
export function openSubject(
  sealer: Sealer,
  r: { id: string; subject_id: string; subject_sealed: string | null },
): Promise<string> {
  return r.subject_sealed === null
    ? Promise.resolve(r.subject_id)
    : openColumn(sealer, 'containments', 'subject_sealed', r.id, r.subject_sealed);
}

/** Seals a block's prefix for `address_blocks`. */
export const sealPrefix = (sealer: Sealer, containmentId: string, prefix: string): string =>
  sealInTable(sealer, 'address_blocks', 'prefix', containmentId, prefix);

/**
 * The blocks in force, opened: the loader of limits' `AddressBlocks` (every node's cache refreshes
 * through it). Wire it as `new AddressBlocks({ clock, timers, load: () => loadAddressBlocks(db, sealer, clock) })`.
 */
export async function loadAddressBlocks(db: Db, sealer: Sealer, clock: Clock): Promise<AddressBlock[]> {
  const now = clock.now();
  const rows = await db
    .selectFrom('address_blocks')
    .select(['containment_id', 'prefix', 'until'])
    .where((eb) => eb.or([eb('until', 'is', null), eb('until', '>', now)]))
    .execute();
  return Promise.all(
    rows.map(async (r) => ({
      prefix: await openColumn(sealer, 'address_blocks', 'prefix', r.containment_id, r.prefix),
      until: r.until === null ? null : Number(r.until),
    })),
  );
}
