import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { MAX_FRAME_BYTES } from '@palisade/protocol';
import { WebSocketServer } from 'ws';
import { DRILL_HEADER, DRILL_SOURCE_HEADER, readDrillMark, type DrillMark } from '../core/index.js';
import { Connection } from './connection.js';
import type { RealtimeDeps } from './deps.js';
import { CLOSE, toUpgradeRefusal } from './frame-errors.js';
import { Hub } from './hub.js';

/** The WebSocket endpoint path. */
export const WS_PATH = '/v1/ws';

/**
 * Accepts WebSocket upgrades on the HTTPS server: checks path, Origin and rate limits before the
 * handshake, then hands each socket to a Connection that authenticates in its first frame.
 */
export class Gateway {
  readonly hub: Hub;
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
  });

  constructor(private readonly deps: RealtimeDeps) {
    this.hub = new Hub(deps);
  }

  /** Handles an HTTP upgrade request. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // SECURITY: X-Forwarded-For counts only from a configured trusted proxy (server.trustProxy).
    let address = this.deps.clientAddress?.(req) ?? req.socket.remoteAddress ?? 'unknown';
    const reject = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    // SECURITY: drill headers count only with a live drill's token; a drill source must be TEST-NET.
    let mark: DrillMark | undefined;
    try {
      mark = readDrillMark(
        this.deps.drills,
        req.headers[DRILL_HEADER],
        req.headers[DRILL_SOURCE_HEADER],
        req.socket.remoteAddress ?? '',
      );
    } catch {
      return reject(400, 'Bad Request');
    }
    if (mark?.address !== undefined) address = mark.address;
    if (this.hub.draining) return reject(503, 'Service Unavailable');
    // SECURITY: an address or network that automatic response blocked gets no socket.
    if (this.deps.auth.blocks?.isBlocked(address)) return reject(403, 'Forbidden');
    const path = (req.url ?? '').split('?')[0];
    if (path !== WS_PATH) return reject(404, 'Not Found');
    // SECURITY (ASVS 4.4.2): browsers send Origin; it must be on the allowlist. Native clients send none.
    const origin = req.headers.origin;
    if (origin !== undefined && !this.deps.allowedOrigins.includes(origin)) return reject(403, 'Forbidden');
    try {
      this.deps.auth.limiter.check('connect.address', address);
    } catch (e) {
      const refusal = toUpgradeRefusal(e, this.deps.log);
      return reject(refusal.status, refusal.text);
    }
    // SECURITY (S8): until it authenticates, the socket counts against its address's connection cap.
    this.wss.handleUpgrade(
      req,
      socket,
      head,
      (ws) =>
        new Connection(ws, this.deps, this.hub, address, () => this.deps.connectionSlots?.release(socket), mark?.drill),
    );
  }

  /** Stops new work, waits up to `graceMs` for in-flight operations, then closes every socket with 1001. */
  async drain(graceMs: number): Promise<void> {
    this.hub.draining = true;
    const until = performance.now() + graceMs;
    while (this.hub.inflight > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
    for (const c of [...this.hub.connections()]) c.close(CLOSE.goingAway, 'server shutting down');
    this.hub.close();
  }
}
