/** Rate limits: one named catalogue, an in-memory token-bucket limiter and growing delays. */
export { LIMITS, LOGIN_FAILURE_DELAY, LOGIN_SOURCE_DELAY } from './catalogue.js';
export { RateLimiter } from './limiter.js';
export { StorageReserve, type FreeSpaceProbe } from './storage-reserve.js';
export { addressPrefix, exactAddress, parseAddress, sourceNetwork } from './address.js';
export { TrustedProxies } from './trusted-proxies.js';
export { AddressBlocks, canonicalBlock, type AddressBlock } from './address-blocks.js';
