import { fdDestination } from './log-destination.js';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { assertRecentStrongAuth, releaseInvite, resetFactors, type AuthDeps, type SsoDeps } from '../auth/index.js';
import { completeRoleGrant, INVITE_APPROVAL_ACTION, ROLE_GRANT_ACTION, type RbacDeps } from '../rbac/index.js';
import { recordAudit } from '../audit/index.js';
import { InProcessBus } from '../cluster/index.js';
import { adminSocketPath, resolveSecret, storeTlsDecision, type Config } from '../config/index.js';
import {
  currentDrill,
  systemClock,
  systemTimers,
  type Clock,
  type LimitName,
  type Logger,
  type SecuritySignal,
} from '../core/index.js';
import {
  attestationAllowlist,
  configurePasswordGate,
  defaultGateOptions,
  LocalKms,
  OidcRelyingParty,
  Pkcs11Kms,
  type AttestationAllowlist,
  type Kms,
} from '../crypto/index.js';
import { EnvelopeSealer, instrumentKms, KeyRotation } from '../keys/index.js';
import { defaultMasterSecretPath, loadOrCreateMasterSecret } from './master-secret.js';
import { AddressBlocks, LIMITS, RateLimiter, StorageReserve, type FreeSpaceProbe } from '../limits/index.js';
import { loadAddressBlocks } from '../detect/index.js';
import { PrometheusMetrics, QueryTimingPlugin } from '../metrics/index.js';
import { CursorWriter, Outbox, SendQueue, sendLanes, type MessagingDeps } from '../messaging/index.js';
import { sendGate, type E2eeDeps } from '../e2ee/index.js';
import { openStore, type Store, type StoreOptions } from '../store/index.js';
import { LogCache, OrgSigner, type TransparencyDeps } from '../transparency/index.js';
import type { DrillFixtures } from './admin-drills.js';
import { drillFixtures } from './drill-fixtures.js';
import { DrillRegistry, type SecurityQueries } from './drills.js';

/** Everything the transports need, built once from config (the composition root). */
export interface Core {
  config: Config;
  store: Store;
  auth: AuthDeps;
  messaging: MessagingDeps;
  /** The MLS delivery service and KeyPackage directory. */
  e2ee: E2eeDeps;
  rbac: RbacDeps;
  /** Organisation key, device credentials, the key directory and the transparency log. */
  transparency: TransparencyDeps;
  log: Logger;
  /** The Prometheus registry and the metrics port every module records into. */
  metrics: PrometheusMetrics;
  kms: Kms;
  /** Envelope encryption of what the server keeps (also `auth.sealer`). */
  sealer: EnvelopeSealer;
  /** KEK rotation, re-encryption and the rotation schedule. */
  rotation: KeyRotation;
  /** Set when this start generated the master secret (the operator must move it off the machine). */
  masterSecretGeneratedAt: string | undefined;
  adminSocketPath: string;
  /** Live drills (their tokens mark traffic at the HTTP and WebSocket edges). */
  drills: DrillRegistry;
  /** Detection's read side for drills and `security status` (wired with detect/). */
  security?: SecurityQueries;
  /** Drill set-up only the server can do (service token, disabling synthetic accounts). */
  drillFixtures?: DrillFixtures;
}

/**
 * Builds the logger: JSON lines on stdout, through a destination that a vanished reader cannot wedge
 * (log-destination.ts). SECURITY: credentials are redacted by path as a backstop.
 */
export function buildLogger(config: Config): Logger {
  return pino(
    {
      level: config.log.level,
      base: { svc: 'palisade' },
      redact: {
        paths: [
          'token',
          'password',
          '*.token',
          '*.password',
          'payload',
          '*.payload',
          'authorization',
          'cookie',
          '*.authorization',
          '*.cookie',
          'req.headers.authorization',
          'req.headers.cookie',
          'headers.authorization',
          'headers.cookie',
          'query.token',
          '*.query.token',
          'req.headers["x-palisade-drill"]',
          'headers["x-palisade-drill"]',
        ],
        censor: '[REDACTED]',
      },
    },
    fdDestination(1),
  );
}

/** Opens the store, applies migrations and wires the domain modules. */
export async function buildCore(
  config: Config,
  env: NodeJS.ProcessEnv,
  opts: { clock?: Clock; log?: Logger; metrics?: PrometheusMetrics } = {},
): Promise<Core> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const log = opts.log ?? buildLogger(config);
  const clock = opts.clock ?? systemClock;
  const metrics = opts.metrics ?? new PrometheusMetrics();
  // The key store first: a master secret that does not open the keyring must fail the start before
  // the store is migrated.
  const { kms: rawKms, generatedAt } = openKms(config, env, clock);
  const kms = instrumentKms(rawKms, metrics);
  const opened = await openStore({ ...storeOptions(config, env), log });
  const applied = await opened.migrate();
  if (applied.length > 0) log.info({ migrations: applied }, 'store migrated');
  // Every query (transactions included) is timed into palisade_store_query_seconds.
  const store: Store = { ...opened, db: opened.db.withPlugin(new QueryTimingPlugin(metrics)) };
  const sealer = new EnvelopeSealer(store.db, kms, clock);
  // Table scopes are sealed inside transactions: their keys must be loaded before any request.
  await sealer.prepareServerScopes();
  const rotation = new KeyRotation(
    store.db,
    sealer,
    kms,
    clock,
    log,
    {
      rotateEveryDays: config.keys.rotateEveryDays,
      autoRotate: config.keys.autoRotate,
      sealPayloads: config.keys.sealMessages,
    },
    // ASVS 16.3.x: key operations are audited (by the system: the admin socket or the schedule).
    (keyAction, details) =>
      recordAudit(store.db, sealer, { at: clock.now(), actorId: null, action: keyAction, outcome: 'success', details }),
  );
  const bus = new InProcessBus(log);
  const limiter = new RateLimiter(clock, { ...LIMITS, ...config.limits.overrides }, (name, subject) => {
    metrics.rateLimited(name);
    bus.publish({ type: 'security.signal', data: rateLimitedSignal(name, subject, clock.now()) });
  });
  const gate = defaultGateOptions();
  const concurrency = config.auth.argon2.concurrency ?? gate.concurrency;
  configurePasswordGate({
    concurrency,
    maxQueue: concurrency * 16,
    deadlineMs: config.auth.argon2.queueDeadlineMs ?? gate.deadlineMs,
  });
  const outbox = new Outbox(store.db, bus, log, () => clock.now());
  const storage = new StorageReserve(
    freeSpaceProbe(store, config),
    config.limits.storageReserveMiB * 1024 * 1024,
    clock,
  );
  await storage.refresh();
  // Address and network blocks of automatic response: checked at login, MFA, enrolment and the edges.
  const blocks = new AddressBlocks({
    clock,
    load: () => loadAddressBlocks(store.db, sealer, clock),
    timers: systemTimers,
    refreshMs: config.response.blockRefreshSeconds * 1000,
    log,
  });
  const auth: AuthDeps = {
    db: store.db,
    clock,
    bus,
    limiter,
    blocks,
    log,
    metrics,
    policy: {
      sessionTtlMs: config.auth.sessionTtlHours * 3_600_000,
      idleTimeoutMs: config.auth.idleTimeoutMinutes * 60_000,
      enrolmentTokenTtlMs: config.auth.enrolmentTokenTtlMinutes * 60_000,
      argon2: config.auth.argon2,
      mfaGraceMs: config.auth.mfaEnrolmentGraceHours * 3_600_000,
      maxFactorFailures: config.auth.maxFactorFailures,
      stepUpWindowMs: config.auth.stepUpMinutes * 60_000,
      loginChallengeTtlMs: 5 * 60_000,
      adminsRequirePhishingResistant: config.auth.adminsRequirePhishingResistant,
      ...(config.org.name ? { orgName: config.org.name } : {}),
    },
    sealer,
    rp: {
      id: config.auth.webauthn.rpId,
      name: config.auth.webauthn.rpName,
      origins: config.auth.webauthn.origins,
      attestation: loadAttestationAllowlist(config),
    },
    ...(config.auth.oidc ? { sso: ssoFromConfig(config.auth.oidc, env) } : {}),
  };
  const messaging: MessagingDeps = {
    db: store.db,
    clock,
    bus,
    limiter,
    storage,
    outbox,
    log,
    metrics,
    sends: new SendQueue(store.db, (n) => metrics.sendBatch(n), sendLanes(store.dialect, config.store.poolSize)),
    cursors: new CursorWriter(store.db, log),
    sealer,
    sealPayloads: config.keys.sealMessages,
    gate: sendGate(config.e2ee.required),
  };
  const e2ee: E2eeDeps = { messaging, required: config.e2ee.required };
  const rbac: RbacDeps = {
    db: store.db,
    clock,
    bus,
    sealer,
    assertStepUp: (p) => assertRecentStrongAuth(auth, p),
    actions: {
      // Two-person rule: resetting someone's factors needs two holders of factor.reset_any.
      'factor.reset': {
        permission: 'factor.reset_any',
        run: (params, actors) => resetFactors(auth, String(params.userId), actors),
      },
      // Two-person rule (S3): an invite carrying org_admin or security_admin is usable once a second
      // holder of role.grant approves it.
      [INVITE_APPROVAL_ACTION]: {
        permission: 'role.grant',
        run: (_params, actors) => releaseInvite(auth, actors.approvalId, actors.approvedBy),
      },
      // Two-person rule (S3): a direct grant of org_admin or security_admin is made once a second
      // holder of role.grant approves it.
      [ROLE_GRANT_ACTION]: {
        permission: 'role.grant',
        run: (params, actors) => completeRoleGrant(rbac, params, actors),
      },
    },
  };
  const transparency: TransparencyDeps = {
    db: store.db,
    clock,
    sealer,
    log,
    limiter,
    orgSigner: new OrgSigner(),
    logCache: new LogCache(),
  };
  return {
    config,
    store,
    auth,
    messaging,
    e2ee,
    rbac,
    transparency,
    log,
    metrics,
    kms,
    sealer,
    rotation,
    masterSecretGeneratedAt: generatedAt,
    adminSocketPath: adminSocketPath(config),
    drills: new DrillRegistry(clock),
    drillFixtures: drillFixtures(auth, messaging),
  };
}

/**
 * A refusal as a detection signal: address and network limits name their source address; limits of a user
 * (`message.user`, `mfa.account`) name the user. Other subjects (devices, conversations, account
 * names) are left out.
 */
export function rateLimitedSignal(limit: LimitName, subject: string, at: number): SecuritySignal {
  const drill = currentDrill();
  // Address limits key on the canonical exact prefix (`a.b.c.d/32`); the signal names the address.
  const who = limit.endsWith('.address')
    ? { address: subject.replace(/\/(32|128)$/, '') }
    : limit.endsWith('.network')
      ? { address: subject }
      : limit === 'message.user' || limit === 'mfa.account'
        ? { userId: subject }
        : {};
  return { kind: 'rate_limited', at, limit, ...who, ...(drill ? { drill } : {}) };
}

/** The AAL3 authenticator allowlist: the configured AAGUIDs with their root certificates read from disk. */
function loadAttestationAllowlist(config: Config): AttestationAllowlist {
  return attestationAllowlist(
    config.auth.webauthn.attestationAllowlist.map((a) => ({
      aaguid: a.aaguid,
      rootPems: a.rootCertificateFiles.map((f) => {
        try {
          return readFileSync(f, 'utf8');
        } catch (e) {
          throw new Error(
            `auth.webauthn.attestationAllowlist (${a.name}): cannot read ${f} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
          );
        }
      }),
    })),
  );
}

/**
 * Free bytes for the store's writes: `statfs` of the SQLite data directory (blocks available to the
 * server's user). PostgreSQL keeps its data on its own server, which this process cannot see: none.
 */
export function freeSpaceProbe(
  store: Pick<Store, 'dialect'>,
  config: Pick<Config, 'dataDir'>,
): FreeSpaceProbe | undefined {
  if (store.dialect !== 'sqlite') return undefined;
  return async () => {
    const s = await statfs(config.dataDir);
    return Number(s.bavail) * Number(s.bsize);
  };
}

/** Single sign-on from the `auth.oidc` config section; the client secret comes from a secret:// reference. */
function ssoFromConfig(o: NonNullable<Config['auth']['oidc']>, env: NodeJS.ProcessEnv): SsoDeps {
  const clientSecret = resolveSecret(o.clientSecret, env).reveal();
  return {
    client: new OidcRelyingParty({
      issuer: o.issuer,
      clientId: o.clientId,
      clientSecret,
      redirectUri: o.redirectUri,
      scopes: o.scopes,
    }),
    issuer: o.issuer,
    redirectUri: o.redirectUri,
    roleClaim: o.roleClaim,
    roleMapping: o.roleMapping,
    requireMfa: o.requireMfa,
    mfaAcrValues: o.mfaAcrValues,
    requireSameNetwork: o.requireSameNetwork,
    loopbackRequired: o.loopbackRequired,
  };
}

/**
 * Where the store is and how to reach it: the password and the TLS client key are revealed here, at
 * the edge, and handed only to the store driver.
 */
export function storeOptions(config: Config, env: NodeJS.ProcessEnv): StoreOptions {
  const s = config.store;
  const base: StoreOptions = {
    url: s.url,
    dataDir: config.dataDir,
    schema: s.schema,
    poolSize: s.poolSize,
    queryTimeoutMs: s.queryTimeoutSeconds * 1000,
    ...(s.password ? { password: resolveSecret(s.password, env) } : {}),
  };
  if (s.url === undefined || !/^postgres(ql)?:\/\//.test(s.url)) return base;
  // The schema has refused every unusable combination; this only reads the decision again.
  const { mode } = storeTlsDecision(s.url, s.tls);
  if (mode === 'disable') return { ...base, tls: { mode } };
  return {
    ...base,
    tls: {
      mode,
      ...(s.tls?.ca ? { caFile: s.tls.ca } : {}),
      ...(s.tls?.cert ? { certFile: s.tls.cert } : {}),
      ...(s.tls?.key ? { key: resolveSecret(s.tls.key, env) } : {}),
    },
  };
}

/** The local KMS's keyring file, in the data directory (sealed by the master secret kept elsewhere). */
export const keyringPath = (config: Config): string => join(config.dataDir, 'keys', 'keyring.json');

/**
 * Opens the configured KMS provider. With `create: false` (restores) a missing master secret is an
 * error instead of being generated.
 */
export function openKms(
  config: Config,
  env: NodeJS.ProcessEnv,
  clock: Clock,
  opts: { create?: boolean } = {},
): { kms: Kms; generatedAt: string | undefined } {
  const now = () => clock.now();
  const p = config.keys.pkcs11;
  if (config.keys.provider === 'pkcs11' && p) {
    return {
      kms: Pkcs11Kms.open({
        library: p.library,
        tokenLabel: p.tokenLabel,
        pin: resolveSecret(p.pin, env).reveal(),
        labelPrefix: p.labelPrefix,
        now,
      }),
      generatedAt: undefined,
    };
  }
  const master = masterSecret(config, env, opts.create ?? true);
  try {
    return { kms: new LocalKms(keyringPath(config), master.secret, now), generatedAt: master.generatedAt };
  } finally {
    // SECURITY: the KMS keeps only the derived root key; the master secret's bytes are zeroed.
    master.secret.fill(0);
  }
}

/**
 * The local KMS over a keyring held only in memory (a backup's), opened with this server's master
 * secret. Reads no keyring file and writes nothing: a restore checks a backup with it first.
 */
export function openKeyringInMemory(config: Config, env: NodeJS.ProcessEnv, keyring: unknown): Kms {
  const master = masterSecret(config, env, false);
  try {
    return LocalKms.inMemory(keyring, master.secret);
  } finally {
    master.secret.fill(0);
  }
}

/** The local KMS master secret: from config (secret://), or generated beside the data directory. */
function masterSecret(
  config: Config,
  env: NodeJS.ProcessEnv,
  create: boolean,
): { secret: Buffer; generatedAt: string | undefined } {
  if (config.keys.masterSecret)
    return {
      secret: Buffer.from(resolveSecret(config.keys.masterSecret, env).reveal(), 'base64url'),
      generatedAt: undefined,
    };
  const path = defaultMasterSecretPath(config.dataDir);
  if (!create && !existsSync(path))
    throw new Error(
      `no master secret at ${path}: set keys.masterSecret (or PALISADE_MASTER_SECRET) to secret://file/... holding the master secret of the server that made the backup`,
    );
  const { secret, created } = loadOrCreateMasterSecret(path);
  return { secret, generatedAt: created ? path : undefined };
}
