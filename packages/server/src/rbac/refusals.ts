import { currentDrill, type Principal } from '../core/index.js';
import { recordAudit } from '../audit/index.js';
import type { RbacDeps } from './deps.js';

/** Audit action of a refused authorization. */
export const AUTHZ_REFUSED = 'authz.refused';
/** At most this many refusal records per principal per window; the rest are counted into the next record. */
export const REFUSALS_PER_WINDOW = 10;
/** Length of one rate-limit window. */
export const REFUSAL_WINDOW_MS = 60_000;
/** Principals tracked at once (memory bound); expired windows are dropped first. */
const MAX_TRACKED = 10_000;

interface Window {
  start: number;
  recorded: number;
  suppressed: number;
}

const windowsByDeps = new WeakMap<RbacDeps, Map<string, Window>>();

/** What was refused: the error code, the operation (a route pattern or frame type), and the object id if any. */
export interface Refusal {
  code: string;
  operation: string;
  target?: string | null;
}

function windowFor(deps: RbacDeps, userId: string, now: number): Window {
  let windows = windowsByDeps.get(deps);
  if (!windows) windowsByDeps.set(deps, (windows = new Map<string, Window>()));
  let w = windows.get(userId);
  if (!w || now - w.start >= REFUSAL_WINDOW_MS) {
    const suppressed = w?.suppressed ?? 0;
    if (windows.size >= MAX_TRACKED) {
      for (const [k, v] of windows) if (now - v.start >= REFUSAL_WINDOW_MS && v.suppressed === 0) windows.delete(k);
      if (windows.size >= MAX_TRACKED) windows.delete(windows.keys().next().value as string);
    }
    w = { start: now, recorded: 0, suppressed };
    windows.delete(userId);
    windows.set(userId, w);
  }
  return w;
}

/**
 * Audits a refused authorization (`forbidden`- or `not_found`-kind answer to an authenticated principal).
 * SECURITY (S15, ASVS 16.3.2): rate-limited per principal so a client that loops on refusals cannot flood
 * the audit log: after REFUSALS_PER_WINDOW records in a window the rest are only counted, and the count
 * is carried by the next record as `suppressed`. Records hold the code, the operation and the object
 * id, never bodies or message content. Returns true when a record was written.
 */
export async function auditRefusal(
  deps: RbacDeps,
  principal: Principal,
  refusal: Refusal,
  address: string | null,
): Promise<boolean> {
  const now = deps.clock.now();
  const w = windowFor(deps, principal.userId, now);
  if (w.recorded >= REFUSALS_PER_WINDOW) {
    w.suppressed += 1;
    // Not written, but detection hears each one at once (security review: a burst followed by
    // silence carried its count into no later record, and stayed under the escalation threshold).
    const drill = currentDrill();
    deps.bus.publish({
      type: 'security.signal',
      data: {
        kind: 'rate_limited',
        at: now,
        limit: AUTHZ_REFUSED,
        userId: principal.userId,
        ...(address ? { address } : {}),
        ...(drill ? { drill } : {}),
      },
    });
    return false;
  }
  w.recorded += 1;
  const suppressed = w.suppressed;
  w.suppressed = 0;
  await recordAudit(deps.db, deps.sealer, {
    at: now,
    actorId: principal.userId,
    action: AUTHZ_REFUSED,
    target: refusal.target ?? null,
    address,
    outcome: 'failure',
    details: {
      code: refusal.code,
      operation: refusal.operation,
      sessionId: principal.sessionId,
      ...(suppressed > 0 ? { suppressed } : {}),
    },
  });
  return true;
}
