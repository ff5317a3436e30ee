import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** Samples of a Prometheus text exposition: `name{a="1",b="2"}` (labels sorted) to value. */
export type Samples = Map<string, number>;

/** Parses the Prometheus text format (0.0.4): comments skipped, labels sorted into the key. */
export function parsePrometheus(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .map((l) => `${l[1]}="${l[2]}"`)
      .sort();
    out.set(labels.length ? `${m[1]}{${labels.join(',')}}` : (m[1] as string), Number(m[3]));
  }
  return out;
}

/** A sample's value, 0 when absent; `labels` in any order. */
export function sample(s: Samples, name: string, labels: Record<string, string> = {}): number {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  return s.get(l.length ? `${name}{${l.join(',')}}` : name) ?? 0;
}

/** The series names (without labels) of a parse. */
export function seriesNames(s: Samples): Set<string> {
  return new Set([...s.keys()].map((k) => k.replace(/\{.*$/, '')));
}

/** A GET over HTTP or HTTPS; `localAddress` picks the source address, `ca` trusts a certificate. */
export function get(
  url: string,
  opts: { headers?: Record<string, string>; localAddress?: string; ca?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(url);
  const req = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const r = req(
      u,
      {
        method: 'GET',
        headers: opts.headers ?? {},
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
        ...(opts.ca ? { ca: opts.ca, servername: 'localhost' } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    r.on('error', reject);
    r.end();
  });
}

/** Scrapes a /metrics URL (200 expected) and parses it. */
export async function scrape(url: string, headers: Record<string, string> = {}): Promise<Samples> {
  const r = await get(url, { headers });
  if (r.status !== 200) throw new Error(`scrape answered ${r.status}: ${r.body}`);
  return parsePrometheus(r.body);
}

/** A local IPv4 address that is not loopback, if this machine has one. */
export async function nonLoopbackAddress(): Promise<string | undefined> {
  const { networkInterfaces } = await import('node:os');
  return Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
}
