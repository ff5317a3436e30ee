import { isIP } from 'node:net';
import { GRANTABLE_ROLES } from '@palisade/protocol';
import { z } from 'zod';
import { LIMIT_NAMES } from '../core/index.js';
import { isLoopbackHost, STORE_TLS_MODES, storeTlsDecision } from './store-tls.js';
import { AlertsSection } from './alerts-section.js';
import { ResponseSection } from './response-section.js';
import { DetectSection } from './detect-section.js';

/**
 * A reference to a secret: `secret://env/NAME` or `secret://file/PATH`. Never the secret itself.
 * PATH is absolute (`secret://file/etc/palisade/master` is /etc/palisade/master); only `./` or `../`
 * at its start make it relative, to the working directory (see secretFilePath).
 */
export const SecretRef = z
  .string()
  .regex(/^secret:\/\/(env\/[A-Za-z_][A-Za-z0-9_]*|file\/.+)$/, 'must be secret://env/NAME or secret://file/PATH');

/**
 * An address or a CIDR block (`10.0.0.5`, `10.0.0.0/8`, `fd00::/8`). SECURITY: a /0 block is refused:
 * trusting every peer's X-Forwarded-For lets anyone choose the address that rate limits see.
 */
export const Cidr = z.string().refine((v) => {
  const [addr = '', bits, ...rest] = v.split('/');
  const family = isIP(addr);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  const n = /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
  return n >= 1 && n <= (family === 4 ? 32 : 128);
}, 'must be an IP address or a CIDR block such as 10.0.0.0/8 (a /0 block would trust everyone)');

const ServerSection = z.strictObject({
  host: z.string().default('0.0.0.0'),
  port: z.number().int().min(0).max(65535).default(8443),
  /** Origins allowed to open a WebSocket (browser clients). Clients that send no Origin are native. */
  allowedOrigins: z.array(z.string().url()).default([]),
  tls: z
    .strictObject({
      certFile: z.string().optional(),
      keyFile: z.string().optional(),
      /** TLS 1.3 only unless the operator opts in to 1.2 (ECDHE + AEAD suites only). */
      minVersion: z.enum(['TLSv1.3', 'TLSv1.2']).default('TLSv1.3'),
    })
    .default({ minVersion: 'TLSv1.3' })
    .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), {
      message: 'give both certFile and keyFile, or neither (a self-signed certificate is generated)',
    }),
  /** Unix socket for the admin CLI; defaults to <dataDir>/admin.sock. */
  adminSocket: z.string().optional(),
  /** Seconds to let in-flight work finish on shutdown. */
  shutdownGraceSeconds: z.number().min(0).max(120).default(10),
  /** Seconds between re-checks of each open WebSocket's session (revoked, expired, idle, device). */
  sessionRecheckSeconds: z.number().min(1).max(300).default(60),
  /**
   * Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR blocks; empty: none, the
   * default). Only a peer in this list may name the client address; see docs/operations.md.
   */
  trustProxy: z.array(Cidr).default([]),
});

/**
 * The Prometheus listener (plain HTTP on loopback; HTTPS with the server's certificate elsewhere).
 * SECURITY: without a token only loopback peers are answered; a non-loopback host needs a token.
 */
const MetricsSection = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Where to listen; 127.0.0.1 by default. Any other host needs `token`. */
    host: z.string().min(1).default('127.0.0.1'),
    /** Its own port (9464 by default; 0 picks a free one). */
    port: z.number().int().min(0).max(65535).default(9464),
    /** Bearer token scrapers must send: secret://env/NAME or secret://file/PATH (at least 32 characters). */
    token: SecretRef.optional(),
  })
  .superRefine((m, ctx) => {
    if (m.enabled && !isLoopbackHost(m.host) && m.token === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['token'],
        message: `metrics.host ${m.host} is not loopback: set metrics.token to a secret:// reference, or keep metrics.host 127.0.0.1`,
      });
    }
  });

/**
 * HTTP listener limits (S8: slow bodies, idle sockets, connection floods). Every knob has a safe
 * default; raise them only with a reason.
 */
const HttpSection = z
  .strictObject({
    /** Seconds to receive a whole request, headers and body; a slower client gets 408 and is closed. */
    requestTimeoutSeconds: z.number().min(1).max(300).default(30),
    /** Seconds to finish the TLS handshake, and then to receive the request headers (at most requestTimeoutSeconds). */
    headersTimeoutSeconds: z.number().min(1).max(300).default(10),
    /** Seconds a socket may stay silent (no byte either way) before it is closed. */
    idleTimeoutSeconds: z.number().min(1).max(3600).default(60),
    /** Seconds an idle keep-alive connection is kept between requests. */
    keepAliveTimeoutSeconds: z.number().min(1).max(600).default(5),
    /** Open connections in all, WebSockets included; new ones past this are dropped. Keep below the fd limit. */
    maxConnections: z.number().int().min(1).max(1_000_000).default(10_000),
    /** Concurrent connections from one address (HTTP, and WebSockets until they authenticate). */
    maxConnectionsPerAddress: z.number().int().min(1).max(100_000).default(256),
  })
  .refine((h) => h.headersTimeoutSeconds <= h.requestTimeoutSeconds, {
    message: 'headersTimeoutSeconds must not exceed requestTimeoutSeconds',
  });

/** TLS to PostgreSQL (ignored for SQLite). See config/store-tls.ts for the policy. */
const StoreTlsSection = z.strictObject({
  /**
   * `verify-full` (the default, and required for a host that is not this machine): TLS, and the server
   * certificate must chain to `ca` and name the URL's host. `verify-ca`: chain only. `disable`: no TLS.
   * When absent: `sslmode` from the URL, else verify-full (or no TLS for a loopback host with no files).
   */
  mode: z.enum(STORE_TLS_MODES).optional(),
  /** PEM file of the CA that signed the PostgreSQL server's certificate (the cluster's own CA). */
  ca: z.string().min(1).optional(),
  /** Client certificate (PEM file) when the server asks for one (mutual TLS). */
  cert: z.string().min(1).optional(),
  /** The client certificate's private key: secret://file/PATH (0600) or secret://env/NAME holding the PEM. */
  key: SecretRef.optional(),
  /** Explicit opt-out: allow `mode: disable` to a host that is not this machine (data and login cross the network in clear). */
  insecureAllowPlaintext: z.boolean().default(false),
});

const StoreSection = z
  .strictObject({
    /** `sqlite:PATH` (default: <dataDir>/palisade.db) or `postgres://user@host:port/db` without password. */
    url: z
      .string()
      .optional()
      .refine(
        (u) => u === undefined || /^(sqlite:|postgres(ql)?:\/\/)/.test(u),
        'must start with sqlite: or postgres://',
      )
      .refine((u) => u === undefined || !/^postgres(ql)?:\/\/[^/@]*:[^/@]*@/.test(u), {
        message: 'do not put a password in the URL; set store.password to a secret:// reference',
      }),
    password: SecretRef.optional(),
    /** PostgreSQL schema (one per test run, or per tenant). */
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/)
      .default('public'),
    poolSize: z.number().int().min(1).max(100).default(10),
    /**
     * PostgreSQL: longest a statement may run (statement_timeout); the client gives up a second later
     * on a stalled link, so requests fail with 503 unavailable instead of hanging. Migrations: no limit.
     */
    queryTimeoutSeconds: z.number().min(1).max(600).default(5),
    tls: StoreTlsSection.optional(),
  })
  .superRefine((s, ctx) => {
    // SECURITY: a PostgreSQL link that leaves the machine is TLS verify-full unless the operator opts out by name.
    if (s.url === undefined || !/^postgres(ql)?:\/\//.test(s.url)) {
      if (s.tls !== undefined)
        ctx.addIssue({ code: 'custom', path: ['tls'], message: 'store.tls applies to a postgres:// store only' });
      return;
    }
    for (const p of storeTlsDecision(s.url, s.tls).problems)
      ctx.addIssue({ code: 'custom', path: p.path.split('.'), message: p.message });
  });

const AuthSection = z.strictObject({
  /** Absolute session lifetime (AAL2: at most 24 h). */
  sessionTtlHours: z.number().min(1).max(24).default(24),
  /** Idle timeout (AAL2: at most 60 min). */
  idleTimeoutMinutes: z.number().min(1).max(60).default(60),
  enrolmentTokenTtlMinutes: z
    .number()
    .int()
    .min(5)
    .max(7 * 24 * 60)
    .default(24 * 60),
  /** Hours a new account may use a password alone to enrol a second factor (org policy). */
  mfaEnrolmentGraceHours: z
    .number()
    .min(0)
    .max(24 * 30)
    .default(72),
  /** Consecutive failures that disable a factor (800-63B-4: at most 100). */
  maxFactorFailures: z.number().int().min(3).max(100).default(100),
  /**
   * Require holders of org_admin and security_admin to step up with a device-bound passkey (AAL3).
   * Off by default until a WebAuthn-capable client ships (the web console); turn it on once admins
   * have registered passkeys in a browser.
   */
  adminsRequirePhishingResistant: z.boolean().default(false),
  /** Minutes a strong factor counts as recent for sensitive actions. */
  stepUpMinutes: z.number().min(1).max(60).default(10),
  /** WebAuthn relying party: the domain users reach, and the exact origins of the web clients. */
  webauthn: z
    .strictObject({
      rpId: z.string().min(1).default('localhost'),
      rpName: z.string().min(1).default('Palisade'),
      origins: z.array(z.string().url()).min(1).default(['https://localhost:8443']),
      /**
       * Authenticator models trusted for AAL3 (device-bound): each AAGUID with the PEM files of its
       * vendor's attestation root certificates (e.g. from the FIDO Metadata Service). A passkey is
       * AAL3 only when it is not synced and its attestation chains to one of these roots; any other
       * passkey gives AAL2. Empty (the default): no passkey is AAL3, and no attestation is asked for.
       */
      attestationAllowlist: z
        .array(
          z.strictObject({
            aaguid: z
              .string()
              .regex(
                /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
                'an AAGUID such as cb69481e-8ff7-4039-93ec-0a2729a154a8',
              ),
            name: z.string().min(1).max(200),
            rootCertificateFiles: z.array(z.string().min(1)).min(1),
          }),
        )
        .default([]),
    })
    .default({ rpId: 'localhost', rpName: 'Palisade', origins: ['https://localhost:8443'], attestationAllowlist: [] }),
  /** Single sign-on with one OpenID Connect provider (optional). */
  oidc: z
    .strictObject({
      issuer: z.string().url(),
      clientId: z.string().min(1),
      clientSecret: SecretRef,
      /** Palisade's callback, e.g. https://chat.example.org:8443/v1/sso/callback (registered at the IdP). */
      redirectUri: z.string().url(),
      scopes: z.array(z.string()).default(['openid', 'email', 'profile']),
      /** Claim holding the user's groups, and which groups map to which Palisade roles. */
      roleClaim: z.string().default('groups'),
      roleMapping: z.record(z.string(), z.enum(GRANTABLE_ROLES)).default({}),
      /** Require the IdP to assert multi-factor authentication (amr or acr). */
      requireMfa: z.boolean().default(true),
      /** acr values that count as multi-factor, besides amr containing mfa, otp, hwk, swk or fpt. */
      mfaAcrValues: z.array(z.string()).default([]),
      /**
       * The device's one-time browser link must be opened from the device's network (/24, /48). Turn off
       * only when users run the client on one network and their browser on another (SSH, split proxies).
       */
      requireSameNetwork: z.boolean().default(true),
      /**
       * Refuse a sign-on without RFC 8252 loopback completion (`sso_loopback_required`). Off by default while
       * clients that cannot listen on the loopback interface (a CLI over SSH) still use the link-only mode.
       */
      loopbackRequired: z.boolean().default(false),
    })
    .optional(),
  argon2: z
    .strictObject({
      /** KiB; SECURITY-BASELINE: at least 47104 (46 MiB). */
      memoryKiB: z.number().int().min(47104).default(47104),
      iterations: z.number().int().min(1).max(10).default(1),
      /** argon2 operations at once (default max(2, CPU cores)); more wait in a bounded queue (S9). */
      concurrency: z.number().int().min(1).max(256).optional(),
      /** Longest wait for an argon2 slot before the answer is `unavailable` (default 5000 ms). */
      queueDeadlineMs: z.number().int().min(100).max(60_000).optional(),
    })
    .default({ memoryKiB: 47104, iterations: 1 }),
});

const LimitRuleSchema = z.strictObject({ burst: z.number().positive(), perSecond: z.number().positive() });

const LimitsSection = z.strictObject({
  /** Per-limit overrides of the built-in catalogue (core/rate-limits.ts), e.g. for load tests. */
  overrides: z.partialRecord(z.enum(LIMIT_NAMES), LimitRuleSchema).default({}),
  /**
   * Free disk (MiB) kept in reserve on the SQLite data directory: below it, new messages are refused
   * with `storage_full` (nothing stored is touched). 0 turns the check off. PostgreSQL: not checked here
   * (the database's disk is on its own server; watch it there).
   */
  storageReserveMiB: z.number().int().min(0).default(1024),
});

const Pkcs11Section = z.strictObject({
  /** Path of the HSM vendor's PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  library: z.string().min(1),
  /** Label of the token holding Palisade's KEKs. */
  tokenLabel: z.string().min(1),
  /** The token's user PIN, as secret://env/NAME or secret://file/PATH. */
  pin: SecretRef,
  /** Label prefix of Palisade's KEK objects in the token (version N is `<prefix>-v<N>`). */
  labelPrefix: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,48}$/)
    .default('palisade-kek'),
});

const KeysSection = z
  .strictObject({
    /** Where the key-encryption keys live: `local` (keyring file + master secret) or `pkcs11` (an HSM). */
    provider: z.enum(['local', 'pkcs11']).default('local'),
    /**
     * Master secret of the local KMS (at least 32 bytes, base64url), e.g. secret://file/etc/palisade/master
     * (the file /etc/palisade/master, mode 0600).
     * When absent, one is generated beside the data directory (<dataDir>.master-key); move it off the machine.
     */
    masterSecret: SecretRef.optional(),
    /** The HSM, when `provider: pkcs11`. */
    pkcs11: Pkcs11Section.optional(),
    /** Seal message payloads at rest (defence in depth over end-to-end encryption). */
    sealMessages: z.boolean().default(true),
    /** Rotation policy: a KEK older than this many days is overdue. */
    rotateEveryDays: z.number().int().min(1).max(3650).default(90),
    /** Rotate (and rewrap every data key) automatically when the KEK is overdue; when false, only warn. */
    autoRotate: z.boolean().default(true),
  })
  .superRefine((k, ctx) => {
    if (k.provider === 'pkcs11' && !k.pkcs11)
      ctx.addIssue({
        code: 'custom',
        path: ['pkcs11'],
        message: 'provider pkcs11 needs keys.pkcs11 (library, tokenLabel, pin)',
      });
  });

const OrgSection = z.strictObject({
  /** The organisation's name, e.g. "Acme Corp": passwords built around it are refused (S17). */
  name: z.string().min(1).max(128).optional(),
});

const E2eeSection = z.strictObject({
  /**
   * SECURITY: accept only MLS application messages of each conversation's group on the send path
   * (default true). False stores non-MLS payloads as 'legacy' messages: for legacy test harnesses only.
   */
  required: z.boolean().default(true),
});

const LogSection = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

const AuditSection = z.strictObject({
  /** A signed checkpoint every this many records (at the latest; see checkpointEverySeconds). */
  checkpointEveryRecords: z.number().int().min(1).default(1000),
  /** A signed checkpoint at least this often when records were added since the last one. */
  checkpointEverySeconds: z.number().int().min(1).default(300),
  /**
   * Optional: each checkpoint appended as a JSON line to this file, which must lie outside the data
   * directory (so whoever can rewrite the database cannot silently rewrite it too).
   */
  checkpointFile: z.string().min(1).optional(),
  /** Optional: the name of a syslog channel in `alerts.channels` that also receives each checkpoint. */
  checkpointSyslogChannel: z.string().min(1).optional(),
});

/** The whole configuration file. Every section has defaults, so an empty file is valid. */
export const ConfigSchema = z.strictObject({
  dataDir: z.string().default('./data'),
  server: ServerSection.default(ServerSection.parse({})),
  http: HttpSection.default(HttpSection.parse({})),
  store: StoreSection.default(StoreSection.parse({})),
  auth: AuthSection.default(AuthSection.parse({})),
  limits: LimitsSection.default(LimitsSection.parse({})),
  keys: KeysSection.default(KeysSection.parse({})),
  log: LogSection.default(LogSection.parse({})),
  metrics: MetricsSection.default(MetricsSection.parse({})),
  org: OrgSection.default(OrgSection.parse({})),
  e2ee: E2eeSection.default(E2eeSection.parse({})),
  audit: AuditSection.default(AuditSection.parse({})),
  alerts: AlertsSection.default(AlertsSection.parse({})),
  response: ResponseSection.default(ResponseSection.parse({})),
  detect: DetectSection.default(DetectSection.parse({})),
});

/** Validated configuration. */
export type Config = z.infer<typeof ConfigSchema>;
