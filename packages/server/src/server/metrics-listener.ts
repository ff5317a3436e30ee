import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/index.js';
import { constantTimeEqual, sha256Hex } from '../crypto/index.js';
import { tlsServerOptions } from '../http/index.js';
import { isLoopbackAddress, isLoopbackHostHeader } from '../metrics/index.js';

/** Shortest bearer token accepted for the metrics listener. */
export const MIN_METRICS_TOKEN_LENGTH = 32;

/** How the metrics listener is set up (config `metrics`, with the token already resolved). */
export interface MetricsListenerOptions {
  host: string;
  port: number;
  /** The bearer token every scrape must send; absent: only loopback peers are answered. */
  token?: string;
  /** HTTPS with this certificate (used when the host is not loopback, so the token is not sent in clear). */
  tls?: { certPem: string; keyPem: string; minVersion: 'TLSv1.3' | 'TLSv1.2' };
  /** The exposition text. */
  render(): Promise<{ contentType: string; body: string }>;
  log: Logger;
}

/** A started metrics listener. */
export interface MetricsListener {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** What the access rule decided for one request. */
export type MetricsAccess = 'allow' | 'forbidden' | 'not_authenticated';

/**
 * The access rule of the metrics listener. SECURITY: with a token configured, every scrape must send
 * `Authorization: Bearer <token>` (compared in constant time, as hashes, so the length leaks nothing
 * either); without one, only loopback peers, judged by the socket's own address (never a header),
 * that also name a loopback host (`Host: 127.0.0.1:9464`; a rebound DNS name is refused).
 */
export function metricsAccess(
  peer: string | undefined,
  authorization: string | undefined,
  token: string | undefined,
  host?: string,
): MetricsAccess {
  if (token === undefined) return isLoopbackAddress(peer) && isLoopbackHostHeader(host) ? 'allow' : 'forbidden';
  const given = authorization?.startsWith('Bearer ') ? authorization.slice(7) : '';
  return constantTimeEqual(sha256Hex(given), sha256Hex(token)) ? 'allow' : 'not_authenticated';
}

const HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

function refuse(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, string> = {},
): void {
  res
    .writeHead(status, { ...HEADERS, ...extra, 'content-type': 'application/json; charset=utf-8' })
    .end(JSON.stringify({ code, message }));
}

async function answer(opts: MetricsListenerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const access = metricsAccess(req.socket.remoteAddress, req.headers.authorization, opts.token, req.headers.host);
  if (access === 'forbidden')
    return refuse(
      res,
      403,
      'forbidden',
      'metrics are served to loopback peers, at a loopback Host, only; set metrics.token to scrape from elsewhere',
    );
  if (access === 'not_authenticated')
    return refuse(res, 401, 'not_authenticated', 'send Authorization: Bearer <metrics token>', {
      'www-authenticate': 'Bearer',
    });
  const path = (req.url ?? '').split('?')[0];
  if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD'))
    return refuse(res, 404, 'not_found', 'the only route is GET /metrics');
  const { contentType, body } = await opts.render();
  res.writeHead(200, { ...HEADERS, 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Starts the Prometheus listener on its own port: GET /metrics only, small timeouts, few connections.
 * Plain HTTP on loopback (TLS to a local scraper protects nothing); HTTPS when `tls` is given.
 */
export async function startMetricsListener(opts: MetricsListenerOptions): Promise<MetricsListener> {
  if (opts.token !== undefined && opts.token.length < MIN_METRICS_TOKEN_LENGTH)
    throw new Error(
      `metrics.token must hold at least ${MIN_METRICS_TOKEN_LENGTH} characters (e.g. openssl rand -base64 32)`,
    );
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    answer(opts, req, res).catch((e: unknown) => {
      opts.log.error({ err: e }, 'rendering metrics failed');
      if (!res.headersSent) refuse(res, 500, 'internal', 'metrics could not be rendered');
      else res.destroy();
    });
  };
  const limits = { requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000 };
  const server: Server = opts.tls
    ? createHttpsServer(
        { ...tlsServerOptions(opts.tls.certPem, opts.tls.keyPem, opts.tls.minVersion), ...limits },
        handler,
      )
    : createHttpServer(limits, handler);
  server.maxConnections = 32;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `the metrics listener cannot listen on ${opts.host}:${opts.port} (${e.code ?? e.message}): set metrics.port to a free port, or metrics.enabled: false`,
        ),
      ),
    );
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host}:${port}/metrics`,
    port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
