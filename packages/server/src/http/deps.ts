import type { ErrorCode } from '@palisade/protocol';
import type { AuthDeps } from '../auth/index.js';
import type { DrillCheck, Logger, Metrics } from '../core/index.js';
import type { E2eeDeps } from '../e2ee/index.js';
import type { MessagingDeps } from '../messaging/index.js';
import type { RbacDeps } from '../rbac/index.js';
import type { TransparencyDeps } from '../transparency/index.js';

/** What the HTTP transport needs from the layers below. */
export interface HttpDeps {
  auth: AuthDeps;
  messaging: MessagingDeps;
  /** The MLS delivery service and KeyPackage directory. */
  e2ee: E2eeDeps;
  rbac: RbacDeps;
  transparency: TransparencyDeps;
  log: Logger;
  /** Counters and timers, and the access log's HTTP series (absent: nothing is recorded). */
  metrics?: Metrics;
  /** Readiness of what serving needs (store, KMS, disk); never throws. */
  ready(): Promise<Readiness>;
  /** True while shutting down; new work is refused with `shutting_down`. */
  draining(): boolean;
  /** Live drills: requests carrying a drill's token are marked as drill traffic (absent: none are). */
  drills?: DrillCheck;
}

/** One component's part of the readiness answer. */
export interface ReadinessCheck {
  ok: boolean;
  /** Why not (operator-facing; no secrets). */
  reason?: string;
}

/** What /readyz reports: ready only when every check is ok; `code` names the first failure. */
export interface Readiness {
  ready: boolean;
  code?: ErrorCode;
  checks: Record<string, ReadinessCheck>;
}
