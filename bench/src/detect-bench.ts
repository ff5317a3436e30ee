import { createServer, type IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceKey } from '@palisade/client';
import { throughput } from './measures.js';
import { phase } from './phase.js';
import { palisadeTarget } from './palisade-target.js';
import { summarise, type Summary } from './stats.js';

/** Sizes of the detection bench. */
export interface DetectSizes {
  throughputN: number;
  window: number;
  turns: number;
  /** Alert-latency trials, idle and under load each. */
  alertTrials: number;
}

/** Wrong passwords per trial: the brute-force rule's threshold, set for the bench (see `extraConfig`). */
const ATTEMPTS = 20;

/** A webhook receiver on loopback: resolves each waiter with the wall time its handler fired. */
async function webhookSink() {
  const waiters: ((at: number, body: Record<string, unknown>) => void)[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      // The handler fired: this is the alert's arrival (never polled).
      const at = Date.now();
      res.writeHead(204).end();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        /* counted as an alert all the same */
      }
      for (const w of waiters.splice(0)) w(at, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    next: (timeoutMs: number) =>
      new Promise<{ at: number; body: Record<string, unknown> }>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no alert reached the webhook in time')), timeoutMs);
        waiters.push((at, body) => (clearTimeout(t), resolve({ at, body })));
      }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** One wrong-password login from `localAddress` (another loopback address is another source). */
function wrongLogin(port: number, ca: string, localAddress: string, username: string): Promise<number> {
  const body = JSON.stringify({
    username,
    password: 'not the password of anyone here',
    device: { publicKey: DeviceKey.generate().publicKey, name: 'bench attacker', platform: 'bench' },
  });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress,
        method: 'POST',
        path: '/v1/login',
        ca,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Detection's cost and speed, in one run:
 * - throughput with detection on and off, two fresh servers measured in turns, in both start orders
 *   (the first-started server measures slower on this machine), runs pooled: aim on/off >= 0.95;
 * - alert latency: a brute force of ATTEMPTS wrong passwords from a fresh loopback address; the time
 *   from the response to the last attempt to the webhook handler firing, idle and under a
 *   throughput load.
 */
export async function detectionBench(sizes: DetectSizes, progress: (s: string) => void) {
  const sink = await webhookSink();
  const config = (on: boolean) =>
    on
      ? [
          'detect:',
          '  enabled: true',
          '  rules:',
          `    'auth.brute_force.address': { threshold: ${ATTEMPTS}, windowSeconds: 60 }`,
          // Only the address rule may fire, and exactly at the last attempt: the latency is taken from it.
          "    'auth.brute_force.account': { enabled: false }",
          "    'auth.credential_stuffing': { enabled: false }",
          "    'auth.password_spraying': { enabled: false }",
          'alerts:',
          '  channels:',
          '    - type: webhook',
          '      name: bench',
          `      url: ${sink.url}`,
          '      secret: secret://env/BENCH_WEBHOOK_SECRET',
          '      minSeverity: low',
          '      insecureAllowPlaintext: true',
        ]
      : ['detect:', '  enabled: false'];
  const env = { BENCH_WEBHOOK_SECRET: 'bench-webhook-secret-not-a-real-one' };
  const runs: Record<'on' | 'off', { ackedPerSecond: number }[]> = { on: [], off: [] };
  const latency: Record<'idle' | 'loaded', number[]> = { idle: [], loaded: [] };
  let source = 10;
  try {
    for (const order of [
      ['on', 'off'],
      ['off', 'on'],
    ] as const) {
      const targets = [];
      for (const k of order)
        targets.push({
          k,
          t: await palisadeTarget(mkdtempSync(join(tmpdir(), `palisade-detect-${k}-`)), progress, {
            name: `palisade-detect-${k}`,
            extraConfig: config(k === 'on'),
            env,
          }),
        });
      try {
        const pairs: string[] = [];
        for (const { t } of targets) pairs.push(await t.conversation(2));
        for (let turn = 0; turn < sizes.turns; turn++)
          for (const [i, { k, t }] of targets.entries()) {
            progress(`detection ${k} (${order[0]} started first), turn ${turn + 1}/${sizes.turns}: throughput`);
            runs[k].push(
              await phase(t, 'throughput', (m) => throughput(t, pairs[i]!, sizes.throughputN, sizes.window, m)),
            );
          }
        const on = targets.find((x) => x.k === 'on')!;
        const port = Number(new URL(on.t.baseUrl).port);
        const ca = on.t.ca;
        for (const mode of ['idle', 'loaded'] as const)
          for (let trial = 0; trial < sizes.alertTrials; trial++) {
            progress(`detection on: alert latency ${mode}, trial ${trial + 1}/${sizes.alertTrials}`);
            const addr = `127.0.${Math.floor(source / 250) + 100}.${(source++ % 250) + 1}`;
            const load =
              mode === 'loaded'
                ? throughput(on.t, pairs[targets.indexOf(on)]!, sizes.throughputN, sizes.window)
                : undefined;
            const alert = sink.next(30_000);
            let last = 0;
            for (let i = 0; i < ATTEMPTS; i++) {
              await wrongLogin(port, ca, addr, `nobody${trial}`);
              last = Date.now();
            }
            const { at } = await alert;
            latency[mode].push(at - last);
            await load;
          }
      } finally {
        for (const { t } of targets) await t.stop();
      }
    }
  } finally {
    await sink.close();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const on = median(runs.on.map((r) => r.ackedPerSecond));
  const off = median(runs.off.map((r) => r.ackedPerSecond));
  // Runs were taken in pairs (on and off back to back, in both orders): the median of the pairs'
  // ratios is less sensitive to the machine's drift over the run than the ratio of the medians.
  const paired = runs.on.map((r, i) => r.ackedPerSecond / (runs.off[i]?.ackedPerSecond ?? Number.NaN));
  const lat = (xs: number[]): Summary | undefined => (xs.length ? summarise(xs) : undefined);
  return {
    'palisade-detect-on': { throughput: { ackedPerSecond: on, runs: runs.on.map((r) => r.ackedPerSecond) } },
    'palisade-detect-off': { throughput: { ackedPerSecond: off, runs: runs.off.map((r) => r.ackedPerSecond) } },
    'palisade-alert-latency': {
      attempts: ATTEMPTS,
      lastAttemptToWebhookMs: { idle: lat(latency.idle), loaded: lat(latency.loaded) },
      rawMs: latency,
    },
    ratio: Math.round(median(paired) * 100) / 100,
    ratioOfMedians: off ? Math.round((on / off) * 100) / 100 : undefined,
    pairedRatios: paired.map((x) => Math.round(x * 100) / 100),
  };
}
