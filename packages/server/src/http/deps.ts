import type { AuthDeps } from '../auth/index.js';
import type { Logger, Metrics } from '../core/index.js';
import type { MessagingDeps } from '../messaging/index.js';
import type { RbacDeps } from '../rbac/index.js';

/** What the HTTP transport needs from the layers below. */
export interface HttpDeps {
  auth: AuthDeps;
  messaging: MessagingDeps;
  rbac: RbacDeps;
  log: Logger;
  /** Counters and timers, and the access log's HTTP series (absent: nothing is recorded). */
  metrics?: Metrics;
  /** True when the store answers. */
  ready(): Promise<boolean>;
  /** True while shutting down; new work is refused with `shutting_down`. */
  draining(): boolean;
}
