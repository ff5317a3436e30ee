import type { ErrorCode } from '@palisade/protocol';
import type { AuthDeps } from '../auth/index.js';
import type { DrillCheck, Logger, Metrics, Principal } from '../core/index.js';
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
  /** Alerts, findings and containments of the detection engine (absent: detection is off). */
  security?: SecurityConsole;
}

/** A stored record of the security console, as JSON. */
export type ConsoleRecord = Record<string, unknown>;

/**
 * The security console's operations, implemented by detection (`detect/`, wired by `server/`: the
 * transport never imports it). Authorization is the route's; each operation audits itself.
 */
export interface SecurityConsole {
  alerts(filter: { state?: 'open' | 'acknowledged' | 'resolved'; limit: number }): Promise<ConsoleRecord[]>;
  acknowledgeAlert(id: string, actor: Principal): Promise<ConsoleRecord>;
  resolveAlert(id: string, actor: Principal, note?: string): Promise<ConsoleRecord>;
  findings(filter: { ruleId?: string; limit: number }): Promise<ConsoleRecord[]>;
  containments(filter: { state?: string }): Promise<ConsoleRecord[]>;
  approveContainment(id: string, actor: Principal): Promise<ConsoleRecord>;
  undoContainment(id: string, actor: Principal): Promise<ConsoleRecord>;
  status(): Promise<ConsoleRecord>;
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
