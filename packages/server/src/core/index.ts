/** Layer 0 kernel: ids, errors, clock and timers, secrets and the Bus/Logger interfaces. */
export { AppError, isAppError } from './errors.js';
export type { UserId, DeviceId, SessionId } from './ids.js';
export { systemClock, FakeClock, type Clock } from './clock.js';
export { systemTimers, type Timers } from './timers.js';
export { Secret } from './secret.js';
export type { Bus, DomainEvent } from './bus.js';
export { silentLogger, type Logger } from './logger.js';
export type { Principal, ServiceScope } from './principal.js';
export { type Metrics, type AuthMethod, type KeyOperation } from './metrics.js';
