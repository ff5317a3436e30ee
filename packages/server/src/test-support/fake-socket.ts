import { EventEmitter } from 'node:events';
import type WebSocket from 'ws';

/**
 * A stand-in for a `ws` WebSocket on the server side: records every message the server writes and
 * holds the write callbacks while "not reading", as a socket whose kernel buffers are full does.
 */
export class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  /** Every WebSocket message the server wrote, in order. */
  readonly messages: string[] = [];
  closed: { code: number; reason: string } | undefined;
  terminated = false;
  private reading = true;
  private held: (() => void)[] = [];

  /** The socket as the server code types it. */
  get ws(): WebSocket {
    return this as unknown as WebSocket;
  }

  send(data: string, done?: (err?: Error) => void): void {
    this.messages.push(data);
    if (!done) return;
    if (this.reading) setImmediate(() => done());
    else this.held.push(() => done());
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = { code, reason };
    this.readyState = 3;
    setImmediate(() => this.emit('close', code, Buffer.from(reason)));
  }

  terminate(): void {
    this.terminated = true;
  }

  /** The peer stops reading: writes are not taken any more. */
  pause(): void {
    this.reading = false;
  }

  /** The peer reads again: everything held is taken. */
  resume(): void {
    this.reading = true;
    const h = this.held;
    this.held = [];
    for (const f of h) f();
  }

  /** Bytes written and not yet taken by the peer. */
  get unread(): number {
    return this.held.length === 0
      ? 0
      : this.messages.slice(-this.held.length).reduce((n, m) => n + Buffer.byteLength(m), 0);
  }

  /** The frames the server sent, with arrays (pages) unpacked. */
  frames(): Record<string, unknown>[] {
    return this.messages.flatMap((m) => {
      const v = JSON.parse(m) as Record<string, unknown> | Record<string, unknown>[];
      return Array.isArray(v) ? v : [v];
    });
  }

  /** The client sends a frame. */
  clientSends(frame: object): void {
    this.emit('message', Buffer.from(JSON.stringify(frame)), false);
  }
}
