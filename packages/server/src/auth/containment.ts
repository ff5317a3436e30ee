import { AppError } from '../core/index.js';
import type { AuthDeps } from './deps.js';

/**
 * SECURITY: refuses a source a response containment blocked (`address_blocked`), before any work.
 * Loopback and non-IP sources (the admin socket) are never blocked (see limits AddressBlocks).
 */
export function assertSourceAllowed(deps: AuthDeps, address: string): void {
  deps.blocks?.assertNotBlocked(address);
}

/**
 * SECURITY: refuses an account a containment locked (`account_locked`). Called only after the caller
 * proved the password (or a factor), like `account_disabled`, so it is no account-state oracle.
 */
export function assertNotLocked(user: { locked_until: number | null }, now: number): void {
  if (user.locked_until !== null && Number(user.locked_until) > now) throw new AppError('account_locked');
}

/** True while a containment demands a second factor at login and a new step-up in sessions. */
export function stepUpDemanded(user: { step_up_until: number | null }, now: number): boolean {
  return user.step_up_until !== null && Number(user.step_up_until) > now;
}
