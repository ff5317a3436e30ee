/** HTTP transport: Fastify over TLS, the route pipeline, and the one kind-to-status map. */
export { buildHttpApp, type HttpLimits } from './app.js';
export { AddressConnectionCap } from './connection-cap.js';
export type { ConsoleRecord, Readiness, ReadinessCheck, SecurityConsole } from './deps.js';
export { ROUTES } from './routes/index.js';
export { toHttpError } from './error-map.js';
export { tlsServerOptions } from './tls-options.js';
