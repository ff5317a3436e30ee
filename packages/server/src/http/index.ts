/** HTTP transport: Fastify over TLS, the route pipeline, and the one kind-to-status map. */
export { buildHttpApp, DEFAULT_HTTP_LIMITS, type HttpsMaterial, type HttpLimits, type HttpAppOptions } from './app.js';
export { AddressConnectionCap } from './connection-cap.js';
export type { HttpDeps, Readiness, ReadinessCheck } from './deps.js';
export { ROUTES } from './routes/index.js';
export { STATUS_OF_KIND, toHttpError } from './error-map.js';
export { tlsServerOptions } from './tls-options.js';
export type { RouteSpec, RouteAccess } from './route.js';
