/** Layer 0 kernel: ids, errors, clock and timers, secrets and the Bus/Logger interfaces. */
export { AppError, isAppError } from './errors.js';
export type { UserId, DeviceId, SessionId } from './ids.js';
export { systemClock, FakeClock, type Clock } from './clock.js';
export { systemTimers, type Timers } from './timers.js';
export { Secret } from './secret.js';
export type { Bus } from './bus.js';
export {
  EVENT_KINDS,
  isReliableEventType,
  type DomainEvent,
  type EventType,
  type ReliableEventType,
  type ReliableEvents,
  type MessageSent,
  type MembersChanged,
  type SessionsRevoked,
  type ReceiptUpdated,
  type TypingStarted,
  type StoredMessage,
  type WelcomesStored,
  type KeyPackagesLow,
  type AlertRaised,
} from './events.js';
export { securityCategory, type SecurityEvent, type SecuritySignal } from './security-events.js';
export { currentDrill, withRequestContext } from './request-context.js';
export {
  DRILL_HEADER,
  DRILL_SOURCE_HEADER,
  isTestNetAddress,
  readDrillMark,
  type DrillCheck,
  type DrillMark,
} from './drill-check.js';
export { silentLogger, type Logger } from './logger.js';
export type { Principal, ServiceScope } from './principal.js';
export { type Metrics, type AuthMethod, type KeyOperation } from './metrics.js';
export { LIMITS, LIMIT_NAMES, type LimitName, type LimitRule } from './rate-limits.js';
