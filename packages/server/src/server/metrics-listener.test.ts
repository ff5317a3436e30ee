import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/index.js';
import { generateSelfSignedCertificate } from '../crypto/index.js';
import { PrometheusMetrics } from '../metrics/index.js';
import {
  metricsAccess,
  startMetricsListener,
  type MetricsListener,
  type MetricsListenerOptions,
} from './metrics-listener.js';

const TOKEN = 'a-metrics-token-of-forty-characters-0123';
const nonLoopback = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

function get(
  url: string,
  opts: { localAddress?: string; authorization?: string; ca?: string; method?: string; host?: string } = {},
): Promise<{ status: number; body: string; type: string | undefined }> {
  const u = new URL(url);
  const req = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const r = req(
      u,
      {
        method: opts.method ?? 'GET',
        headers: {
          ...(opts.authorization ? { authorization: opts.authorization } : {}),
          ...(opts.host ? { host: opts.host } : {}),
        },
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
        ...(opts.ca ? { ca: opts.ca, servername: 'localhost' } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: res.headers['content-type'] }));
      },
    );
    r.on('error', reject);
    r.end();
  });
}

describe('the metrics listener (real sockets)', () => {
  const open: MetricsListener[] = [];
  const metrics = new PrometheusMetrics({ processMetrics: false });
  metrics.messageSent();
  const start = async (o: Partial<MetricsListenerOptions>) => {
    const l = await startMetricsListener({
      host: '127.0.0.1',
      port: 0,
      render: () => metrics.render(),
      log: silentLogger,
      ...o,
    });
    open.push(l);
    return l;
  };
  afterEach(async () => {
    for (const l of open.splice(0)) await l.close();
  });

  it('serves GET /metrics in Prometheus text to a loopback peer, and 404 for anything else', async () => {
    const l = await start({});
    const r = await get(l.url);
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.body).toContain('palisade_messages_sent_total 1');
    expect((await get(l.url.replace('/metrics', '/'))).status).toBe(404);
    expect((await get(l.url, { method: 'POST' })).status).toBe(404);
  });

  it.skipIf(nonLoopback === undefined)(
    'without a token, refuses a non-loopback peer with 403 even when listening on every address',
    async () => {
      const l = await start({ host: '0.0.0.0' });
      const url = `http://${nonLoopback}:${l.port}/metrics`;
      const far = await get(url, { localAddress: nonLoopback });
      expect(far.status).toBe(403);
      expect(JSON.parse(far.body)).toEqual({ code: 'forbidden', message: expect.stringMatching(/loopback/) });
      expect((await get(`http://127.0.0.1:${l.port}/metrics`)).status).toBe(200);
    },
  );

  it('without a token, refuses a loopback peer whose Host is not loopback (DNS rebinding)', async () => {
    const l = await start({});
    expect((await get(l.url, { host: 'evil.example:9464' })).status).toBe(403);
    expect((await get(l.url, { host: `localhost:${l.port}` })).status).toBe(200);
  });

  it('with a token, asks every peer for it (loopback too) and compares it exactly', async () => {
    const l = await start({ token: TOKEN });
    expect((await get(l.url)).status).toBe(401);
    expect((await get(l.url, { authorization: `Bearer ${TOKEN.slice(0, -1)}` })).status).toBe(401);
    expect((await get(l.url, { authorization: `Basic ${TOKEN}` })).status).toBe(401);
    const ok = await get(l.url, { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('palisade_messages_sent_total');
  });

  it.skipIf(nonLoopback === undefined)(
    'on a non-loopback host, serves HTTPS with the given certificate to whoever holds the token',
    async () => {
      const tls = await generateSelfSignedCertificate(1);
      const l = await start({ host: '0.0.0.0', token: TOKEN, tls: { ...tls, minVersion: 'TLSv1.3' } });
      expect(l.url).toMatch(/^https:/);
      const url = `https://127.0.0.1:${l.port}/metrics`;
      expect((await get(url, { ca: tls.certPem, localAddress: nonLoopback })).status).toBe(401);
      expect(
        (await get(url, { ca: tls.certPem, localAddress: nonLoopback, authorization: `Bearer ${TOKEN}` })).status,
      ).toBe(200);
      await expect(get(`http://127.0.0.1:${l.port}/metrics`, { authorization: `Bearer ${TOKEN}` })).rejects.toThrow(
        /socket hang up|ECONNRESET/,
      );
    },
  );

  it('refuses a short token and says how to make one', async () => {
    await expect(start({ token: 'short' })).rejects.toThrow(/at least 32 characters/);
  });

  it('says which port is taken and what to change', async () => {
    const l = await start({});
    await expect(start({ port: l.port })).rejects.toThrow(
      new RegExp(`127\\.0\\.0\\.1:${l.port} \\(EADDRINUSE\\): set metrics\\.port`),
    );
  });
});

describe('metricsAccess (the rule)', () => {
  it('without a token: loopback peers only, IPv4, IPv6 and IPv4-mapped', () => {
    for (const p of ['127.0.0.1', '127.5.6.7', '::1', '::ffff:127.0.0.1'])
      expect(metricsAccess(p, undefined, undefined, '127.0.0.1:9464'), p).toBe('allow');
    for (const p of ['192.0.2.2', '::ffff:192.0.2.2', '10.0.0.1', 'fe80::1', '128.0.0.1', undefined])
      expect(metricsAccess(p, undefined, undefined, '127.0.0.1:9464'), String(p)).toBe('forbidden');
  });

  it('without a token: the Host must name loopback too', () => {
    for (const h of ['127.0.0.1:9464', 'localhost:9464', 'LOCALHOST', '[::1]:9464', '127.0.0.2'])
      expect(metricsAccess('127.0.0.1', undefined, undefined, h), h).toBe('allow');
    for (const h of [
      'evil.example:9464',
      'localhost.evil.example',
      '127.0.0.1.evil.example',
      '[::2]:9464',
      '',
      undefined,
    ])
      expect(metricsAccess('127.0.0.1', undefined, undefined, h), String(h)).toBe('forbidden');
  });

  it('with a token: the exact bearer token from anyone, nothing else', () => {
    expect(metricsAccess('192.0.2.2', `Bearer ${TOKEN}`, TOKEN)).toBe('allow');
    expect(metricsAccess('127.0.0.1', undefined, TOKEN)).toBe('not_authenticated');
    expect(metricsAccess('127.0.0.1', `Bearer ${TOKEN} `, TOKEN)).toBe('not_authenticated');
    expect(metricsAccess('127.0.0.1', `bearer ${TOKEN}`, TOKEN)).toBe('not_authenticated');
  });
});
