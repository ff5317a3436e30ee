import { request } from 'node:https';
import pg from 'pg';
import type { PalisadeClient } from '@palisade/client';
import { PG_URL } from '../../packages/server/src/test-support/with-all-stores.js';
import type { ServerProcess } from './server-process.js';

/** GET over the server's TLS (its own CA); resolves with the status and the parsed JSON body. */
export function getJson(
  server: Pick<ServerProcess, 'port' | 'ca'>,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, ca: server.ca, timeout: 10_000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') as Record<string, unknown> }),
      );
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** Runs one SQL statement on the test server's maintenance connection. */
export async function pgAdmin<T extends pg.QueryResultRow>(
  text: string,
  values: unknown[] = [],
  url = PG_URL,
): Promise<T[]> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** A database of its own for one test (dropped with `drop`), and its URL. */
export async function createTestDatabase(
  prefix: string,
): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await pgAdmin(`CREATE DATABASE "${name}"`);
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    drop: async () => void (await pgAdmin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)),
  };
}

/** Terminates the backends of one server, chosen by its application_name only (never anyone else's). */
export async function terminateBackends(database: string, applicationName: string): Promise<number> {
  const rows = await pgAdmin<{ n: string }>(
    'SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
    [database, applicationName],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Every message of a conversation, read back over the API (500 a page). */
export async function readAll(
  reader: PalisadeClient,
  conversationId: string,
): Promise<{ seq: number; clientMsgId: string }[]> {
  const stored: { seq: number; clientMsgId: string }[] = [];
  for (;;) {
    const page = await reader.api.history(conversationId, stored.at(-1)?.seq ?? 0, 500);
    stored.push(...page);
    if (page.length < 500) return stored;
  }
}

/**
 * Sends `total` messages, `window` in flight, the way an application should: a rejected send is
 * retried with the same clientMsgId after the server's retry hint (at most 200 ms here). Returns
 * the acknowledged seq per id and every rejection code seen.
 */
export async function sendAll(
  client: PalisadeClient,
  conversationId: string,
  ids: string[],
  window: number,
  onAck: (n: number) => void = () => undefined,
): Promise<{ acked: Map<string, number>; rejections: Map<string, number> }> {
  const acked = new Map<string, number>();
  const rejections = new Map<string, number>();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++] as string;
      for (;;) {
        try {
          acked.set(id, await client.send(conversationId, new TextEncoder().encode(id), id));
          onAck(acked.size);
          break;
        } catch (e) {
          const err = e as { code?: string; retryAfterMs?: number };
          const code = err.code ?? 'none';
          rejections.set(code, (rejections.get(code) ?? 0) + 1);
          if (code !== 'unavailable' && code !== 'storage_full' && code !== 'network') throw e;
          // pace: a client's backoff before its retry (as the server's retryAfterMs asks); nothing is waited for
          await new Promise((r) => setTimeout(r, Math.min(err.retryAfterMs ?? 100, 200)));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: window }, () => lane()));
  return { acked, rejections };
}
