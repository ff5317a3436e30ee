import { aadOf, scopeOf } from '../keys/index.js';
import type { AuthDeps } from './deps.js';

/**
 * Sealing helpers for what auth keeps about a person: display name, e-mail, device names and
 * addresses, factor labels, all under the user's own data key (`user:<id>`), so deleting the user
 * destroys them for good. Sealing is synchronous: `deps.sealer.prepare(scopeOf.user(id))` first.
 */
export function sealForUser(deps: Pick<AuthDeps, 'sealer'>, userId: string, table: string, column: string, rowId: string, value: string): string;
export function sealForUser(deps: Pick<AuthDeps, 'sealer'>, userId: string, table: string, column: string, rowId: string, value: string | null | undefined): string | null;
export function sealForUser(deps: Pick<AuthDeps, 'sealer'>, userId: string, table: string, column: string, rowId: string, value: string | null | undefined): string | null {
  return value == null ? null : deps.sealer.sealText(value, aadOf(table, column, rowId), scopeOf.user(userId));
}

/** Opens a sealed column value (null stays null). */
export async function openField(deps: Pick<AuthDeps, 'sealer'>, table: string, column: string, rowId: string, sealed: string | null): Promise<string | null> {
  return sealed === null ? null : deps.sealer.openText(sealed, aadOf(table, column, rowId));
}

/** E-mail addresses compare case-insensitively and without surrounding spaces. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The keyed blind index of an e-mail address (exact lookup without storing it in clear). */
export function emailIndex(deps: Pick<AuthDeps, 'sealer'>, email: string): Promise<string> {
  return deps.sealer.blindIndex('users.email', normaliseEmail(email));
}
