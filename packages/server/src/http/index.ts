/** HTTP transport: Fastify over TLS, the route pipeline, and the one kind-to-status map. */
export { buildHttpApp, type HttpLimits } from './app.js';
export { AddressConnectionCap } from './connection-cap.js';
export { ROUTES } from './routes/index.js';
