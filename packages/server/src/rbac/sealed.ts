import { aadOf, scopeOf } from '../keys/index.js';
import type { RbacDeps } from './deps.js';

/**
 * Reasons and parameters that people type are sealed under their table's data key (loaded at
 * start, so this works inside a transaction); grants are deleted with their user.
 */
export function sealRbac(deps: Pick<RbacDeps, 'sealer'>, table: 'role_grants' | 'approvals', column: string, id: string, text: string): string {
  return deps.sealer.sealText(text, aadOf(table, column, id), scopeOf.table(table));
}

/** Opens a value sealed by `sealRbac`. */
export function openRbac(deps: Pick<RbacDeps, 'sealer'>, table: 'role_grants' | 'approvals', column: string, id: string, sealed: string): Promise<string> {
  return deps.sealer.openText(sealed, aadOf(table, column, id));
}
