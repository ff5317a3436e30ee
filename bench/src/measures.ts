import { now, rssOf, summarise, until, type Summary } from './stats.js';
import type { BenchClient, Target } from './target.js';

const enc = (s: string) => new TextEncoder().encode(s.padEnd(100, '.'));
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** (a) Sequential connect + authenticate (TLS, WebSocket, challenge signed by the device key). */
export async function connectLatency(t: Target, n: number): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < n + 10; i++) {
    const t0 = now();
    const c = await t.connect(0);
    if (i >= 10) samples.push(now() - t0);
    c.close();
  }
  return summarise(samples);
}

/**
 * (b) 1:1 round trip: A sends, B receives and answers, A receives the answer. The end time is taken in
 * A's message handler itself (no polling, which would add up to its interval to every sample).
 */
export async function roundTrip(t: Target, conv: string, n: number): Promise<Summary> {
  const [a, b] = [await t.connect(0), await t.connect(1)];
  b.onMessage = (c, p) => {
    const s = dec(p);
    if (s.startsWith('ping')) b.send(c, enc(`pong${s.slice(4, s.indexOf('.'))}`)).catch(() => undefined);
  };
  const samples: number[] = [];
  for (let i = 0; i < n + 20; i++) {
    const answered = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for pong')), 10_000);
      a.onMessage = (_c, p) => {
        if (!dec(p).startsWith(`pong${i}.`)) return;
        const t1 = now();
        clearTimeout(timer);
        resolve(t1);
      };
    });
    const t0 = now();
    a.send(conv, enc(`ping${i}`)).catch(() => undefined);
    const t1 = await answered;
    if (i >= 20) samples.push(t1 - t0);
  }
  a.close();
  b.close();
  return summarise(samples);
}

async function pump(sender: BenchClient, conv: string, total: number, window: number, tag: string): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      await sender.send(conv, enc(`${tag}${i}`));
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
}

/** (c) 1:1 throughput: messages acknowledged per second with `window` in flight (Palisade acks after COMMIT). */
export async function throughput(
  t: Target,
  conv: string,
  total: number,
  window: number,
): Promise<{ ackedPerSecond: number; deliveredPerSecond: number }> {
  const [a, b] = [await t.connect(0), await t.connect(1)];
  let got = 0;
  b.onMessage = () => void got++;
  await pump(a, conv, 200, window, 'warm'); // warm-up
  await until(() => got >= 200, 30_000, 'warm-up delivery');
  got = 0;
  const t0 = now();
  await pump(a, conv, total, window, 'tp');
  const acked = now() - t0;
  await until(() => got >= total, 60_000, 'delivery');
  const delivered = now() - t0;
  a.close();
  b.close();
  return {
    ackedPerSecond: Math.round((total / acked) * 1000),
    deliveredPerSecond: Math.round((total / delivered) * 1000),
  };
}

/** (d) Group of `members`: latency to the last member at a steady rate, then deliveries/s when saturated. */
export async function groupFanout(
  t: Target,
  conv: string,
  members: number,
  rate: number,
  seconds: number,
  saturate: number,
  progress: (s: string) => void,
) {
  const clients: BenchClient[] = [];
  for (let u = 0; u < members; u++) clients.push(await t.connect(u));
  const receivers = members - 1;
  const counts = new Map<string, number>();
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let deliveries = 0;
  let lastDelivery = 0;
  for (const c of clients.slice(1)) {
    c.onMessage = (_conv, p) => {
      const s = dec(p);
      const key = s.slice(0, s.indexOf('.'));
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      deliveries++;
      lastDelivery = now();
      if (n === receivers && sentAt.has(key)) latencies.push(now() - (sentAt.get(key) as number));
    };
  }
  const sender = clients[0] as BenchClient;
  const steady = rate * seconds;
  progress(`  ${t.name}: steady ${rate} msg/s to ${members} members for ${seconds} s`);
  const t0 = now();
  for (let i = 0; i < steady; i++) {
    const due = t0 + (i * 1000) / rate;
    while (now() < due) await new Promise((r) => setTimeout(r, 1));
    sentAt.set(`g${i}`, now());
    sender.send(conv, enc(`g${i}`)).catch(() => undefined);
  }
  await until(() => latencies.length >= steady, 60_000, 'steady-rate deliveries');
  progress(`  ${t.name}: saturating with ${saturate} messages`);
  deliveries = 0;
  const t1 = now();
  await pump(sender, conv, saturate, 64, 's');
  await until(() => deliveries >= saturate * receivers, 120_000, 'saturated deliveries');
  const deliveriesPerSecond = Math.round((deliveries / (lastDelivery - t1)) * 1000);
  for (const c of clients) c.close();
  return { lastMemberLatency: summarise(latencies), deliveriesPerSecond };
}

/** (e) Server memory per idle authenticated connection, with `n` connections open. */
export async function memoryPerConnection(
  t: Target,
  n: number,
  progress: (s: string) => void,
): Promise<{ connections: number; bytesPerConnection: number; rssBeforeMiB: number; rssAfterMiB: number }> {
  await new Promise((r) => setTimeout(r, 1000));
  const before = await rssOf(t.pid);
  const open: BenchClient[] = [];
  let next = 0;
  const lane = async () => {
    while (next < n) {
      next++;
      open.push(await t.connect(0));
      if (open.length % 2000 === 0) progress(`  ${t.name}: ${open.length}/${n} connections`);
    }
  };
  await Promise.all(Array.from({ length: 50 }, lane));
  await new Promise((r) => setTimeout(r, 3000));
  const after = await rssOf(t.pid);
  for (const c of open) c.close();
  const mib = (x: number) => Math.round((x / 1048576) * 10) / 10;
  return {
    connections: n,
    bytesPerConnection: Math.round((after - before) / n),
    rssBeforeMiB: mib(before),
    rssAfterMiB: mib(after),
  };
}
