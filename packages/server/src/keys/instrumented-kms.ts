import type { KeyOperation, Metrics } from '../core/index.js';
import type { Kms } from '../crypto/index.js';

/**
 * The KMS with every wrap, unwrap and rotate counted and timed (`palisade_key_operations_total`,
 * `palisade_key_operation_seconds`). Nothing about the keys themselves is recorded: only the
 * operation, its outcome and its duration.
 */
export function instrumentKms(
  kms: Kms,
  metrics: Pick<Metrics, 'keyOperation'>,
  now: () => number = () => performance.now(),
): Kms {
  const timed = async <T>(op: KeyOperation, run: () => Promise<T>): Promise<T> => {
    const at = now();
    try {
      const result = await run();
      metrics.keyOperation(op, 'success', (now() - at) / 1000);
      return result;
    } catch (e) {
      metrics.keyOperation(op, 'failure', (now() - at) / 1000);
      throw e;
    }
  };
  return {
    get provider() {
      return kms.provider;
    },
    currentVersion: () => kms.currentVersion(),
    versions: () => kms.versions(),
    wrap: (dataKey) => timed('wrap', () => kms.wrap(dataKey)),
    unwrap: (version, wrapped) => timed('unwrap', () => kms.unwrap(version, wrapped)),
    rotate: () => timed('rotate', () => kms.rotate()),
    destroyVersion: (version) => kms.destroyVersion(version),
    // The readiness check passes through: a wrapper that dropped it would make /readyz call every KMS healthy.
    ...(kms.health ? { health: () => kms.health!() } : {}),
  };
}
