import type { IncomingMessage } from 'node:http';
import type { AuthDeps } from '../auth/index.js';
import type { DrillCheck, Logger, Metrics, Timers } from '../core/index.js';
import type { MessagingDeps } from '../messaging/index.js';
import type { SendLimits } from './send-buffer.js';

/** What the WebSocket gateway needs from the layers below and from config. */
export interface RealtimeDeps {
  auth: AuthDeps;
  messaging: MessagingDeps;
  log: Logger;
  /** Counters and timers (absent: nothing is recorded). */
  metrics?: Metrics;
  /** The client address of an upgrade request (trusted proxies applied); default: the socket's peer. */
  clientAddress?: (req: IncomingMessage) => string;
  /** Live drills: an upgrade carrying a drill's token is marked as drill traffic (absent: none are). */
  drills?: DrillCheck;
  /** Origins allowed to connect; a request without Origin (a native client) is allowed. */
  allowedOrigins: string[];
  /** How long a new socket may take to authenticate. */
  authTimeoutMs?: number;
  /** How often an open socket re-checks its session row (revoked, expired, idle, device); default 60 s. */
  recheckEveryMs?: number;
  /** The per-address connection cap: an authenticated socket stops counting against it. */
  connectionSlots?: { release(socket: unknown): void };
  /** Per-connection send buffer bounds (tests shrink them); default SEND_LIMITS. */
  sendLimits?: SendLimits;
  /** How often the hub looks for stalled sockets; default 5 s. */
  sweepEveryMs?: number;
  /** Monotonic milliseconds for the stall timeout (tests pass a fake clock); default performance.now. */
  monotonicNow?: () => number;
  /**
   * Timers of the session deadlines: the authentication timeout, the session-expiry timer and the
   * re-check cadence (tests pass the server's FakeClock, so these fire as it advances); default systemTimers.
   */
  timers?: Timers;
}
