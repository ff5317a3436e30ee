import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { loadConfig, type Config } from '../config/index.js';
import { silentLogger, type Clock, type Timers } from '../core/index.js';
import { startServer, type RunningServer } from '../server/index.js';

/** A real server in this process (real TLS on an ephemeral port), for tests that need its clock or config. */
export interface LiveServer {
  running: RunningServer;
  port: number;
  baseUrl: string;
  ca: string;
  stop(): Promise<void>;
}

/**
 * Starts `startServer` on 127.0.0.1:0 with a fresh data dir; `tune` edits the parsed config
 * (`e2ee.required` is FALSE here unless `tune` sets it, for legacy tests). Pass a
 * FakeClock as `clock` (and as `timers` for the WebSocket session deadlines to fire as it advances).
 */
export async function startLiveServer(
  tune: (c: Config) => void = () => undefined,
  opts: { clock?: Clock; timers?: Timers } = {},
): Promise<LiveServer> {
  const config = loadConfig({
    env: {
      PALISADE_DATA_DIR: mkdtempSync(join(tmpdir(), 'palisade-live-')),
      PALISADE_PORT: '0',
      PALISADE_METRICS_PORT: '0',
      PALISADE_HOST: '127.0.0.1',
    },
  });
  // Legacy tests send arbitrary payloads: end-to-end encryption is off unless `tune` turns it on.
  config.e2ee.required = false;
  tune(config);
  const running = await startServer(
    config,
    {},
    {
      log: silentLogger,
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.timers ? { timers: opts.timers } : {}),
    },
  );
  return {
    running,
    port: running.port,
    baseUrl: `https://127.0.0.1:${running.port}`,
    ca: running.tls.certPem,
    stop: () => running.close(),
  };
}

/** The raw bytes a server sent on a socket until it closed (or `timeoutMs` passed), and whether it closed. */
export interface RawExchange {
  text: string;
  closed: boolean;
  /** The TLS handshake completed. */
  secure: boolean;
}

/** Opens a TLS socket (optionally from another local address) without sending anything yet. */
export function tlsSocket(
  server: Pick<LiveServer, 'port' | 'ca'>,
  localAddress?: string,
): { socket: TLSSocket; done: (timeoutMs: number) => Promise<RawExchange>; secured: Promise<boolean> } {
  const socket = connect({
    host: '127.0.0.1',
    port: server.port,
    ca: server.ca,
    servername: 'localhost',
    ...(localAddress ? { localAddress } : {}),
  });
  let text = '';
  let closed = false;
  let secure = false;
  const closedP = new Promise<void>((r) => socket.once('close', () => ((closed = true), r())));
  const secured = new Promise<boolean>((r) => {
    socket.once('secureConnect', () => ((secure = true), r(true)));
    socket.once('close', () => r(false));
  });
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  /** Resolves when the server closes the socket, or at the deadline (then `closed` is false). */
  const done = (timeoutMs: number) =>
    new Promise<RawExchange>((resolve) => {
      const finish = () => (clearTimeout(deadline), resolve({ text, closed, secure }));
      const deadline = setTimeout(finish, timeoutMs);
      void closedP.then(finish);
    });
  return { socket, done, secured };
}

/** Sends raw bytes on a fresh TLS socket and returns what the server answered before closing. */
export async function rawExchange(
  server: Pick<LiveServer, 'port' | 'ca'>,
  bytes: string | Buffer,
  timeoutMs = 5_000,
): Promise<RawExchange> {
  const s = tlsSocket(server);
  if (await s.secured) s.socket.write(bytes);
  const r = await s.done(timeoutMs);
  s.socket.destroy();
  return r;
}

/** Splits a raw HTTP/1.1 response into status, lower-cased headers and body. */
export function parseRawResponse(text: string): { status: number; headers: Record<string, string>; body: string } {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0),
    headers,
    body: end < 0 ? '' : text.slice(end + 4),
  };
}
