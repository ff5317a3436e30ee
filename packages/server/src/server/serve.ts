import type { Server as NetServer } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { ExpiredRowSweeper, issueBootstrapToken } from '../auth/index.js';
import { isLoopbackHost, resolveSecret, type Config } from '../config/index.js';
import type { Clock, Logger } from '../core/index.js';
import { AddressConnectionCap, buildHttpApp, type HttpLimits } from '../http/index.js';
import { TrustedProxies } from '../limits/index.js';
import { Gateway } from '../realtime/index.js';
import { startAdminSocket } from './admin-socket.js';
import { buildCore, type Core } from './compose.js';
import { startMetricsListener, type MetricsListener } from './metrics-listener.js';
import { loadTlsMaterial, type TlsMaterial } from './tls-material.js';

/** A started server. */
export interface RunningServer {
  core: Core;
  port: number;
  tls: TlsMaterial;
  /** The first-admin token when no account exists yet (shown once). */
  bootstrap: { token: string; expiresAt: number } | undefined;
  gateway: Gateway;
  /** The Prometheus listener, unless `metrics.enabled` is false. */
  metrics: { url: string; port: number; tokenRequired: boolean } | undefined;
  /** Graceful stop: refuse new work, finish in-flight operations, close sockets with 1001. */
  close(): Promise<void>;
}

/** Starts HTTPS + WSS on one port, the admin socket, and the outbox recovery. */
export async function startServer(config: Config, env: NodeJS.ProcessEnv, opts: { clock?: Clock; log?: Logger } = {}): Promise<RunningServer> {
  const core = await buildCore(config, env, opts);
  const tls = await loadTlsMaterial(config);
  await core.rotation.sealLegacy();
  // In the background: finish a rotation or re-encryption a crash interrupted, then keep to the schedule.
  void core.rotation.resume().catch((e: unknown) => core.log.error({ err: e }, 'resuming a key job failed; it is retried at the next start'));
  core.rotation.start();
  // S20: expired challenge, SSO and pending-enrolment rows are purged every five minutes.
  const sweeper = new ExpiredRowSweeper(core.store.db, () => core.auth.clock.now(), (e) => core.log.warn({ err: e }, 'purging expired rows failed; retried at the next run'));
  sweeper.start();
  const recovered = await core.messaging.outbox.recover();
  if (recovered > 0) core.log.info({ recovered }, 'outbox events replayed after restart');
  let draining = false;
  const h = config.http;
  const limits: HttpLimits = {
    requestTimeoutMs: h.requestTimeoutSeconds * 1000, headersTimeoutMs: h.headersTimeoutSeconds * 1000, idleTimeoutMs: h.idleTimeoutSeconds * 1000,
    keepAliveTimeoutMs: h.keepAliveTimeoutSeconds * 1000, maxConnections: h.maxConnections, maxConnectionsPerAddress: h.maxConnectionsPerAddress,
  };
  const cap = new AddressConnectionCap(limits.maxConnectionsPerAddress);
  const proxies = new TrustedProxies(config.server.trustProxy);
  const gateway = new Gateway({
    auth: core.auth, messaging: core.messaging, log: core.log, metrics: core.metrics,
    clientAddress: (req) => proxies.clientAddress(req.socket.remoteAddress ?? 'unknown', req.headers['x-forwarded-for']),
    allowedOrigins: config.server.allowedOrigins, connectionSlots: cap, recheckEveryMs: config.server.sessionRecheckSeconds * 1000,
  });
  const app = buildHttpApp(
    {
      auth: core.auth,
      messaging: core.messaging,
      rbac: core.rbac,
      log: core.log,
      metrics: core.metrics,
      draining: () => draining,
      ready: async () => {
        try {
          await core.store.db.selectFrom('users').select('id').limit(1).execute();
          return true;
        } catch {
          return false;
        }
      },
    },
    { certPem: tls.certPem, keyPem: tls.keyPem, minVersion: config.server.tls.minVersion },
    { limits, cap, trustProxy: proxies },
  );
  app.server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  core.metrics.trackConnections(() => new Promise((resolve) => app.server.getConnections((e, n) => resolve(e ? 0 : n))));
  const metrics = config.metrics.enabled ? await startMetrics(config, env, core, tls) : undefined;
  try {
    await app.listen({ host: config.server.host, port: config.server.port });
  } catch (e) {
    await metrics?.close();
    throw e;
  }
  const port = (app.server.address() as { port: number }).port;
  const startedAt = Date.now();
  let admin: HttpServer | undefined;
  try {
    admin = await startAdminSocket(core, () => ({ connections: gateway.hub.size, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000), port, store: core.store.dialect }));
  } catch (e) {
    core.log.warn({ err: e, path: core.adminSocketPath }, 'admin socket not started; use the offline admin commands');
  }
  const bootstrap = await issueBootstrapToken(core.auth);
  core.log.info({ port, tls: tls.source, store: core.store.dialect, tlsMinVersion: config.server.tls.minVersion }, 'listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      const grace = config.server.shutdownGraceSeconds * 1000;
      await gateway.drain(grace);
      await app.close();
      await metrics?.close();
      await new Promise<void>((r) => (admin ? (admin as NetServer).close(() => r()) : r()));
      await core.rotation.stop();
      sweeper.stop();
      await core.messaging.cursors.flush();
      await core.messaging.outbox.flush();
      await core.store.close();
      core.log.info({}, 'stopped');
    })());
  const metricsInfo = metrics ? { url: metrics.url, port: metrics.port, tokenRequired: config.metrics.token !== undefined } : undefined;
  return { core, port, tls, bootstrap, gateway, metrics: metricsInfo, close };
}

/**
 * The metrics listener from config `metrics`: plain HTTP on a loopback host, HTTPS with the server's
 * certificate elsewhere (the schema has made sure a token is set then, so it never crosses a network in clear).
 */
function startMetrics(config: Config, env: NodeJS.ProcessEnv, core: Core, tls: TlsMaterial): Promise<MetricsListener> {
  const m = config.metrics;
  return startMetricsListener({
    host: m.host,
    port: m.port,
    ...(m.token ? { token: resolveSecret(m.token, env).reveal() } : {}),
    ...(isLoopbackHost(m.host) ? {} : { tls: { certPem: tls.certPem, keyPem: tls.keyPem, minVersion: config.server.tls.minVersion } }),
    render: () => core.metrics.render(),
    log: core.log,
  });
}
