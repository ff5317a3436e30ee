import { mkdtempSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { AlertsSection } from '../../config/index.js';
import { FakeClock } from '../../core/index.js';
import {
  caFile,
  dir,
  finding,
  node,
  smtpReceiver,
  syslogReceiver,
  webhookConf,
  webhookReceiver,
} from '../../test-support/alert-listeners.js';
import { syslogCheckpointSink, type SyslogChannelConfig } from './channels/index.js';

describe('alert channels against real listeners', () => {
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
          insecureAllowPlaintext: true,
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
        { type: 'syslog', name: 's', host: 'siem.example', transport: 'tcp' },
      ],
    });
    const msgs = http.error?.issues.map((i) => i.message) ?? [];
    expect(msgs).toContain('syslog over plain tcp needs insecureAllowPlaintext: true (use transport: tls)');
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

  it('the example of docs/operations.md ("Alerts") is valid', () => {
    const doc = readFileSync(resolve(import.meta.dirname, '../../../../../docs/operations.md'), 'utf8');
    const block = /## Alerts\n[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(block).toBeDefined();
    const parsed = AlertsSection.parse((parseYaml(block!) as { alerts: unknown }).alerts);
    expect(parsed.channels.map((c) => c.type)).toEqual(['webhook', 'syslog', 'email']);
  });
});
