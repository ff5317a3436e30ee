import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { SocketFactory, SocketLike } from '@palisade/client';
import WebSocket from 'ws';

/**
 * A socket factory for the SDK that records the size of every WebSocket message the server sends
 * and can pause the raw TLS socket (a device that stops reading). Accepts messages of any size so
 * that an oversized frame is measured, not refused.
 */
export interface TracedSockets extends SocketFactory {
  /** Byte length of every message received, in order, over all connections. */
  readonly frameBytes: number[];
  /** Close codes seen, in order. */
  readonly closeCodes: number[];
  /** Stops reading the current connection's TLS socket (the kernel buffers fill, then the server's). */
  pause(): void;
  /** Reads again. */
  resume(): void;
}

/** Builds a traced socket factory trusting `ca`. */
export function tracedSockets(server: { baseUrl: string; ca: string }): TracedSockets {
  const base = new URL(server.baseUrl);
  let current: WebSocket | undefined;
  const raw = () => (current as unknown as { _socket?: Duplex } | undefined)?._socket;
  const t: TracedSockets = {
    frameBytes: [],
    closeCodes: [],
    pause: () => raw()?.pause(),
    resume: () => raw()?.resume(),
    open(path) {
      const ws = new WebSocket(`wss://${base.host}${path}`, {
        ca: server.ca,
        perMessageDeflate: false,
        maxPayload: 1024 * 1024 * 1024,
      });
      current = ws;
      const s: SocketLike = {
        send: (x) => ws.send(x),
        close: (c, r) => ws.close(c, r),
        onopen: null,
        onmessage: null,
        onclose: null,
      };
      ws.on('open', () => s.onopen?.());
      ws.on('message', (d: Buffer) => {
        t.frameBytes.push(d.length);
        s.onmessage?.(d.toString());
      });
      ws.on('close', (code, reason) => {
        t.closeCodes.push(code);
        s.onclose?.(code, reason.toString());
      });
      ws.on('error', () => undefined);
      return s;
    },
  };
  return t;
}

/** A process's resident set size in bytes (Linux `/proc/PID/status` VmRSS). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}
