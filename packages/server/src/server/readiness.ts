import type { Kms } from '../crypto/index.js';
import type { Readiness, ReadinessCheck } from '../http/index.js';
import type { StorageReserve } from '../limits/index.js';
import type { Store } from '../store/index.js';

/** Longest /readyz waits for the store or the KMS before it answers "not ready". */
export const READY_TIMEOUT_MS = 2000;

/**
 * Readiness of everything a request needs, each with a time limit so a stalled dependency makes
 * /readyz answer 503 quickly instead of hanging: the store answers a query and can write (no disk-full
 * failure latched), the KMS can wrap and unwrap, and the free-disk reserve is not reached.
 */
export function readinessProbe(
  store: Store,
  kms: Kms,
  storage: StorageReserve | undefined,
  timeoutMs = READY_TIMEOUT_MS,
): () => Promise<Readiness> {
  return async () => {
    const [s, k] = await Promise.all([store.health(timeoutMs), kmsCheck(kms, timeoutMs)]);
    const checks: Record<string, ReadinessCheck> = {
      store: s.ok ? { ok: true } : { ok: false, reason: s.reason },
      kms: k,
      disk: storage?.low()
        ? { ok: false, reason: 'free disk is below limits.storageReserveMiB; new messages are refused' }
        : { ok: true },
    };
    const ready = Object.values(checks).every((c) => c.ok);
    if (ready) return { ready, checks };
    const code = !s.ok ? s.code : !k.ok ? 'unavailable' : 'storage_full';
    return { ready, code, checks };
  };
}

async function kmsCheck(kms: Kms, timeoutMs: number): Promise<ReadinessCheck> {
  if (!kms.health) return { ok: true };
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((r) => {
    timer = setTimeout(() => r(`the KMS (${kms.provider}) did not answer within ${timeoutMs} ms`), timeoutMs);
    timer.unref();
  });
  try {
    const reason = await Promise.race([kms.health().catch(() => `the KMS (${kms.provider}) failed its check`), late]);
    return reason === undefined ? { ok: true } : { ok: false, reason };
  } finally {
    clearTimeout(timer);
  }
}
