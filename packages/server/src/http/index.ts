/** HTTP transport: Fastify over TLS, the route pipeline, and the one kind-to-status map. */
export { buildHttpApp, type HttpsMaterial } from './app.js';
export type { HttpDeps } from './deps.js';
export { ROUTES } from './routes/index.js';
export { STATUS_OF_KIND, toHttpError } from './error-map.js';
export { tlsServerOptions } from './tls-options.js';
export type { RouteSpec, RouteAccess } from './route.js';
