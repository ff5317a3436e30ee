import { AppError, type Principal } from '../core/index.js';
import type { AuthDeps } from './deps.js';

/**
 * SECURITY (ASVS 7.5.1): sensitive actions (changing factors, admin actions, exports) need a strong
 * factor verified in this session within the step-up window.
 */
export function assertRecentStrongAuth(deps: AuthDeps, principal: Principal): void {
  const at = principal.strongAuthAt;
  if (at === null || deps.clock.now() - at > deps.policy.stepUpWindowMs) throw new AppError('step_up_required');
}
