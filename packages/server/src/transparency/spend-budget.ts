import type { Principal } from '../core/index.js';
import type { TransparencyDeps } from './deps.js';

/**
 * Spends one request of the caller's device from the `kt.device` budget (throws `rate_limited`).
 * SECURITY: proofs read the log, so every transparency request is budgeted per device.
 */
export function spendBudget(deps: TransparencyDeps, principal: Principal): void {
  deps.limiter?.check('kt.device', principal.deviceId);
}
