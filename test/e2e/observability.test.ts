import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utf8, type IncomingMessage, type PalisadeClient } from '@palisade/client';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { get, nonLoopbackAddress, sample, scrape, seriesNames } from '../support/prometheus.js';
import { createUsers, enrolAdmin, waitFor } from '../support/users.js';

/** The JSON lines a server process wrote to stdout (its log). */
const logLines = (server: ServerProcess): Record<string, unknown>[] =>
  server
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** The series the operations guide promises (docs/operations.md, "Monitoring"). */
const NAMED_SERIES = [
  'palisade_http_requests_total',
  'palisade_http_request_duration_seconds_bucket',
  'palisade_websocket_connections',
  'palisade_tcp_connections',
  'palisade_authentications_total',
  'palisade_messages_sent_total',
  'palisade_messages_delivered_total',
  'palisade_send_ack_seconds_bucket',
  'palisade_send_batch_size_bucket',
  'palisade_delivery_seconds_bucket',
  'palisade_rate_limit_refusals_total',
  'palisade_store_query_seconds_bucket',
  'palisade_key_operations_total',
  'palisade_key_operation_seconds_bucket',
  'palisade_nodejs_eventloop_lag_seconds',
  'palisade_nodejs_eventloop_lag_p99_seconds',
  'palisade_event_loop_delay_seconds_bucket',
];

describe('observability: /metrics and the access log of a running server', () => {
  let server: ServerProcess;
  let admin: PalisadeClient;
  beforeAll(async () => {
    // A tiny budget for passkey login options, so one refusal is cheap to cause.
    server = await startServerProcess({
      env: { PALISADE_LOG_LEVEL: 'info' },
      config: "limits:\n  overrides:\n    'login.passkey_options': { burst: 1, perSecond: 0.001 }\n",
    });
    admin = await enrolAdmin(server);
  });
  afterAll(async () => {
    admin?.close();
    await server?.stop();
  });

  it('/metrics answers Prometheus text with the named series, and they move after logins, a message and a refusal', async () => {
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const url = server.metricsUrl as string;
    const first = await get(url);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const before = await scrape(url);

    const [alice, bob] = (await createUsers(server, admin, ['mia', 'noah'])) as [PalisadeClient, PalisadeClient];
    const got: IncomingMessage[] = [];
    bob.on.message = (m) => got.push(m);
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.api.openDirect('noah');
    await alice.send(conv.id, utf8('hello metrics'));
    await waitFor(() => got.length === 1, 10_000, 'the message at bob');
    const opts = () => fetchPasskeyOptions(server);
    expect(await opts()).toBe(200);
    expect(await opts()).toBe(429);

    await expect
      .poll(async () => sample(await scrape(url), 'palisade_messages_delivered_total', { path: 'live' }))
      .toBeGreaterThan(sample(before, 'palisade_messages_delivered_total', { path: 'live' }));
    const after = await scrape(url);
    for (const name of NAMED_SERIES) expect(seriesNames(after), name).toContain(name);
    const grew = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(grew('palisade_authentications_total', { method: 'password', outcome: 'success' })).toBe(2);
    expect(grew('palisade_authentications_total', { method: 'websocket', outcome: 'success' })).toBe(2);
    expect(grew('palisade_messages_sent_total')).toBe(1);
    expect(grew('palisade_send_ack_seconds_count')).toBe(1);
    expect(grew('palisade_send_batch_size_count')).toBe(1);
    expect(grew('palisade_send_batch_size_sum')).toBe(1);
    expect(grew('palisade_delivery_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(grew('palisade_rate_limit_refusals_total', { limit: 'login.passkey_options' })).toBe(1);
    expect(
      grew('palisade_http_requests_total', { method: 'POST', route: '/v1/login/passkey/options', status: '429' }),
    ).toBe(1);
    // The conversation's first message created its data key: one wrap at the KMS.
    expect(grew('palisade_key_operations_total', { op: 'wrap', outcome: 'success' })).toBeGreaterThanOrEqual(1);
    expect(grew('palisade_store_query_seconds_count', { kind: 'insert' })).toBeGreaterThan(0);
    // The event-loop delay histogram is cumulative across scrapes and sampled all along.
    expect(grew('palisade_event_loop_delay_seconds_count')).toBeGreaterThan(0);
    expect(sample(after, 'palisade_event_loop_delay_seconds_bucket', { le: '+Inf' })).toBe(
      sample(after, 'palisade_event_loop_delay_seconds_count'),
    );
    expect(sample(after, 'palisade_websocket_connections')).toBeGreaterThanOrEqual(2);
    expect(sample(after, 'palisade_tcp_connections')).toBeGreaterThanOrEqual(2);
    // SECURITY: no label carries a user id.
    const me = await alice.api.me();
    expect([...after.keys()].some((k) => k.includes(me.userId))).toBe(false);
    alice.close();
    bob.close();
  });

  it('refuses a non-loopback peer with 403 by default (the socket address decides, not a header)', async () => {
    const local = await nonLoopbackAddress();
    if (!local)
      return expect
        .soft(local, 'no non-loopback address here; metrics-listener.test.ts covers the rule')
        .toBeUndefined();
    const r = await get(server.metricsUrl as string, {
      localAddress: local,
      headers: { 'x-forwarded-for': '127.0.0.1' },
    });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toMatchObject({ code: 'forbidden' });
    expect(r.body).not.toContain('palisade_');
  });

  it('v5.0.0-16.2.5 logs one line per HTTP request with the route pattern and principal id, and never a token, cookie or query', async () => {
    const [olga] = (await createUsers(server, admin, ['olga'])) as [PalisadeClient];
    const me = await olga.api.me();
    const conv = await olga.api.openDirect('admin');
    await olga.api.history(conv.id);
    const secretHeader = 'SENTINELHEADER0123456789abcdef';
    const secretQuery = 'SENTINELQUERY0123456789abcdef';
    const secretCookie = 'SENTINELCOOKIE0123456789abcdef';
    const refused = await get(`${server.baseUrl}/v1/conversations?token=${secretQuery}`, {
      ca: server.ca,
      headers: { authorization: `Bearer ${secretHeader}`, cookie: `sid=${secretCookie}` },
    });
    expect(refused.status).toBe(401);
    const secretPath = 'SENTINELPATH0123456789abcdef';
    const unknown = await get(`${server.baseUrl}/v1/nowhere/${secretPath}`, { ca: server.ca });
    expect(unknown.status).toBe(404);
    expect(refused.headers['x-request-id']).toMatch(/^[0-9a-f]{16}$/);
    // A line is written once its response has gone out: wait for both.
    const ids = [refused.headers['x-request-id'], unknown.headers['x-request-id']];
    const logged = () => {
      const lines = logLines(server);
      return (
        ids.every((id) => lines.some((l) => l.event === 'http' && l.reqId === id)) &&
        ['/v1/me', '/v1/conversations/:id/messages'].every((r) =>
          lines.some((l) => l.route === r && l.principal === me.userId),
        )
      );
    };
    await expect.poll(logged).toBe(true);
    const http = logLines(server).filter((l) => l.event === 'http');
    const line = http.find((l) => l.reqId === refused.headers['x-request-id']);
    expect(line).toMatchObject({ method: 'GET', route: '/v1/conversations', status: 401, principal: null });
    expect(typeof line?.ms).toBe('number');
    expect(http.find((l) => l.reqId === unknown.headers['x-request-id'])).toMatchObject({
      route: 'unmatched',
      status: 404,
    });
    expect(http.find((l) => l.route === '/v1/me' && l.principal === me.userId)).toMatchObject({
      method: 'GET',
      status: 200,
    });
    // The pattern, never the URL with the conversation's id.
    expect(http.find((l) => l.route === '/v1/conversations/:id/messages' && l.principal === me.userId)).toMatchObject({
      status: 200,
    });
    expect(http.some((l) => String(l.route).includes(conv.id))).toBe(false);
    const out = server.stdout() + server.stderr();
    for (const s of [secretHeader, secretQuery, secretCookie, secretPath, olga.token as string])
      expect(out).not.toContain(s);
    olga.close();
  });

  it('logs one line when a WebSocket session ends: principal, device, duration, frames, close code', async () => {
    const [pia] = (await createUsers(server, admin, ['pia'])) as [PalisadeClient];
    const me = await pia.api.me();
    await pia.connect();
    pia.close();
    await expect
      .poll(() => logLines(server).find((l) => l.event === 'ws.session' && l.principal === me.userId))
      .toBeDefined();
    const line = logLines(server).find((l) => l.event === 'ws.session' && l.principal === me.userId) as Record<
      string,
      unknown
    >;
    expect(line).toMatchObject({ device: me.deviceId, code: 1000 });
    expect(line.framesIn).toBeGreaterThanOrEqual(1);
    expect(line.framesOut).toBeGreaterThanOrEqual(2);
    expect(typeof line.ms).toBe('number');
    expect(server.stdout()).not.toContain(pia.token as string);
  });
});

describe('observability: a metrics token', () => {
  let server: ServerProcess;
  const token = 'metrics-token-0123456789abcdefghijklmnop';
  beforeAll(async () => {
    server = await startServerProcess({
      env: { PALISADE_METRICS_TOKEN: 'secret://env/TEST_METRICS_TOKEN', TEST_METRICS_TOKEN: token },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('asks every scrape for the bearer token once one is configured, loopback included', async () => {
    expect(server.stderr()).toMatch(
      /Metrics \(Prometheus\): http:\/\/127\.0\.0\.1:\d+\/metrics \(bearer token required\)/,
    );
    const url = server.metricsUrl as string;
    const none = await get(url);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect((await get(url, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    expect((await get(url, { headers: { authorization: `Bearer ${token.slice(0, -1)}` } })).status).toBe(401);
    const ok = await get(url, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('palisade_messages_sent_total 0');
    expect(server.stdout() + server.stderr()).not.toContain(token);
  });
});

/** POST /v1/login/passkey/options (public, rate-limited by address); returns the status. */
async function fetchPasskeyOptions(server: ServerProcess): Promise<number> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const r = request(
      `${server.baseUrl}/v1/login/passkey/options`,
      { method: 'POST', ca: server.ca, servername: 'localhost', headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    r.on('error', reject);
    r.end('{}');
  });
}
