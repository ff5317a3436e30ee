import { startAuditServices, verifyAuditChain, type AuditServices } from '../audit/index.js';
import type { Config } from '../config/index.js';
import type { DeviceId, Principal, SessionId, Timers, UserId } from '../core/index.js';
import {
  createAlerts,
  DetectionEngine,
  DetectionService,
  FindingStore,
  Responder,
  syslogCheckpointSink,
  type Alerter,
  type DeliveryWorker,
} from '../detect/index.js';
import type { ConsoleRecord, SecurityConsole } from '../http/index.js';
import type { Core } from './compose.js';
import type { SecurityQueries } from './drills.js';
import { securityStatus } from './security-status.js';

/** The audit services and, when `detect.enabled`, detection, response and alerts, running. */
export interface SecurityRuntime {
  audit: AuditServices;
  /** Absent when detection is switched off. */
  detection?: {
    engine: DetectionEngine;
    service: DetectionService;
    responder: Responder;
    alerter: Alerter;
    worker: DeliveryWorker;
    findings: FindingStore;
  };
  /** For the HTTP security console (absent: detection is off). */
  console?: SecurityConsole;
  /** For drills and `security status` on the admin socket. */
  queries: SecurityQueries;
  /** Stops detection (its queue handled, its state saved), then the audit services. */
  stop(): Promise<void>;
}

/**
 * The operator behind the admin socket, as a principal for what only a person may do (undoing a
 * drill's containments). SECURITY: the admin socket is trusted by its file permissions (0600, the
 * server's own OS user), like every admin-socket operation; this principal never leaves it.
 */
export function operatorPrincipal(name: string, now: number): Principal {
  return {
    userId: name as UserId,
    username: name,
    roles: ['security_admin'],
    deviceId: 'admin-socket' as DeviceId,
    sessionId: 'admin-socket' as SessionId,
    aal: 2,
    strongAuthAt: now,
    strongAuthMethod: 'passkey_device_bound',
  };
}

/** UTC hours of a drill account's usual day: eight hours centred twelve hours away from `now`. */
export function daytimeAwayFrom(now: number): number[] {
  const h = new Date(now).getUTCHours();
  return Array.from({ length: 8 }, (_, i) => (h + 8 + i) % 24);
}

/**
 * Starts the audit chain's services and detection, wired as the architecture says: detection is a
 * bus subscriber (committed audit records from the feed, signals as they happen) that nobody imports.
 */
export async function startSecurity(core: Core, env: NodeJS.ProcessEnv, timers: Timers): Promise<SecurityRuntime> {
  const { config, store, sealer, log } = core;
  const { bus, clock } = core.auth;
  const db = store.db;
  const checkpointSink = checkpointExport(config);
  const auditDeps = { db, sealer, bus, clock, timers, log };
  const auditOpts = {
    ...config.audit,
    dataDir: config.dataDir,
    ...(checkpointSink ? { onCheckpoint: checkpointSink } : {}),
  };
  // A whole-chain walk opens every record: at most one a minute, whoever asks (security review).
  let chainCache: { at: number; value: Promise<{ ok: boolean; records: number; lastCheckpointAt: number | null }> };
  const walk = async () => {
    const v = await verifyAuditChain(db, sealer);
    const last = await db.selectFrom('audit_checkpoints').select('at').orderBy('seq', 'desc').executeTakeFirst();
    return { ok: v.ok, records: v.records, lastCheckpointAt: last ? Number(last.at) : null };
  };
  const chainState = () => {
    const now = clock.now();
    if (!chainCache || now - chainCache.at > 60_000) {
      const value = walk();
      chainCache = { at: now, value };
      value.catch(() => (chainCache = { at: 0, value }));
    }
    return chainCache.value;
  };
  if (!config.detect.enabled) {
    const audit = await startAuditServices(auditDeps, auditOpts);
    const off = () => Promise.reject(new Error('detection is switched off (detect.enabled: false)'));
    return {
      audit,
      queries: {
        findings: () => Promise.resolve([]),
        containments: () => Promise.resolve([]),
        alerts: () => Promise.resolve([]),
        undoDrill: () => Promise.resolve(0),
        chainState,
        seedBaseline: off,
        decideContainment: off,
      },
      stop: () => audit.stop(),
    };
  }
  const dlog = log.child({ module: 'detect' });
  const engine = new DetectionEngine({ db, sealer, clock, log: dlog, config: config.detect });
  await engine.load();
  const findings = new FindingStore(db, sealer);
  if (!core.auth.blocks) throw new Error('address blocks are not wired into auth (compose.ts)');
  const responder = new Responder({
    auth: core.auth,
    db,
    sealer,
    clock,
    log: dlog,
    config: config.response,
    blocks: core.auth.blocks,
    timers,
  });
  await responder.start();
  const { alerter, worker } = createAlerts(config.alerts, { db, sealer, bus, clock, timers, log, env });
  worker.start();
  const service = new DetectionService(
    bus,
    engine,
    {
      save: (f) => findings.save(f),
      ...(config.response.enabled ? { respond: (f) => responder.respond(f) } : {}),
      raise: (f) => alerter.raise(f),
    },
    dlog,
    { saveEveryMs: (config.detect.saveEverySeconds ?? 30) * 1000 },
  );
  service.start();
  // First start: from the chain's head (old records are history, not an attack in progress); later
  // starts go on after the last record detection saw, so a restart misses none.
  const fromSeq = engine.cursor() > 0 ? engine.cursor() : undefined;
  const audit = await startAuditServices(auditDeps, { ...auditOpts, ...(fromSeq ? { feedFromSeq: fromSeq } : {}) });
  if (fromSeq === undefined) engine.setCursor(audit.feed.cursor());
  const queries: SecurityQueries = {
    findings: (f) => findings.list({ limit: 1000, ...f }),
    containments: (f) => responder.list(f),
    alerts: (f) => alerter.list({ limit: 1000, ...f }),
    undoDrill: (drillId, actor) => responder.undoDrill(drillId, operatorPrincipal(actor, clock.now())),
    chainState,
    decideContainment: (id, decision, actor) => {
      const operator = operatorPrincipal(actor, clock.now());
      return decision === 'undo' ? responder.undo(id, operator) : responder.approve(id, operator);
    },
    seedBaseline: (userId) => {
      const now = clock.now();
      engine.seedBaseline(userId, {
        now,
        days: 28,
        hours: daytimeAwayFrom(now),
        readsPerHour: 25,
        network: '198.51.100.0/24',
      });
      return engine.save();
    },
  };
  const rec = (x: object) => x as unknown as ConsoleRecord;
  const console: SecurityConsole = {
    alerts: async (f) => (await alerter.list(f)).map(rec),
    acknowledgeAlert: async (id, actor) => rec(await alerter.acknowledge(id, actor.userId)),
    resolveAlert: async (id, actor, note) => rec(await alerter.resolve(id, actor.userId, note)),
    findings: async (f) => (await findings.list(f)).map(rec),
    containments: async (f) => (await responder.list(f.state ? { state: f.state as never } : {})).map(rec),
    approveContainment: async (id, actor) => rec(await responder.approve(id, actor)),
    undoContainment: async (id, actor) => rec(await responder.undo(id, actor)),
    status: async () => rec(await securityStatus(queries, clock.now())),
  };
  return {
    audit,
    detection: { engine, service, responder, alerter, worker, findings },
    console,
    queries,
    async stop() {
      await audit.feed.stop();
      await service.stop();
      responder.stop();
      await worker.close();
      await audit.stop();
    },
  };
}

/** Config `audit.checkpointSyslogChannel`: checkpoints also go to that alerts syslog channel. */
function checkpointExport(config: Config) {
  const name = config.audit.checkpointSyslogChannel;
  if (!name) return undefined;
  const ch = config.alerts.channels.find((c) => c.name === name);
  if (!ch || ch.type !== 'syslog')
    throw new Error(`audit.checkpointSyslogChannel names ${name}, which is not a syslog channel in alerts.channels`);
  return syslogCheckpointSink(ch);
}
