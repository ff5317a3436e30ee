import { scopeOf, sealColumn } from '../keys/index.js';
import type { AuthDeps } from './deps.js';

/**
 * Sealing helpers for what auth keeps about a person: display name, e-mail, device names and
 * addresses, factor labels, all under the user's own data key (`user:<id>`), so deleting the user
 * destroys them for good. Sealing is synchronous: `deps.sealer.prepare(scopeOf.user(id))` first.
 */
export function sealForUser(
  deps: Pick<AuthDeps, 'sealer'>,
  userId: string,
  table: string,
  column: string,
  rowId: string,
  value: string,
): string;
export function sealForUser(
  deps: Pick<AuthDeps, 'sealer'>,
  userId: string,
  table: string,
  column: string,
  rowId: string,
  value: string | null | undefined,
): string | null;
export function sealForUser(
  deps: Pick<AuthDeps, 'sealer'>,
  userId: string,
  table: string,
  column: string,
  rowId: string,
  value: string | null | undefined,
): string | null {
  return sealColumn(deps.sealer, table, column, rowId, value, scopeOf.user(userId));
}

/** A session's address sealed under its user's key (for updates outside a transaction). */
export async function sealedSessionAddress(
  deps: Pick<AuthDeps, 'sealer'>,
  userId: string,
  sessionId: string,
  address: string,
): Promise<string> {
  await deps.sealer.prepare(scopeOf.user(userId));
  return sealForUser(deps, userId, 'sessions', 'login_address', sessionId, address);
}

/** E-mail addresses compare case-insensitively and without surrounding spaces. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The keyed blind index of an e-mail address (exact lookup without storing it in clear). */
export function emailIndex(deps: Pick<AuthDeps, 'sealer'>, email: string): Promise<string> {
  return deps.sealer.blindIndex('users.email', normaliseEmail(email));
}
