/**
 * @palisade/protocol: the wire contract between Palisade servers and clients.
 * Schemas (zod) for HTTP bodies and WebSocket frames, size limits and error codes. No I/O.
 */
export * from './errors.js';
export * from './limits.js';
export * from './json.js';
export * from './common.js';
export * from './roles.js';
export * from './http.js';
export * from './frames.js';
export * from './credential.js';
export * from './mls.js';
export * from './transparency.js';
export * from './binary-frames.js';
export * from './security.js';
export * from './audit.js';
