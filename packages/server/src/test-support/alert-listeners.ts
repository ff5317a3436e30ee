import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { SMTPServer } from 'smtp-server';
import { InProcessBus } from '../cluster/index.js';
import type { AlertsConfig } from '../config/index.js';
import { FakeClock, type Logger } from '../core/index.js';
import { generateSelfSignedCertificate, hmacSha256Verify, LocalKms, randomKey } from '../crypto/index.js';
import { Alerter } from '../detect/alerts/alerter.js';
import { createAlertChannels } from '../detect/alerts/channels/index.js';
import { parseOctetFrames } from '../detect/alerts/channels/rfc5424.js';
import { DeliveryWorker } from '../detect/alerts/delivery-worker.js';
import type { Finding } from '../detect/types.js';
import { EnvelopeSealer } from '../keys/index.js';
import { openStore, type Store } from '../store/index.js';

/**
 * Fixtures of the alert delivery tests: real receivers (webhook over HTTP or HTTPS checking the
 * signature, syslog over TCP or TLS parsing octet-counted frames, an SMTP relay with STARTTLS and
 * authentication), and an Alerter plus DeliveryWorker over a store folder (a second one over the same
 * folder is a restart).
 */

/** The webhook secret the fixtures use (resolved from env ALERT_SECRET). */
export const SECRET = 'whsec-test-0123456789';
/** A temporary folder for the stores of alert tests. */
export const dir = mkdtempSync(join(tmpdir(), 'palisade-alerts-'));
const kms = new LocalKms(join(dir, 'keyring.json'), randomKey(32));
/** A self-signed certificate for localhost and 127.0.0.1, and the CA file trusting it. */
export const cert = await generateSelfSignedCertificate(2);
export const caFile = join(dir, 'ca.pem');
writeFileSync(caFile, cert.certPem);

/** A log that keeps its lines. */
export function recordingLog(): Logger & { lines: { level: string; obj: object; msg?: string }[] } {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, ...(msg ? { msg } : {}) });
  const log = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug'), child: () => log, lines };
  return log;
}

const port = (s: { address(): AddressInfo | string | null }) => (s.address() as AddressInfo).port;
const listen = <S extends NetServer | HttpServer>(s: S, p = 0) =>
  new Promise<S>((res, rej) => {
    s.once('error', rej);
    s.listen(p, '127.0.0.1', () => res(s));
  });
const close = (s: NetServer | HttpServer) => new Promise<void>((res) => s.close(() => res()));

/** A webhook receiver that checks the signature of every POST and keeps the bodies. */
export async function webhookReceiver(p = 0, https = false) {
  const got: { body: string; t: number; valid: boolean }[] = [];
  const sockets = new Set<Socket>();
  const handler: RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req.headers['x-palisade-signature']));
      const valid =
        m !== null && hmacSha256Verify(Buffer.from(SECRET), Buffer.from(`${m[1]}.${body}`), Buffer.from(m[2]!, 'hex'));
      got.push({ body, t: Number(m?.[1]), valid });
      res.writeHead(valid ? 204 : 401).end();
    });
  };
  const server = https
    ? createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, handler)
    : createHttpServer(handler);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await listen(server, p);
  return {
    got,
    port: port(server),
    stop: () => {
      for (const s of sockets) s.destroy();
      return close(server);
    },
  };
}

/** A syslog receiver (TCP, or TLS with the test certificate) that parses octet-counted frames. */
export async function syslogReceiver(tls: boolean) {
  const frames: string[] = [];
  const onSocket = (s: Socket) => {
    let buf: Buffer = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      const r = parseOctetFrames(Buffer.concat([buf, c]));
      frames.push(...r.frames);
      buf = r.rest;
    });
  };
  const server = tls ? createTlsServer({ cert: cert.certPem, key: cert.keyPem }, onSocket) : createNetServer(onSocket);
  await listen(server);
  return { frames, port: port(server), stop: () => close(server) };
}

/** An SMTP relay offering STARTTLS with the test certificate and requiring authentication. */
export async function smtpReceiver() {
  const mails: { from: string; to: string[]; raw: string; user: string | undefined; tls: boolean }[] = [];
  const server = new SMTPServer({
    key: cert.keyPem,
    cert: cert.certPem,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'alerts' && auth.password === 'smtp-pass') cb(null, { user: 'alerts' });
      else cb(new Error('bad credentials'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          user: session.user as string | undefined,
          tls: session.secure,
        });
        cb();
      });
    },
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  const p = port(server.server);
  return { mails, port: p, stop: () => new Promise<void>((res) => server.close(() => res())) };
}

let seq = 0;
/** A finding at the clock's now (critical unless overridden), each on its own account. */
export function finding(clock: FakeClock, over: Partial<Finding> = {}): Finding {
  seq += 1;
  return {
    id: `f${seq}`,
    ruleId: 'bulk_read',
    severity: 'critical',
    at: clock.now(),
    firstSeenAt: clock.now() - 120_000,
    subject: { kind: 'account', id: `u-${seq}` },
    explanation: 'read 4,812 messages at 03:10 | usual = under 40',
    evidence: { reads: 4812 },
    ...over,
  };
}

/** An Alerter and a DeliveryWorker over a store file; a second call over the same file is a restart. */
export async function node(dataDir: string, clock: FakeClock, config: AlertsConfig, log: Logger = recordingLog()) {
  const store: Store = await openStore({ dataDir });
  await store.migrate();
  const sealer = new EnvelopeSealer(store.db, kms, clock);
  await sealer.prepareServerScopes();
  const bus = new InProcessBus();
  const alerter = new Alerter({
    db: store.db,
    sealer,
    bus,
    clock,
    log,
    channels: config.channels,
    groupWindowMinutes: config.groupWindowMinutes,
  });
  const channels = createAlertChannels(config, { clock, env: { ALERT_SECRET: SECRET, SMTP_PASS: 'smtp-pass' } });
  const worker = new DeliveryWorker({
    db: store.db,
    sealer,
    clock,
    timers: clock,
    log,
    channels,
    bus,
    maxAgeHours: config.maxAgeHours,
    maxBackoffMinutes: config.maxBackoffMinutes,
    random: () => 0.5,
  });
  const deliveries = () => store.db.selectFrom('alert_deliveries').selectAll().orderBy('channel').execute();
  return {
    store,
    alerter,
    worker,
    deliveries,
    async shutdown() {
      await worker.close();
      await store.close();
    },
  };
}

/** A plain-HTTP webhook channel to 127.0.0.1:p (config input). */
export const webhookConf = (p: number, over: object = {}) => ({
  type: 'webhook',
  name: 'soc',
  minSeverity: 'high',
  url: `http://127.0.0.1:${p}/hook`,
  secret: 'secret://env/ALERT_SECRET',
  insecureAllowPlaintext: true,
  ...over,
});
