import { recordAudit } from '../audit/index.js';
import type { Principal } from '../core/index.js';
import type { RealtimeDeps } from './deps.js';

/**
 * A valid session token whose device key did not sign the challenge: audited on its own (nothing
 * commits). Detection reads it as a token used from a device it is not bound to.
 */
export function recordProofFailure(deps: RealtimeDeps, principal: Principal, address: string): Promise<void> {
  return recordAudit(deps.auth.db, deps.auth.sealer, {
    at: deps.auth.clock.now(),
    actorId: principal.userId,
    action: 'connect.device_proof_failed',
    target: principal.sessionId,
    address,
    outcome: 'failure',
  });
}

/** An authenticated socket, as a detection signal (connection spikes, new networks); never the token. */
export function signalConnectionOpened(
  deps: RealtimeDeps,
  principal: Principal,
  address: string,
  drill: string | undefined,
): void {
  deps.auth.bus.publish({
    type: 'security.signal',
    data: {
      kind: 'connection.opened',
      at: deps.auth.clock.now(),
      userId: principal.userId,
      deviceId: principal.deviceId,
      sessionId: principal.sessionId,
      address,
      ...(drill ? { drill } : {}),
    },
  });
}
