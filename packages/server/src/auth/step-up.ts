import { ADMIN_ROLES } from '@palisade/protocol';
import { AppError, type Principal } from '../core/index.js';
import type { AuthDeps } from './deps.js';

/**
 * SECURITY (ASVS 7.5.1): sensitive actions (changing factors, admin actions, exports) need a strong
 * factor verified in this session within the step-up window.
 */
export function assertRecentStrongAuth(deps: AuthDeps, principal: Principal): void {
  const at = principal.strongAuthAt;
  if (at === null || deps.clock.now() - at > deps.policy.stepUpWindowMs) throw new AppError('step_up_required');
  // SECURITY-BASELINE (AAL3 for admin duties): when the policy is on, admin and security roles must
  // have stepped up with a device-bound passkey, not a code that can be phished.
  if (
    deps.policy.adminsRequirePhishingResistant &&
    principal.roles.some((r) => ADMIN_ROLE_SET.has(r)) &&
    principal.strongAuthMethod !== 'passkey_device_bound'
  ) {
    throw new AppError('step_up_required', 'your roles need a step-up with a device-bound passkey');
  }
}

/** The administrative roles of the catalogue (the same pair the two-person rule covers). */
const ADMIN_ROLE_SET: ReadonlySet<string> = new Set(ADMIN_ROLES);
