import { z } from 'zod';

/**
 * The `alerts` section: where alerts go (channels), how findings group, and how long delivery retries.
 * Every channel has a unique `name` (the delivery queue stores it) and a `minSeverity`.
 * SECURITY: passwords and webhook secrets are `secret://` references, never values; plain HTTP
 * webhooks and plain SMTP are refused unless `insecureAllowPlaintext` says so.
 */

// Not the shared SecretRef of schema.ts: schema.ts imports this file, and a cycle would break at load.
const SecretRef = z
  .string()
  .regex(/^secret:\/\/(env\/[A-Za-z_][A-Za-z0-9_]*|file\/.+)$/, 'must be secret://env/NAME or secret://file/PATH');

const Severity = z.enum(['low', 'medium', 'high', 'critical']);
const Port = z.number().int().min(1).max(65535);
const Name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1-64 characters of a-z, 0-9, _ and -, starting with a letter or digit');

/** Syslog facilities by name (RFC 5424 section 6.2.1, numbers 0-23). */
export const SYSLOG_FACILITIES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'audit',
  'alert',
  'clock',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
] as const;

const common = {
  name: Name,
  /** Alerts below this severity are not sent on this channel. */
  minSeverity: Severity.default('high'),
  /** Give up one attempt after this long. */
  timeoutSeconds: z.number().min(1).max(120).default(10),
  /** PEM file of the CA(s) to trust instead of the system store (a private PKI, tests). */
  caFile: z.string().min(1).optional(),
};

const WebhookChannel = z.strictObject({
  type: z.literal('webhook'),
  ...common,
  url: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//i.test(u), 'must be an http:// or https:// URL'),
  /** HMAC-SHA256 key of the `x-palisade-signature` header. */
  secret: SecretRef,
  insecureAllowPlaintext: z.boolean().default(false),
});

const SyslogChannel = z.strictObject({
  type: z.literal('syslog'),
  ...common,
  host: z.string().min(1),
  port: Port.default(6514),
  /** `tls` is RFC 5425; `tcp` is RFC 6587 octet counting in the clear (a local relay only). */
  transport: z.enum(['tcp', 'tls']).default('tls'),
  format: z.enum(['cef', 'json']).default('cef'),
  facility: z.enum(SYSLOG_FACILITIES).default('authpriv'),
  appName: z
    .string()
    .regex(/^[!-~]{1,48}$/, 'must be 1-48 printable ASCII characters without spaces')
    .default('palisade'),
  /** HOSTNAME field; default: the machine's host name. */
  hostname: z
    .string()
    .regex(/^[!-~]{1,255}$/, 'must be 1-255 printable ASCII characters without spaces')
    .optional(),
  /** TLS server name to verify; default: `host`. */
  serverName: z.string().min(1).optional(),
  /** `transport: tcp` sends alerts in the clear: allowed only with this set (a relay on this machine). */
  insecureAllowPlaintext: z.boolean().default(false),
});

const EmailChannel = z.strictObject({
  type: z.literal('email'),
  ...common,
  host: z.string().min(1),
  port: Port.default(587),
  /** Implicit TLS (port 465). Otherwise STARTTLS per `starttls`. */
  secure: z.boolean().default(false),
  /** `required`: refuse to send without STARTTLS; `optional`: upgrade when offered; `off`: never. */
  starttls: z.enum(['required', 'optional', 'off']).default('required'),
  user: z.string().min(1).optional(),
  password: SecretRef.optional(),
  from: z.string().email(),
  to: z.array(z.string().email()).min(1),
  insecureAllowPlaintext: z.boolean().default(false),
});

/** One alert channel (`type` picks the shape). */
export const AlertChannelSchema = z.discriminatedUnion('type', [WebhookChannel, SyslogChannel, EmailChannel]);

/** The `alerts` section of the configuration. */
export const AlertsSection = z
  .strictObject({
    channels: z.array(AlertChannelSchema).default([]),
    /** A repeat finding joins its open alert; within this window it sends nothing unless severity rises. */
    groupWindowMinutes: z
      .number()
      .min(0)
      .max(24 * 60)
      .default(15),
    /** A delivery still failing this long after the alert is given up (state dead, error logged). */
    maxAgeHours: z
      .number()
      .min(0.01)
      .max(24 * 30)
      .default(24),
    /** The longest wait between two attempts (exponential backoff with jitter up to it). */
    maxBackoffMinutes: z
      .number()
      .min(0.01)
      .max(24 * 60)
      .default(10),
  })
  .superRefine((a, ctx) => {
    const seen = new Set<string>();
    a.channels.forEach((c, i) => {
      if (seen.has(c.name))
        ctx.addIssue({
          code: 'custom',
          path: ['channels', i, 'name'],
          message: `channel name ${c.name} is used twice`,
        });
      seen.add(c.name);
      if (c.type === 'webhook' && c.url.toLowerCase().startsWith('http://') && !c.insecureAllowPlaintext)
        ctx.addIssue({
          code: 'custom',
          path: ['channels', i, 'url'],
          message: 'a webhook over plain http:// needs insecureAllowPlaintext: true (use https://)',
        });
      if (c.type === 'syslog' && c.transport === 'tcp' && !c.insecureAllowPlaintext)
        ctx.addIssue({
          code: 'custom',
          path: ['channels', i, 'transport'],
          message: 'syslog over plain tcp needs insecureAllowPlaintext: true (use transport: tls)',
        });
      if (c.type === 'email' && !c.secure && c.starttls !== 'required' && !c.insecureAllowPlaintext)
        ctx.addIssue({
          code: 'custom',
          path: ['channels', i, 'starttls'],
          message: 'e-mail without TLS (secure false, starttls not required) needs insecureAllowPlaintext: true',
        });
      if (c.type === 'email' && (c.user === undefined) !== (c.password === undefined))
        ctx.addIssue({
          code: 'custom',
          path: ['channels', i, c.user === undefined ? 'user' : 'password'],
          message: 'SMTP authentication needs both user and password',
        });
    });
  });

/** Validated `alerts` configuration. */
export type AlertsConfig = z.infer<typeof AlertsSection>;
/** One validated channel. */
export type AlertChannelConfig = z.infer<typeof AlertChannelSchema>;
