import { EventEmitter } from 'node:events';
import { decodeServerFrames } from '@palisade/protocol';
import type WebSocket from 'ws';

/**
 * A stand-in for a `ws` WebSocket on the server side: records every message the server writes and
 * holds the write callbacks while "not reading", as a socket whose kernel buffers are full does.
 */
export class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  /** Every WebSocket message the server wrote, in order (bytes for a binary message). */
  readonly messages: (string | Uint8Array)[] = [];
  closed: { code: number; reason: string } | undefined;
  terminated = false;
  private reading = true;
  private held: (() => void)[] = [];

  /** The socket as the server code types it. */
  get ws(): WebSocket {
    return this as unknown as WebSocket;
  }

  send(data: string | Uint8Array, done?: (err?: Error) => void): void {
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

  /**
   * The frames the server sent, with arrays (pages) and binary batches unpacked. A binary `msg` frame
   * reads as its JSON twin (payload base64, sentAt ISO 8601) with `binary: true`.
   */
  frames(): Record<string, unknown>[] {
    return this.messages.flatMap((m) => {
      if (typeof m !== 'string') {
        const r = decodeServerFrames(m);
        if (!r.ok) throw new Error(`the server sent a malformed binary frame: ${r.code}`);
        return r.value.map((f) =>
          f.type === 'text'
            ? (JSON.parse(f.text) as Record<string, unknown>)
            : {
                ...f,
                payload: Buffer.from(f.payload).toString('base64'),
                sentAt: new Date(f.sentAt).toISOString(),
                binary: true,
              },
        );
      }
      const v = JSON.parse(m) as Record<string, unknown> | Record<string, unknown>[];
      return Array.isArray(v) ? v : [v];
    });
  }

  /** The client sends a frame. */
  clientSends(frame: object): void {
    this.emit('message', Buffer.from(JSON.stringify(frame)), false);
  }

  /** The client sends a binary WebSocket message. */
  clientSendsBinary(bytes: Uint8Array): void {
    this.emit('message', Buffer.from(bytes), true);
  }
}
