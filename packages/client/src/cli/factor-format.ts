import type { FactorInfo } from '../api.js';

/**
 * One line of `palisade-chat mfa list`: id, kind, label, assurance (and why), added and last used.
 * Passkeys are listed like any factor so a user can spot one they did not add (S2).
 */
export function formatFactor(x: FactorInfo): string {
  const state = `${x.confirmed ? '' : ' (not confirmed)'}${x.disabled ? ' (DISABLED)' : ''}`;
  const assurance = x.kind === 'passkey' ? `  AAL${x.aal} (${x.aalReason})` : '';
  return `${x.id}  ${x.kind}  ${x.label}${state}${assurance}  added ${x.createdAt}  last used ${x.lastUsedAt ?? 'never'}`;
}
