/** Rate limits: one named catalogue and an in-memory token-bucket limiter. */
export { LIMITS, type LimitName, type LimitRule } from './catalogue.js';
export { RateLimiter } from './limiter.js';
export { StorageReserve, type FreeSpaceProbe } from './storage-reserve.js';
