import type { Server as NetServer } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { AuditTail } from '../audit/index.js';
import { ExpiredRowSweeper, issueBootstrapToken } from '../auth/index.js';
import type { Config } from '../config/index.js';
import { systemClock, type Clock, type Logger } from '../core/index.js';
import { AddressConnectionCap, buildHttpApp, type HttpLimits } from '../http/index.js';
import { Gateway } from '../realtime/index.js';
import { startAdminSocket } from './admin-socket.js';
import { buildCore, type Core } from './compose.js';
import { readinessProbe } from './readiness.js';
import { loadTlsMaterial, type TlsMaterial } from './tls-material.js';

/** A started server. */
export interface RunningServer {
  core: Core;
  port: number;
  tls: TlsMaterial;
  /** The first-admin token when no account exists yet (shown once). */
  bootstrap: { token: string; expiresAt: number } | undefined;
  gateway: Gateway;
  /** Graceful stop: refuse new work, finish in-flight operations, close sockets with 1001. */
  close(): Promise<void>;
}

/** Starts HTTPS + WSS on one port, the admin socket, and the outbox recovery. */
export async function startServer(config: Config, env: NodeJS.ProcessEnv, opts: { clock?: Clock; log?: Logger } = {}): Promise<RunningServer> {
  const core = await buildCore(config, env, opts);
  const tls = await loadTlsMaterial(config);
  const auditTail = new AuditTail(core.store.db, core.sealer, core.messaging.bus, core.log);
  await auditTail.start();
  await core.rotation.sealLegacy();
  // In the background: finish a rotation or re-encryption a crash interrupted, then keep to the schedule.
  void core.rotation.resume().catch((e: unknown) => core.log.error({ err: e }, 'resuming a key job failed; it is retried at the next start'));
  core.rotation.start();
  // S20: expired challenge, SSO and pending-enrolment rows are purged every five minutes.
  const sweeper = new ExpiredRowSweeper(core.store.db, () => core.auth.clock.now(), (e) => core.log.warn({ err: e }, 'purging expired rows failed; retried at the next run'));
  sweeper.start();
  // Wall-clock steps (NTP, an operator, a VM resumed) are worth a line: limits ignore them (monotonic),
  // idle timeouts discount forward ones, but stored instants (audit, messages) carry the step.
  const unwatchClock = opts.clock ? undefined : systemClock.onStep((d) => core.log.warn({ stepSeconds: Math.round(d / 1000) }, `the wall clock was set ${d > 0 ? 'forward' : 'back'}; rate limits are not affected, keep the clock synchronised (NTP)`));
  const recovered = await core.messaging.outbox.recover();
  if (recovered > 0) core.log.info({ recovered }, 'outbox events replayed after restart');
  let draining = false;
  const h = config.http;
  const limits: HttpLimits = {
    requestTimeoutMs: h.requestTimeoutSeconds * 1000, headersTimeoutMs: h.headersTimeoutSeconds * 1000, idleTimeoutMs: h.idleTimeoutSeconds * 1000,
    keepAliveTimeoutMs: h.keepAliveTimeoutSeconds * 1000, maxConnections: h.maxConnections, maxConnectionsPerAddress: h.maxConnectionsPerAddress,
  };
  const cap = new AddressConnectionCap(limits.maxConnectionsPerAddress);
  const gateway = new Gateway({ auth: core.auth, messaging: core.messaging, log: core.log, allowedOrigins: config.server.allowedOrigins, connectionSlots: cap, recheckEveryMs: config.server.sessionRecheckSeconds * 1000 });
  const app = buildHttpApp(
    {
      auth: core.auth,
      messaging: core.messaging,
      rbac: core.rbac,
      log: core.log,
      draining: () => draining,
      ready: readinessProbe(core.store, core.kms, core.messaging.storage),
    },
    { certPem: tls.certPem, keyPem: tls.keyPem, minVersion: config.server.tls.minVersion },
    { limits, cap },
  );
  app.server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  await app.listen({ host: config.server.host, port: config.server.port });
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
      unwatchClock?.();
      const grace = config.server.shutdownGraceSeconds * 1000;
      await gateway.drain(grace);
      await app.close();
      await new Promise<void>((r) => (admin ? (admin as NetServer).close(() => r()) : r()));
      await core.rotation.stop();
      sweeper.stop();
      await auditTail.stop();
      await core.messaging.cursors.flush();
      await core.messaging.outbox.flush();
      await core.store.close();
      core.log.info({}, 'stopped');
    })());
  return { core, port, tls, bootstrap, gateway, close };
}
