import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessBus } from '../../cluster/index.js';
import { AlertsSection, type AlertsConfig } from '../../config/index.js';
import { FakeClock, type Logger } from '../../core/index.js';
import { generateSelfSignedCertificate, hmacSha256Verify, LocalKms, randomKey } from '../../crypto/index.js';
import { EnvelopeSealer } from '../../keys/index.js';
import { openStore, type Store } from '../../store/index.js';
import type { Finding } from '../types.js';
import { Alerter } from './alerter.js';
import { createAlertChannels, syslogCheckpointSink, type SyslogChannelConfig } from './channels/index.js';
import { parseOctetFrames } from './channels/rfc5424.js';
import { backoffMs, DeliveryWorker } from './delivery-worker.js';

const SECRET = 'whsec-test-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'palisade-alerts-'));
const kms = new LocalKms(join(dir, 'keyring.json'), randomKey(32));
let cert: { certPem: string; keyPem: string };
const caFile = join(dir, 'ca.pem');

/** A log that keeps its lines. */
function recordingLog(): Logger & { lines: { level: string; obj: object; msg?: string }[] } {
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
async function webhookReceiver(p = 0, https = false) {
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
async function syslogReceiver(tls: boolean) {
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
async function smtpReceiver() {
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
function finding(clock: FakeClock, over: Partial<Finding> = {}): Finding {
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
async function node(dataDir: string, clock: FakeClock, config: AlertsConfig, log: Logger = recordingLog()) {
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

const webhookConf = (p: number, over: object = {}) => ({
  type: 'webhook',
  name: 'soc',
  minSeverity: 'high',
  url: `http://127.0.0.1:${p}/hook`,
  secret: 'secret://env/ALERT_SECRET',
  insecureAllowPlaintext: true,
  ...over,
});

beforeAll(async () => {
  cert = await generateSelfSignedCertificate(2);
  writeFileSync(caFile, cert.certPem);
});

describe('alert delivery to real listeners', () => {
  const stops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const s of stops.reverse()) await s();
  });

  it('webhook (signed), syslog over TCP (JSON) and TLS (CEF), and e-mail over STARTTLS each get the alert', async () => {
    const [hook, tcp, tls, smtp] = await Promise.all([
      webhookReceiver(),
      syslogReceiver(false),
      syslogReceiver(true),
      smtpReceiver(),
    ]);
    stops.push(hook.stop, tcp.stop, tls.stop, smtp.stop);
    const config = AlertsSection.parse({
      channels: [
        webhookConf(hook.port),
        {
          type: 'syslog',
          name: 'siem-tcp',
          host: '127.0.0.1',
          port: tcp.port,
          transport: 'tcp',
          format: 'json',
          hostname: 'pal1',
        },
        {
          type: 'syslog',
          name: 'siem-tls',
          host: '127.0.0.1',
          port: tls.port,
          transport: 'tls',
          caFile,
          facility: 'local4',
          appName: 'palisade-test',
          hostname: 'pal1',
        },
        {
          type: 'email',
          name: 'mail',
          host: '127.0.0.1',
          port: smtp.port,
          caFile,
          user: 'alerts',
          password: 'secret://env/SMTP_PASS',
          from: 'palisade@example.com',
          to: ['soc@example.com'],
        },
        {
          type: 'webhook',
          name: 'quiet',
          minSeverity: 'critical',
          url: `http://127.0.0.1:${hook.port}/q`,
          secret: 'secret://env/ALERT_SECRET',
          insecureAllowPlaintext: true,
        },
      ],
    });
    const clock = new FakeClock(Date.UTC(2026, 4, 1, 3, 10));
    const n = await node(mkdtempSync(join(dir, 'all-')), clock, config);
    stops.push(() => n.shutdown());
    n.worker.start();
    const a = await n.alerter.raise(finding(clock, { severity: 'high' }));
    await n.worker.idle();
    const rows = await n.deliveries();
    expect(rows.map((r) => [r.channel, r.state, Number(r.attempts)])).toEqual([
      ['mail', 'delivered', 1],
      ['siem-tcp', 'delivered', 1],
      ['siem-tls', 'delivered', 1],
      ['soc', 'delivered', 1],
    ]);
    // webhook: valid signature over the exact body, timestamp from the clock, no evidence in the payload
    expect(hook.got).toHaveLength(1);
    expect(hook.got[0]).toMatchObject({ valid: true, t: Math.floor(clock.now() / 1000) });
    const body = JSON.parse(hook.got[0]!.body) as { type: string; alert: Record<string, unknown> };
    expect(body).toMatchObject({ type: 'alert', alert: { id: a.id, ruleId: 'bulk_read', severity: 'high', count: 1 } });
    expect(body.alert).not.toHaveProperty('evidence');
    // syslog TCP, JSON: <authpriv(10)*8 + err(3)>1
    expect(tcp.frames).toHaveLength(1);
    const [pri, ts, host, app, procId, msgId] = tcp.frames[0]!.split(' ');
    expect([pri, ts, host, app, procId, msgId]).toEqual([
      '<83>1',
      new Date(a.lastAt).toISOString(),
      'pal1',
      'palisade',
      String(process.pid),
      'alert',
    ]);
    expect(tcp.frames[0]).toContain(`[palisade@32473 alertId="${a.id}" ruleId="bulk_read" severity="high" count="1"]`);
    expect(JSON.parse(tcp.frames[0]!.slice(tcp.frames[0]!.indexOf('] ') + 2))).toMatchObject({ id: a.id, count: 1 });
    // syslog TLS, CEF: <local4(20)*8 + err(3)>1 and CEF escaping of | and =
    expect(tls.frames).toHaveLength(1);
    const f = tls.frames[0]!;
    expect(f.startsWith('<163>1 ')).toBe(true);
    expect(f).toContain(' pal1 palisade-test ');
    const cef = f.slice(f.indexOf('CEF:0|'));
    expect(cef).toContain('CEF:0|Palisade|Palisade|0.1.0|bulk_read|bulk_read (high) on account u-');
    expect(cef).toContain('|8|externalId=');
    expect(cef).toContain('msg=read 4,812 messages at 03:10 | usual \\= under 40');
    expect(cef).toContain(`cnt=1 `);
    // e-mail: authenticated over STARTTLS
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]).toMatchObject({
      from: 'palisade@example.com',
      to: ['soc@example.com'],
      user: 'alerts',
      tls: true,
    });
    expect(smtp.mails[0]!.raw).toContain('Rule: bulk_read');
    expect(smtp.mails[0]!.raw).toContain(`Alert: ${a.id}`);
    // a critical one also reaches the critical-only channel; repeats within the window send nothing
    await n.alerter.raise(finding(clock, { severity: 'critical', subject: { kind: 'account', id: 'dup' } }));
    clock.advance(60_000);
    await n.alerter.raise(finding(clock, { severity: 'critical', subject: { kind: 'account', id: 'dup' } }));
    await n.worker.idle();
    // two more posts (soc and quiet), none for the repeat; each carries the alert as it is when sent
    expect(hook.got).toHaveLength(3);
    expect(hook.got.every((g) => g.valid)).toBe(true);
    expect(tls.frames).toHaveLength(2);
    expect(smtp.mails).toHaveLength(2);
  });

  it('a listener that is down gets the alert after it comes back, across a restart of the worker, exactly once', async () => {
    const probe = await webhookReceiver();
    const p = probe.port;
    await probe.stop(); // the port is known and nobody listens
    const config = AlertsSection.parse({ channels: [webhookConf(p)], maxBackoffMinutes: 10 });
    const clock = new FakeClock(Date.UTC(2026, 4, 1));
    const dataDir = mkdtempSync(join(dir, 'restart-'));
    const log1 = recordingLog();
    const first = await node(dataDir, clock, config, log1);
    first.worker.start();
    const a = await first.alerter.raise(finding(clock));
    await first.worker.idle();
    let [row] = await first.deliveries();
    expect(row).toMatchObject({ state: 'pending', attempts: 1 });
    expect(row!.last_error).toMatch(/ECONNREFUSED/);
    expect(Number(row!.next_at) - clock.now()).toBe(backoffMs(1, 600_000, () => 0.5));
    expect(log1.lines.some((l) => l.level === 'warn' && JSON.stringify(l).includes(a.id))).toBe(true);
    expect(JSON.stringify(log1.lines)).not.toContain(SECRET);
    // the second try fails too (backoff doubles), then the process stops
    clock.advance(Number(row!.next_at) - clock.now());
    await first.worker.idle();
    [row] = await first.deliveries();
    expect(row).toMatchObject({ state: 'pending', attempts: 2 });
    await first.shutdown();

    const hook = await webhookReceiver(p);
    stops.push(hook.stop);
    const second = await node(dataDir, clock, config);
    stops.push(() => second.shutdown());
    second.worker.start();
    await second.worker.idle();
    expect(hook.got).toHaveLength(0); // not due yet: the backoff survives the restart
    clock.advance(backoffMs(2, 600_000, () => 0.5));
    await second.worker.idle();
    [row] = await second.deliveries();
    expect(row).toMatchObject({ state: 'delivered', attempts: 3, last_error: null });
    expect(hook.got).toHaveLength(1);
    expect(hook.got[0]!.valid).toBe(true);
    expect((JSON.parse(hook.got[0]!.body) as { alert: { id: string } }).alert.id).toBe(a.id);
    clock.advance(3_600_000);
    await second.worker.idle();
    expect(hook.got).toHaveLength(1);
  });

  it('rows pending at stop are sent after the next start', async () => {
    const hook = await webhookReceiver();
    stops.push(hook.stop);
    const config = AlertsSection.parse({ channels: [webhookConf(hook.port)] });
    const clock = new FakeClock(Date.UTC(2026, 4, 2));
    const dataDir = mkdtempSync(join(dir, 'stopped-'));
    const first = await node(dataDir, clock, config);
    // never started: the alert and its delivery are committed, nothing is sent
    const a = await first.alerter.raise(finding(clock));
    await first.shutdown();
    expect(hook.got).toHaveLength(0);
    const second = await node(dataDir, clock, config);
    stops.push(() => second.shutdown());
    second.worker.start();
    await second.worker.idle();
    expect(hook.got.map((g) => (JSON.parse(g.body) as { alert: { id: string } }).alert.id)).toEqual([a.id]);
  });

  it('gives up after maxAgeHours: state dead and an error log line', async () => {
    const probe = await webhookReceiver();
    await probe.stop();
    const config = AlertsSection.parse({ channels: [webhookConf(probe.port)], maxAgeHours: 1, maxBackoffMinutes: 20 });
    const clock = new FakeClock(Date.UTC(2026, 4, 3));
    const log = recordingLog();
    const n = await node(mkdtempSync(join(dir, 'dead-')), clock, config, log);
    stops.push(() => n.shutdown());
    n.worker.start();
    await n.alerter.raise(finding(clock));
    await n.worker.idle();
    for (let i = 0; i < 12; i++) {
      clock.advance(10 * 60_000);
      await n.worker.idle();
    }
    const [row] = await n.deliveries();
    expect(row!.state).toBe('dead');
    expect(Number(row!.attempts)).toBeGreaterThan(2);
    const dead = log.lines.filter((l) => l.level === 'error');
    expect(dead).toHaveLength(1);
    expect(dead[0]!.msg).toMatch(/given up/);
    const attempts = Number(row!.attempts);
    clock.advance(3_600_000);
    await n.worker.idle();
    expect(Number((await n.deliveries())[0]!.attempts)).toBe(attempts);
  });

  it('an HTTPS webhook verifies the receiver against caFile, and refuses it without', async () => {
    const hook = await webhookReceiver(0, true);
    stops.push(hook.stop);
    const url = `https://localhost:${hook.port}/hook`;
    const config = AlertsSection.parse({
      channels: [
        { type: 'webhook', name: 'trusted', url, caFile, secret: 'secret://env/ALERT_SECRET' },
        { type: 'webhook', name: 'untrusted', url, secret: 'secret://env/ALERT_SECRET', timeoutSeconds: 2 },
      ],
    });
    const clock = new FakeClock(Date.UTC(2026, 4, 5));
    const n = await node(mkdtempSync(join(dir, 'https-')), clock, config);
    stops.push(() => n.shutdown());
    n.worker.start();
    await n.alerter.raise(finding(clock));
    await n.worker.idle();
    const rows = await n.deliveries();
    expect(rows.map((r) => [r.channel, r.state])).toEqual([
      ['trusted', 'delivered'],
      ['untrusted', 'pending'],
    ]);
    expect(rows[1]!.last_error).toMatch(/self-signed|certificate/i);
    expect(hook.got).toHaveLength(1);
    expect(hook.got[0]!.valid).toBe(true);
  });

  it('two workers over one database send a delivery once', async () => {
    const hook = await webhookReceiver();
    stops.push(hook.stop);
    const config = AlertsSection.parse({ channels: [webhookConf(hook.port)] });
    const clock = new FakeClock(Date.UTC(2026, 4, 6));
    const dataDir = mkdtempSync(join(dir, 'two-'));
    const a = await node(dataDir, clock, config);
    const b = await node(dataDir, clock, config);
    stops.push(
      () => a.shutdown(),
      () => b.shutdown(),
    );
    for (let i = 0; i < 5; i++) await a.alerter.raise(finding(clock));
    const [x, y] = await Promise.all([a.worker.runOnce(), b.worker.runOnce()]);
    expect(x + y).toBeGreaterThanOrEqual(5);
    expect(hook.got).toHaveLength(5);
    expect(new Set(hook.got.map((g) => (JSON.parse(g.body) as { alert: { id: string } }).alert.id)).size).toBe(5);
    expect((await a.deliveries()).every((r) => r.state === 'delivered' && Number(r.attempts) === 1)).toBe(true);
  });

  it('syslogCheckpointSink sends audit checkpoints as RFC 5424 messages (CEF) over TLS', async () => {
    const tls = await syslogReceiver(true);
    stops.push(tls.stop);
    const conf = AlertsSection.parse({
      channels: [{ type: 'syslog', name: 'cp', host: '127.0.0.1', port: tls.port, caFile, hostname: 'pal1' }],
    }).channels[0] as SyslogChannelConfig;
    const sink = syslogCheckpointSink(conf);
    const at = Date.UTC(2026, 4, 4, 12);
    await sink({ seq: 1042, hash: 'ab'.repeat(32), at, signature: 'c2ln=' });
    await expect.poll(() => tls.frames.length).toBe(1);
    const f = tls.frames[0]!;
    expect(f.startsWith(`<86>1 ${new Date(at).toISOString()} pal1 palisade `)).toBe(true);
    expect(f).toContain(`[palisade@32473 seq="1042" hash="${'ab'.repeat(32)}"]`);
    expect(f).toContain('|audit.checkpoint|Audit log checkpoint|1|rt=');
    expect(f).toContain('cn1=1042');
    expect(f).toContain('cs2=c2ln\\=');
  });

  it('TLS syslog refuses a receiver whose certificate is not trusted', async () => {
    const tls = await syslogReceiver(true);
    stops.push(tls.stop);
    const conf = AlertsSection.parse({
      channels: [{ type: 'syslog', name: 'cp', host: '127.0.0.1', port: tls.port, hostname: 'pal1' }],
    }).channels[0] as SyslogChannelConfig;
    await expect(syslogCheckpointSink(conf)({ seq: 1, hash: 'h', at: 0, signature: 's' })).rejects.toThrow(
      /self-signed|certificate/i,
    );
    expect(tls.frames).toHaveLength(0);
  });
});

describe('backoffMs', () => {
  it('doubles from 5 s, stays within [half, all] of it, and is capped', () => {
    expect([1, 2, 3, 4].map((a) => backoffMs(a, 600_000, () => 0))).toEqual([2500, 5000, 10_000, 20_000]);
    expect([1, 2, 3].map((a) => backoffMs(a, 600_000, () => 0.999999))).toEqual([5000, 10_000, 20_000]);
    expect(backoffMs(40, 600_000, () => 1)).toBe(600_000);
    expect(backoffMs(40, 600_000, () => 0)).toBe(300_000);
  });
});

describe('alerts config', () => {
  it('validates channels with clear messages', () => {
    const bad = AlertsSection.safeParse({
      channels: [
        { type: 'webhook', name: 'a', url: 'http://x.example/h', secret: 'secret://env/S' },
        { type: 'webhook', name: 'a', url: 'https://x.example/h', secret: 'plain-secret' },
        {
          type: 'email',
          name: 'm',
          host: 'smtp',
          from: 'a@example.com',
          to: ['b@example.com'],
          starttls: 'off',
          user: 'u',
        },
        { type: 'pager', name: 'p' },
      ],
    });
    expect(bad.success).toBe(false);
    const text = JSON.stringify(bad.error?.issues);
    expect(text).toContain('must be secret://env/NAME or secret://file/PATH');
    expect(text).toContain('"type"');
    const ok = AlertsSection.parse({});
    expect(ok).toEqual({ channels: [], groupWindowMinutes: 15, maxAgeHours: 24, maxBackoffMinutes: 10 });
    const http = AlertsSection.safeParse({
      channels: [
        { type: 'webhook', name: 'a', url: 'http://x.example/h', secret: 'secret://env/S' },
        { type: 'webhook', name: 'a', url: 'https://x.example/h', secret: 'secret://env/S' },
      ],
    });
    const msgs = http.error?.issues.map((i) => i.message) ?? [];
    expect(msgs).toContain('a webhook over plain http:// needs insecureAllowPlaintext: true (use https://)');
    expect(msgs).toContain('channel name a is used twice');
    const mail = AlertsSection.safeParse({
      channels: [
        {
          type: 'email',
          name: 'm',
          host: 'smtp',
          from: 'a@example.com',
          to: ['b@example.com'],
          starttls: 'off',
          user: 'u',
        },
      ],
    });
    expect(mail.error?.issues.map((i) => i.message)).toEqual([
      'e-mail without TLS (secure false, starttls not required) needs insecureAllowPlaintext: true',
      'SMTP authentication needs both user and password',
    ]);
  });
});
