import Fastify, { type FastifyInstance } from 'fastify';
import { MAX_FRAME_BYTES, parseJsonBytes } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import type { HttpDeps } from './deps.js';
import { toHttpError } from './error-map.js';
import { registerRoutes } from './route.js';
import { ROUTES } from './routes/index.js';
import { tlsServerOptions } from './tls-options.js';

/** TLS material for the HTTPS listener. */
export interface HttpsMaterial {
  certPem: string;
  keyPem: string;
  minVersion: 'TLSv1.3' | 'TLSv1.2';
}

const SECURITY_HEADERS: Record<string, string> = {
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'same-origin',
};

/** Builds the HTTPS application: security headers, bounded JSON, the route pipeline, error mapping. */
export function buildHttpApp(deps: HttpDeps, tls: HttpsMaterial): FastifyInstance {
  const app = Fastify({
    https: tlsServerOptions(tls.certPem, tls.keyPem, tls.minVersion),
    bodyLimit: MAX_FRAME_BYTES,
    logger: false,
    trustProxy: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  app.removeAllContentTypeParsers();
  // SECURITY: every body goes through the bounded parser (size, depth, no __proto__ keys).
  // SECURITY: bytes that are not UTF-8 are refused (never replaced with U+FFFD, which would alter text).
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    const r = parseJsonBytes(body as Buffer);
    if (r.ok) done(null, r.value);
    else done(new AppError(r.code, r.message), undefined);
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    reply.removeHeader('x-powered-by');
    return payload;
  });
  app.setErrorHandler(async (err, _req, reply) => {
    const { status, body } = toHttpError(err, deps.log);
    if (body.retryAfterMs !== undefined) reply.header('retry-after', String(Math.ceil(body.retryAfterMs / 1000)));
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler(async (_req, reply) => reply.code(404).send({ code: 'not_found', message: 'no such route' }));
  registerRoutes(app, deps, ROUTES);
  return app;
}
