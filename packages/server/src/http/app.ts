import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { ErrorBody } from '@palisade/protocol';
import { MAX_FRAME_BYTES } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import { randomId } from '../crypto/index.js';
import { TrustedProxies } from '../limits/index.js';
import { registerAccessLog } from './access-log.js';
import { registerJsonBodyParser } from './body.js';
import { AddressConnectionCap } from './connection-cap.js';
import type { HttpDeps } from './deps.js';
import { registerDrillMarking } from './drill-marking.js';
import { clientErrorToHttp, toHttpError } from './error-map.js';
import { ProofReplayCache } from './proof.js';
import { registerRoutes } from './route.js';
import { ROUTES } from './routes/index.js';
import { tlsServerOptions } from './tls-options.js';

/** TLS material for the HTTPS listener. */
export interface HttpsMaterial {
  certPem: string;
  keyPem: string;
  minVersion: 'TLSv1.3' | 'TLSv1.2';
}

/** Listener limits (config section `http`, in milliseconds here). */
export interface HttpLimits {
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
}

/** The defaults of the `http` config section. */
export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 10_000,
  maxConnectionsPerAddress: 256,
};

/** Longest path parameter (ids are far shorter); longer gets `414 uri_too_long`. */
export const MAX_PARAM_LENGTH = 100;

/** Headers on every response, errors of the HTTP layer included. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'same-origin',
};

/** A complete HTTP/1.1 error response written straight to a socket (no request object exists). */
function rawErrorResponse(status: number, body: ErrorBody): string {
  const json = JSON.stringify(body);
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(json)),
    connection: 'close',
  };
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n${json}`;
}

/**
 * Node's `clientError` path (malformed request line or headers, header overflow, request timeout).
 * SECURITY: answers our error shape with the security headers, echoes nothing, then closes.
 */
function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const res = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !res?.headersSent) {
    const { status, body } = clientErrorToHttp(err);
    socket.end(rawErrorResponse(status, body));
    setTimeout(() => socket.destroy(), 1_000).unref();
  } else {
    socket.destroy();
  }
}

/** Options of `buildHttpApp`: listener limits, and the per-address cap shared with the WebSocket gateway. */
export interface HttpAppOptions {
  limits?: HttpLimits;
  cap?: AddressConnectionCap;
  /** Reverse proxies whose X-Forwarded-For sets `req.ip` (config `server.trustProxy`); default none. */
  trustProxy?: TrustedProxies;
}

/** Builds the HTTPS application: limits, security headers, bounded JSON, the route pipeline, error mapping. */
export function buildHttpApp(deps: HttpDeps, tls: HttpsMaterial, opts: HttpAppOptions = {}): FastifyInstance {
  const limits = opts.limits ?? DEFAULT_HTTP_LIMITS;
  const app = Fastify({
    // SECURITY (S8): Node checks request and header deadlines every connectionsCheckingInterval.
    // A TLS handshake must finish within the headers timeout too (Node's default is 120 s).
    https: {
      ...tlsServerOptions(tls.certPem, tls.keyPem, tls.minVersion),
      handshakeTimeout: limits.headersTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, limits.requestTimeoutMs),
    },
    bodyLimit: MAX_FRAME_BYTES,
    // The access log is ours (access-log.ts): one line per request with the route pattern, never the URL.
    logger: false,
    // SECURITY: a request id of our own making; a client's X-Request-Id is not believed.
    requestIdHeader: false,
    genReqId: () => randomId().slice(0, 16),
    // SECURITY: X-Forwarded-For only from a configured proxy (hop by hop from the right, as in the gateway).
    trustProxy:
      opts.trustProxy && !opts.trustProxy.none
        ? (address: string) => (opts.trustProxy as TrustedProxies).trusts(address)
        : false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // SECURITY (S8): a whole request (headers and body) within requestTimeout, so slow bodies are cut off;
    // silent sockets and idle keep-alive connections are closed.
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    clientErrorHandler: onClientError,
    // SECURITY: Fastify's own routing errors (bad URL encoding, long parameters) go through our map.
    frameworkErrors: (err, _req, reply) => {
      const { status, body } = toHttpError(err, deps.log);
      const r = reply as unknown as FastifyReply;
      void r.headers(SECURITY_HEADERS).code(status).send(body);
    },
  });
  app.server.maxConnections = limits.maxConnections;
  (opts.cap ?? new AddressConnectionCap(limits.maxConnectionsPerAddress)).attach(app.server);
  // SECURITY: every body goes through the strict UTF-8 decoder and the bounded parser.
  registerJsonBodyParser(app);
  registerDrillMarking(app, deps.drills);
  // SECURITY: an address or network that automatic response blocked is refused before any route
  // (after drill marking, so a drill's TEST-NET source is what is checked).
  app.addHook('onRequest', (req, _reply, done) => {
    if (deps.auth.blocks?.isBlocked(req.ip)) return done(new AppError('address_blocked'));
    done();
  });
  registerAccessLog(app, deps.log, deps.metrics);
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-request-id', req.id);
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
  registerRoutes(app, deps, ROUTES, new ProofReplayCache());
  return app;
}
