import { createServer, connect, type Socket } from 'node:net';

/** A TCP proxy to a real server that a test can stall (forward nothing, keep the sockets open). */
export interface StallProxy {
  port: number;
  /** Stops forwarding in both directions; data waits in the proxy. */
  stall(): void;
  /** Forwards again, including what waited. */
  resume(): void;
  close(): Promise<void>;
}

/** Starts a proxy on an ephemeral loopback port to `host:port`. */
export async function startStallProxy(host: string, port: number): Promise<StallProxy> {
  let stalled = false;
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((client) => {
    const upstream = connect(port, host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    for (const [from, to] of [pair, [upstream, client] as [Socket, Socket]]) {
      from.on('data', (d) => {
        if (!to.write(d)) from.pause();
      });
      to.on('drain', () => !stalled && from.resume());
      from.on('error', () => to.destroy());
      from.on('close', () => {
        to.destroy();
        pairs.delete(pair);
      });
    }
    if (stalled) {
      client.pause();
      upstream.pause();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    stall() {
      stalled = true;
      for (const pair of pairs) for (const s of pair) s.pause();
    },
    resume() {
      stalled = false;
      for (const pair of pairs) for (const s of pair) s.resume();
    },
    async close() {
      for (const pair of pairs) for (const s of pair) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
