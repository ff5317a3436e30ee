import type { Server } from 'node:net';
import type { Socket } from 'node:net';

const SLOT = Symbol('palisade.addressSlot');
type Counted = Socket & { [SLOT]?: string };

/**
 * Caps concurrent connections per remote address (S8). Counted at TCP accept, before any TLS work,
 * and released when the socket closes, or earlier through `release` (a WebSocket that has
 * authenticated no longer counts: the cap is for HTTP and unauthenticated sockets).
 * SECURITY: a connection over the cap is destroyed at once; it costs no TLS handshake.
 */
export class AddressConnectionCap {
  private readonly open = new Map<string, number>();

  constructor(private readonly maxPerAddress: number) {}

  /** Connections currently counted for `address`. */
  count(address: string): number {
    return this.open.get(address) ?? 0;
  }

  /** Starts counting on `server` (prepended, so it runs before the TLS listener). */
  attach(server: Server): void {
    server.prependListener('connection', (socket: Socket) => this.admit(socket));
  }

  private admit(socket: Counted): void {
    const address = socket.remoteAddress ?? 'unknown';
    const n = this.count(address);
    if (n >= this.maxPerAddress) {
      socket.destroy();
      return;
    }
    this.open.set(address, n + 1);
    socket[SLOT] = address;
    socket.once('close', () => this.releaseRaw(socket));
  }

  /** Stops counting a connection (given the TLS socket or the raw one); idempotent. */
  release(socket: unknown): void {
    const s = socket as Counted & { _parent?: Counted };
    // A TLS socket wraps the accepted TCP socket (Node keeps it as `_parent`).
    this.releaseRaw(s[SLOT] !== undefined ? s : s._parent);
  }

  private releaseRaw(socket: Counted | undefined): void {
    const address = socket?.[SLOT];
    if (socket === undefined || address === undefined) return;
    socket[SLOT] = undefined;
    const n = this.count(address) - 1;
    if (n <= 0) this.open.delete(address);
    else this.open.set(address, n);
  }
}
