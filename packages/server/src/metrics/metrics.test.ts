import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { withAllStores } from '../test-support/with-all-stores.js';
import { PrometheusMetrics, QueryTimingPlugin } from './index.js';

/** The value of one sample of a metric on the registry (0 when absent). */
async function value(m: PrometheusMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = m.registry.getSingleMetric(name.replace(/_(count|sum|bucket)$/, ''));
  if (!metric) return 0;
  const got = await metric.get();
  const v = got.values.find(
    (x) =>
      ((x as { metricName?: string }).metricName ?? got.name) === name &&
      Object.entries(labels).every(([k, l]) => String(x.labels[k]) === l),
  );
  return v?.value ?? 0;
}

describe('PrometheusMetrics', () => {
  it('names every series with the palisade_ prefix and keeps its own registry', async () => {
    const a = new PrometheusMetrics({ processMetrics: false });
    const b = new PrometheusMetrics({ processMetrics: false });
    a.messageSent();
    a.rateLimited('login.address');
    a.httpRequest('GET', '/v1/me', 200, 0.003);
    expect(await value(a, 'palisade_messages_sent_total')).toBe(1);
    expect(await value(b, 'palisade_messages_sent_total')).toBe(0);
    expect(await value(a, 'palisade_rate_limit_refusals_total', { limit: 'login.address' })).toBe(1);
    expect(await value(a, 'palisade_http_request_duration_seconds_count', { route: '/v1/me' })).toBe(1);
    const names = (await a.registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names.length).toBeGreaterThan(10);
    expect(names.every((n) => n.startsWith('palisade_'))).toBe(true);
  });

  it("includes the event-loop delay of the process, prefixed, in every server's exposition (one set per process)", async () => {
    for (const m of [new PrometheusMetrics(), new PrometheusMetrics()]) {
      const text = (await m.render()).body;
      expect(text).toMatch(/^palisade_nodejs_eventloop_lag_seconds /m);
      expect(text).toMatch(/^palisade_nodejs_eventloop_lag_p99_seconds /m);
      expect(text).toMatch(/^palisade_messages_sent_total 0$/m);
      expect(m.registry.getSingleMetric('palisade_nodejs_eventloop_lag_seconds')).toBeUndefined();
    }
    expect((await new PrometheusMetrics({ processMetrics: false }).render()).body).not.toContain('palisade_nodejs_');
  });
});

describe('docs/operations.md, "Monitoring"', () => {
  it('lists every series of ours (a new series needs its row)', async () => {
    const docs = readFileSync(resolve(import.meta.dirname, '../../../../docs/operations.md'), 'utf8');
    const m = new PrometheusMetrics({ processMetrics: false });
    m.trackConnections(() => Promise.resolve(0));
    const names = (await m.registry.getMetricsAsJSON()).map((x) => x.name);
    expect(names.filter((n) => !docs.includes(`| \`${n}\` |`))).toEqual([]);
  });
});

withAllStores('QueryTimingPlugin', (h) => {
  it('times each query by kind, raw SQL and transactions included', async () => {
    const store = h.get();
    const m = new PrometheusMetrics({ processMetrics: false });
    const db = store.db.withPlugin(new QueryTimingPlugin(m));
    await db.selectFrom('users').select('id').execute();
    await db.transaction().execute(async (tx) => {
      await tx.selectFrom('users').select('id').execute();
      await sql`UPDATE users SET display_name = NULL WHERE id = ${'nobody'}`.execute(tx);
    });
    await sql`${sql.raw(h.kind === 'sqlite' ? 'PRAGMA user_version' : 'SHOW server_version')}`.execute(db);
    expect(await value(m, 'palisade_store_query_seconds_count', { kind: 'select' })).toBe(2);
    expect(await value(m, 'palisade_store_query_seconds_count', { kind: 'update' })).toBe(1);
    expect(await value(m, 'palisade_store_query_seconds_count', { kind: 'other' })).toBe(1);
    expect(await value(m, 'palisade_store_query_seconds_sum', { kind: 'select' })).toBeGreaterThan(0);
    // The store without the plugin records nothing.
    await store.db.selectFrom('users').select('id').execute();
    expect(await value(m, 'palisade_store_query_seconds_count', { kind: 'select' })).toBe(2);
  });
});
