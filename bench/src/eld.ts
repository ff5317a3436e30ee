import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** The series both servers expose (Palisade in its metrics module, the relay in relay.ts). */
export const ELD_SERIES = 'palisade_event_loop_delay_seconds';

/** A cumulative histogram: `count` samples at most `le` seconds, bounds ascending, the last `Infinity`. */
export type Buckets = { le: number; count: number }[];

/** The event-loop delay of a server during one phase, from two scrapes. */
export interface EldSummary {
  /** Samples of the monitor in the phase (one each 2 ms when the loop is idle). */
  samples: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Upper bound of the bucket that holds the largest delay (null: above the last bound, 1 s). */
  maxBelowMs: number | null;
}

/** The buckets of `series` in a Prometheus text exposition. */
export function parseBuckets(text: string, series = ELD_SERIES): Buckets {
  const out: Buckets = [];
  const re = new RegExp(`^${series}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) out.push({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), count: Number(m[2]) });
  return out.sort((a, b) => a.le - b.le);
}

/** What a phase added: `after` minus `before`, bucket by bucket (the same bounds in both). */
export function bucketDelta(before: Buckets, after: Buckets): Buckets {
  return after.map((b, i) => {
    const a = before[i];
    if (a !== undefined && a.le !== b.le) throw new Error('the two scrapes have different buckets');
    return { le: b.le, count: b.count - (a?.count ?? 0) };
  });
}

/**
 * The q-quantile (seconds) of a cumulative histogram, as Prometheus' histogram_quantile computes it:
 * the bucket holding rank q·n, then linear interpolation inside it (the first bucket starts at 0).
 * In the +Inf bucket it answers the last finite bound. NaN without samples.
 */
export function quantile(b: Buckets, q: number): number {
  const total = b.at(-1)?.count ?? 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const { le, count } of b) {
    if (count >= rank && count > below) {
      if (le === Infinity) return lower;
      return lower + ((le - lower) * (rank - below)) / (count - below);
    }
    lower = le;
    below = count;
  }
  return lower;
}

/** p50, p99 and the bucket of the largest delay, in ms, of the samples between two scrapes. */
export function eldBetween(before: Buckets, after: Buckets): EldSummary {
  const d = bucketDelta(before, after);
  const samples = d.at(-1)?.count ?? 0;
  const ms = (s: number) => (Number.isFinite(s) ? Math.round(s * 1e6) / 1000 : null);
  const top = d.find((b) => b.count === samples);
  return {
    samples,
    p50Ms: ms(quantile(d, 0.5)),
    p99Ms: ms(quantile(d, 0.99)),
    maxBelowMs: samples > 0 && top !== undefined ? ms(top.le) : null,
  };
}

/** Scrapes a metrics URL (HTTP, or HTTPS trusting `ca`) and returns its event-loop delay buckets. */
export function scrapeEld(url: string, ca?: string): Promise<Buckets> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(u, { method: 'GET', ...(ca ? { ca, servername: 'localhost' } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${url} answered ${res.statusCode}`));
        const b = parseBuckets(body);
        if (b.length === 0) return reject(new Error(`${url} has no ${ELD_SERIES}`));
        resolve(b);
      });
    });
    req.on('error', reject);
    req.end();
  });
}
