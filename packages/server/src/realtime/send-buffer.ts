import { BATCH_OVERHEAD, encodeBatch, MAX_SERVER_FRAME_BYTES } from '@palisade/protocol';

/** The part of a `ws` WebSocket the send buffer writes to. */
export interface FrameSink {
  /** Writes one WebSocket message (text for a string, binary for bytes); `done` runs once the socket has taken it (or failed). */
  send(data: string | Uint8Array, done: (err?: Error) => void): void;
}

/**
 * What a page costs beyond its frames: a JSON page is `[a,b,c]` (a separator per frame, the brackets
 * one more); a binary page is a batch frame (a 4-byte length per frame, a 4-byte header). A page of
 * one frame is that frame alone.
 */
const OVERHEAD = {
  text: { perFrame: 1, page: 1 },
  binary: { perFrame: BATCH_OVERHEAD.perFrame, page: BATCH_OVERHEAD.header },
} as const;

/** The bounds of one connection's send buffer, in bytes and milliseconds. */
export interface SendLimits {
  /** Largest WebSocket message (a page of frames). */
  pageBytes: number;
  /** Above this many unsent bytes the connection is congested: live messages wait in the store. */
  highWater: number;
  /** Catch-up reads its next page only once the buffer is back under this. */
  lowWater: number;
  /** Past this many unsent bytes the connection is closed (4008): the device resumes from its cursor. */
  hardCap: number;
  /** Congested with no byte taken by the socket for this long: closed (4008). */
  stallMs: number;
}

/** The defaults: about 1 MiB per connection in the steady state, 8 MiB at most. */
export const SEND_LIMITS: SendLimits = {
  pageBytes: MAX_SERVER_FRAME_BYTES,
  highWater: 1024 * 1024,
  lowWater: 256 * 1024,
  hardCap: 8 * 1024 * 1024,
  stallMs: 60_000,
};

/**
 * One connection's outgoing frames: frames pushed in the same tick are packed into pages under
 * `pageBytes` (consecutive text frames into one JSON array, consecutive binary frames into one binary
 * batch; a change of kind starts a new page, so the order is kept), and pages are handed to the socket only while less than `highWater`
 * bytes are in the socket's own buffer. The socket's write callbacks are the flow control: catch-up
 * waits for `whenDrained()`, live delivery checks `congested`, and `overflowing` / `stalled(now)` tell
 * the connection when to give up on a device that does not read.
 */
export class SendBuffer {
  private page: (string | Uint8Array)[] = [];
  private pageKind: 'text' | 'binary' = 'text';
  private pageBytes = 0;
  private readonly pages: { data: string | Uint8Array; bytes: number }[] = [];
  private queuedBytes = 0;
  private inSocket = 0;
  private scheduled = false;
  private closed = false;
  private waiters: (() => void)[] = [];
  private lastProgressAt: number;
  /** Pages handed to the socket so far (for tests and metrics). */
  pagesSent = 0;

  constructor(
    private readonly sink: FrameSink,
    private readonly now: () => number,
    readonly limits: SendLimits = SEND_LIMITS,
  ) {
    this.lastProgressAt = now();
  }

  /** Bytes pushed and not yet taken by the socket. */
  get buffered(): number {
    return this.pageBytes + this.queuedBytes + this.inSocket;
  }

  /** Above the high-water mark: stop pushing live messages, read them from the store later. */
  get congested(): boolean {
    return this.buffered >= this.limits.highWater;
  }

  /** Past the hard cap: the connection should close. */
  get overflowing(): boolean {
    return this.buffered > this.limits.hardCap;
  }

  /** Congested and the socket has taken nothing for `stallMs`. */
  stalled(now: number): boolean {
    return this.congested && now - this.lastProgressAt >= this.limits.stallMs;
  }

  /**
   * Queues one serialised frame: text of `bytes` UTF-8 bytes, or binary (a `msg` frame) of `bytes`
   * bytes (at most `pageBytes - 8`, the caller checks). The same string or bytes may be pushed to many
   * buffers: nothing here changes them. It goes out in the current page, at the latest on the next turn
   * of the event loop.
   */
  push(data: string | Uint8Array, bytes: number): void {
    if (this.closed) return;
    const kind = typeof data === 'string' ? 'text' : 'binary';
    const o = OVERHEAD[kind];
    if (
      this.page.length > 0 &&
      (kind !== this.pageKind || this.pageBytes + bytes + o.perFrame + o.page > this.limits.pageBytes)
    ) {
      this.seal();
      this.pump();
    }
    this.pageKind = kind;
    this.page.push(data);
    this.pageBytes += bytes + o.perFrame;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends the current page now (as far as the high-water mark allows). */
  flush(): void {
    this.scheduled = false;
    this.seal();
    this.pump();
  }

  /** Resolves once the buffer is under the low-water mark (at once when it is), or when closed. */
  whenDrained(): Promise<void> {
    if (this.closed || this.buffered <= this.limits.lowWater) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Drops everything still queued and releases the waiters (the connection is gone). */
  close(): void {
    this.closed = true;
    this.page = [];
    this.pageBytes = 0;
    this.pages.length = 0;
    this.queuedBytes = 0;
    this.inSocket = 0; // the socket's own buffer goes with the socket
    this.wake();
  }

  private seal(): void {
    if (this.page.length === 0) return;
    const o = OVERHEAD[this.pageKind];
    const one = this.page.length === 1;
    const data = one
      ? (this.page[0] as string | Uint8Array)
      : this.pageKind === 'text'
        ? `[${this.page.join(',')}]`
        : encodeBatch(this.page as Uint8Array[]);
    const bytes = one ? this.pageBytes - o.perFrame : this.pageBytes + o.page;
    this.page = [];
    this.pageBytes = 0;
    this.pages.push({ data, bytes });
    this.queuedBytes += bytes;
  }

  private pump(): void {
    while (!this.closed && this.pages.length > 0 && this.inSocket < this.limits.highWater) {
      const p = this.pages.shift() as { data: string | Uint8Array; bytes: number };
      this.queuedBytes -= p.bytes;
      if (this.inSocket === 0) this.lastProgressAt = this.now();
      this.inSocket += p.bytes;
      this.pagesSent++;
      this.sink.send(p.data, () => this.taken(p.bytes));
    }
  }

  private taken(bytes: number): void {
    if (this.closed) return;
    this.inSocket -= bytes;
    this.lastProgressAt = this.now();
    this.pump();
    if (this.buffered <= this.limits.lowWater) this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}
