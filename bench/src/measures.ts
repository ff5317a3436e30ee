import type { Meter, ServerCost } from './phase.js';
import { now, rssOf, summarise, until, type Summary } from './stats.js';
import type { BenchClient, Target } from './target.js';

const enc = (s: string) => new TextEncoder().encode(s.padEnd(100, '.'));
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A figure with the server's cost beside it when a meter was given (see phase.ts). */
type Costed<T> = T & { server?: ServerCost };

/**
 * (a) Sequential connect + authenticate (TLS, WebSocket, challenge signed by the device key). The
 * server's CPU is per connect, its close included.
 */
export async function connectLatency(t: Target, n: number, m?: Meter): Promise<Costed<Summary>> {
  const samples: number[] = [];
  for (let i = 0; i < n + 10; i++) {
    if (i === 10) await m?.begin();
    const t0 = now();
    const c = await t.connect(0);
    if (i >= 10) samples.push(now() - t0);
    c.close();
  }
  const server = await m?.end(n);
  return { ...summarise(samples), ...(server && { server }) };
}

/** Sequential password logins over HTTP from a fresh client each (TLS handshake included), after 3 unmeasured. */
export async function passwordLogin(t: Target, n: number, m?: Meter): Promise<Costed<Summary>> {
  const login = t.login?.bind(t);
  if (!login) throw new Error(`${t.name} has no password login`);
  const samples: number[] = [];
  for (let i = 0; i < n + 3; i++) {
    if (i === 3) await m?.begin();
    const t0 = now();
    await login(0);
    if (i >= 3) samples.push(now() - t0);
  }
  const server = await m?.end(n);
  return { ...summarise(samples), ...(server && { server }) };
}

/**
 * (b) 1:1 round trip: A sends, B receives and answers, A receives the answer. The end time is taken in
 * A's message handler itself (no polling, which would add up to its interval to every sample).
 */
export async function roundTrip(t: Target, conv: string, n: number, m?: Meter): Promise<Costed<Summary>> {
  const [a, b] = [await t.connect(0), await t.connect(1)];
  b.onMessage = (c, p) => {
    const s = dec(p);
    if (s.startsWith('ping')) b.send(c, enc(`pong${s.slice(4, s.indexOf('.'))}`)).catch(() => undefined);
  };
  const samples: number[] = [];
  for (let i = 0; i < n + 20; i++) {
    if (i === 20) await m?.begin();
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
  const server = await m?.end(n);
  a.close();
  b.close();
  return { ...summarise(samples), ...(server && { server }) };
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

/**
 * A count to reach, checked by the handler that counts (`check`), so the time it was reached is taken
 * there and not by polling; `wait()` resolves with that time (now()), or fails after `timeoutMs`.
 */
function reached(n: number, what: string, timeoutMs: number) {
  let doneAt: number | undefined;
  let notify: ((t: number) => void) | undefined;
  return {
    check(count: number): void {
      if (doneAt !== undefined || count < n) return;
      doneAt = now();
      notify?.(doneAt);
    },
    wait(): Promise<number> {
      if (doneAt !== undefined) return Promise.resolve(doneAt);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
        notify = (t) => {
          clearTimeout(timer);
          resolve(t);
        };
      });
    },
  };
}

/**
 * (c) 1:1 throughput: messages acknowledged per second with `window` in flight (Palisade acks after
 * COMMIT); delivered per second up to the last delivery, timed in the receiver's handler. CPU per message.
 */
export async function throughput(
  t: Target,
  conv: string,
  total: number,
  window: number,
  m?: Meter,
): Promise<Costed<{ ackedPerSecond: number; deliveredPerSecond: number }>> {
  const [a, b] = [await t.connect(0), await t.connect(1)];
  let got = 0;
  b.onMessage = () => void got++;
  await pump(a, conv, 200, window, 'warm'); // warm-up
  await until(() => got >= 200, 30_000, 'warm-up delivery');
  got = 0;
  const last = reached(total, 'delivery', 60_000);
  b.onMessage = () => last.check(++got);
  await m?.begin();
  const t0 = now();
  await pump(a, conv, total, window, 'tp');
  const acked = now() - t0;
  const delivered = (await last.wait()) - t0;
  const server = await m?.end(total);
  a.close();
  b.close();
  return {
    ackedPerSecond: Math.round((total / acked) * 1000),
    deliveredPerSecond: Math.round((total / delivered) * 1000),
    ...(server && { server }),
  };
}

/**
 * (d) Group of `members`: latency to the last member at a steady rate, then deliveries/s when
 * saturated; server CPU per delivery for each part (the steady part's cost is on `lastMemberLatency`).
 */
export async function groupFanout(
  t: Target,
  conv: string,
  members: number,
  rate: number,
  seconds: number,
  saturate: number,
  progress: (s: string) => void,
  m?: Meter,
) {
  const clients: BenchClient[] = [];
  for (let u = 0; u < members; u++) clients.push(await t.connect(u));
  const receivers = members - 1;
  const counts = new Map<string, number>();
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let deliveries = 0;
  let lastDelivery = 0;
  const steady = rate * seconds;
  let allLatencies = reached(steady, 'steady-rate deliveries', 60_000);
  let allDeliveries = reached(Infinity, 'saturated deliveries', 120_000);
  for (const c of clients.slice(1)) {
    c.onMessage = (_conv, p) => {
      const s = dec(p);
      const key = s.slice(0, s.indexOf('.'));
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      deliveries++;
      lastDelivery = now();
      if (n === receivers && sentAt.has(key)) {
        latencies.push(now() - (sentAt.get(key) as number));
        allLatencies.check(latencies.length);
      }
      allDeliveries.check(deliveries);
    };
  }
  const sender = clients[0] as BenchClient;
  progress(`  ${t.name}: steady ${rate} msg/s to ${members} members for ${seconds} s`);
  await m?.begin();
  const t0 = now();
  for (let i = 0; i < steady; i++) {
    const due = t0 + (i * 1000) / rate;
    while (now() < due) await new Promise((r) => setTimeout(r, 1));
    sentAt.set(`g${i}`, now());
    sender.send(conv, enc(`g${i}`)).catch(() => undefined);
  }
  await allLatencies.wait();
  const steadyCost = await m?.end(steady * receivers);
  progress(`  ${t.name}: saturating with ${saturate} messages`);
  deliveries = 0;
  allLatencies = reached(Infinity, 'nothing', 0); // never waited for
  allDeliveries = reached(saturate * receivers, 'saturated deliveries', 120_000);
  await m?.begin();
  const t1 = now();
  await pump(sender, conv, saturate, 64, 's');
  await allDeliveries.wait();
  const server = await m?.end(deliveries);
  const deliveriesPerSecond = Math.round((deliveries / (lastDelivery - t1)) * 1000);
  for (const c of clients) c.close();
  return {
    lastMemberLatency: { ...summarise(latencies), ...(steadyCost && { server: steadyCost }) },
    deliveriesPerSecond,
    ...(server && { server }),
  };
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
