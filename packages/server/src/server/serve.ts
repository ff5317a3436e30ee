import type { Server as NetServer } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { ExpiredRowSweeper, issueBootstrapToken } from '../auth/index.js';
import { isLoopbackHost, resolveSecret, type Config } from '../config/index.js';
import { systemClock, systemTimers, type Clock, type Logger, type Timers } from '../core/index.js';
import { AddressConnectionCap, buildHttpApp, type HttpLimits } from '../http/index.js';
import { TrustedProxies } from '../limits/index.js';
import { Gateway } from '../realtime/index.js';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { startAdminSocket } from './admin-socket.js';
import { startHeapReclaim } from './heap-reclaim.js';
import { bootstrapTokenPath, writeBootstrapFile } from './bootstrap-file.js';
import { buildCore, type Core } from './compose.js';
import { startSecurity } from './detection.js';
import { startMetricsListener, type MetricsListener } from './metrics-listener.js';
import { acquireDataDirLock } from './data-dir-lock.js';
import { defaultMasterSecretPath } from './master-secret.js';
import { preflight, PreflightError } from './preflight.js';
import { readinessProbe } from './readiness.js';
import { loadTlsMaterial, type TlsMaterial } from './tls-material.js';

/** A started server. */
export interface RunningServer {
  core: Core;
  port: number;
  tls: TlsMaterial;
  /**
   * The first-admin token when no account exists yet (shown once); `file` is set when it was written
   * to a 0600 file instead (`bootstrapToFile`), and then the token must not be printed.
   */
  bootstrap: { token: string; expiresAt: number; file?: string } | undefined;
  gateway: Gateway;
  /** The Prometheus listener, unless `metrics.enabled` is false. */
  metrics: { url: string; port: number; tokenRequired: boolean } | undefined;
  /** Graceful stop: refuse new work, finish in-flight operations, close sockets with 1001. */
  close(): Promise<void>;
}

/** Options of `startServer`. */
export interface StartOptions {
  clock?: Clock;
  /** Timers of the WebSocket session deadlines (tests pass their FakeClock); default Node's. */
  timers?: Timers;
  log?: Logger;
  /** Write the first-admin token to `<dataDir>/first-admin-token` (0600) instead of handing it out. */
  bootstrapToFile?: boolean;
}

/**
 * Starts HTTPS + WSS on one port, the admin socket, and the outbox recovery. Checks everything first
 * (preflight), then takes the data directory's lock; a start that fails leaves no data directory,
 * lock or generated master secret it created behind.
 */
export async function startServer(
  config: Config,
  env: NodeJS.ProcessEnv,
  opts: StartOptions = {},
): Promise<RunningServer> {
  // With `connect`: the port is free and PostgreSQL answers (a PKCS#11 login comes with the KMS, before the store).
  const problems = await preflight(config, env, { connect: true });
  if (problems.length > 0) throw new PreflightError(problems);
  const createdDir = !existsSync(config.dataDir);
  const masterFile = defaultMasterSecretPath(config.dataDir);
  const createdMaster = config.keys.provider === 'local' && !config.keys.masterSecret && !existsSync(masterFile);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  let lock;
  try {
    lock = acquireDataDirLock(config.dataDir, 'palisade serve');
  } catch (e) {
    if (createdDir) rmSync(config.dataDir, { recursive: true, force: true });
    throw e;
  }
  let core: Core | undefined;
  try {
    core = await buildCore(config, env, opts);
    return await listen(core, config, env, () => lock.release(), opts);
  } catch (e) {
    await core?.store.close().catch(() => undefined);
    lock.release();
    // Nothing of a failed first start stays behind (the store, if created, is in this directory).
    if (createdDir) rmSync(config.dataDir, { recursive: true, force: true });
    if (createdDir && createdMaster) rmSync(masterFile, { force: true });
    throw e;
  }
}

async function listen(
  core: Core,
  config: Config,
  env: NodeJS.ProcessEnv,
  releaseLock: () => void,
  opts: StartOptions,
): Promise<RunningServer> {
  const tls = await loadTlsMaterial(config);
  await core.rotation.sealLegacy();
  // In the background: finish a rotation or re-encryption a crash interrupted, then keep to the schedule.
  void core.rotation
    .resume()
    .catch((e: unknown) => core.log.error({ err: e }, 'resuming a key job failed; it is retried at the next start'));
  core.rotation.start();
  // S20: expired challenge, SSO and pending-enrolment rows are purged every five minutes.
  const sweeper = new ExpiredRowSweeper(
    core.store.db,
    () => core.auth.clock.now(),
    (e) => core.log.warn({ err: e }, 'purging expired rows failed; retried at the next run'),
  );
  sweeper.start();
  // Wall-clock steps (NTP, an operator, a VM resumed) are worth a line: limits ignore them (monotonic),
  // idle timeouts discount forward ones, but stored instants (audit, messages) carry the step.
  const unwatchClock = opts.clock
    ? undefined
    : systemClock.onStep((d) =>
        core.log.warn(
          { stepSeconds: Math.round(d / 1000) },
          `the wall clock was set ${d > 0 ? 'forward' : 'back'}; rate limits are not affected, keep the clock synchronised (NTP)`,
        ),
      );
  // The audit chain's checkpoints and feed, and detection listening on the bus (before any request).
  const security = await startSecurity(core, env, opts.timers ?? systemTimers);
  core.security = security.queries;
  const recovered = await core.messaging.outbox.recover();
  if (recovered > 0) core.log.info({ recovered }, 'outbox events replayed after restart');
  let draining = false;
  const h = config.http;
  const limits: HttpLimits = {
    requestTimeoutMs: h.requestTimeoutSeconds * 1000,
    headersTimeoutMs: h.headersTimeoutSeconds * 1000,
    idleTimeoutMs: h.idleTimeoutSeconds * 1000,
    keepAliveTimeoutMs: h.keepAliveTimeoutSeconds * 1000,
    maxConnections: h.maxConnections,
    maxConnectionsPerAddress: h.maxConnectionsPerAddress,
  };
  const cap = new AddressConnectionCap(limits.maxConnectionsPerAddress);
  const proxies = new TrustedProxies(config.server.trustProxy);
  const gateway = new Gateway({
    auth: core.auth,
    messaging: core.messaging,
    log: core.log,
    metrics: core.metrics,
    clientAddress: (req) =>
      proxies.clientAddress(req.socket.remoteAddress ?? 'unknown', req.headers['x-forwarded-for']),
    allowedOrigins: config.server.allowedOrigins,
    drills: core.drills,
    connectionSlots: cap,
    recheckEveryMs: config.server.sessionRecheckSeconds * 1000,
    ...(opts.timers ? { timers: opts.timers } : {}),
  });
  const app = buildHttpApp(
    {
      auth: core.auth,
      messaging: core.messaging,
      e2ee: core.e2ee,
      rbac: core.rbac,
      transparency: core.transparency,
      log: core.log,
      metrics: core.metrics,
      draining: () => draining,
      drills: core.drills,
      ...(security.console ? { security: security.console } : {}),
      ready: readinessProbe(core.store, core.kms, core.messaging.storage),
    },
    { certPem: tls.certPem, keyPem: tls.keyPem, minVersion: config.server.tls.minVersion },
    { limits, cap, trustProxy: proxies },
  );
  app.server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  const clock = opts.clock ?? systemClock;
  const stopHeapReclaim = startHeapReclaim({
    connections: () => gateway.hub.size,
    monotonic: () => clock.monotonic(),
    heapUsed: () => process.memoryUsage().heapUsed,
    log: core.log,
  });
  core.metrics.trackConnections(
    () => new Promise((resolve) => app.server.getConnections((e, n) => resolve(e ? 0 : n))),
  );
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
    admin = await startAdminSocket(core, () => ({
      connections: gateway.hub.size,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      port,
      store: core.store.dialect,
    }));
  } catch (e) {
    core.log.warn({ err: e, path: core.adminSocketPath }, 'admin socket not started; use the offline admin commands');
  }
  rmSync(bootstrapTokenPath(config.dataDir), { force: true }); // a killed server's: its token is replaced below
  const issued = await issueBootstrapToken(core.auth);
  const tokenFile =
    issued && opts.bootstrapToFile ? writeBootstrapFile(core, issued.token, issued.expiresAt) : undefined;
  const bootstrap = issued && (tokenFile ? { ...issued, file: tokenFile.path } : issued);
  core.log.info(
    { port, tls: tls.source, store: core.store.dialect, tlsMinVersion: config.server.tls.minVersion },
    'listening',
  );

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      unwatchClock?.();
      stopHeapReclaim();
      const grace = config.server.shutdownGraceSeconds * 1000;
      await gateway.drain(grace);
      await app.close();
      await metrics?.close();
      await new Promise<void>((r) => (admin ? (admin as NetServer).close(() => r()) : r()));
      await core.rotation.stop();
      await security.stop();
      sweeper.stop();
      await core.messaging.cursors.flush();
      await core.messaging.outbox.flush();
      tokenFile?.stop();
      await core.store.close();
      releaseLock();
      core.log.info({}, 'stopped');
    })());
  const metricsInfo = metrics
    ? { url: metrics.url, port: metrics.port, tokenRequired: config.metrics.token !== undefined }
    : undefined;
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
    ...(isLoopbackHost(m.host)
      ? {}
      : { tls: { certPem: tls.certPem, keyPem: tls.keyPem, minVersion: config.server.tls.minVersion } }),
    render: () => core.metrics.render(),
    log: core.log,
  });
}
