import { MAX_SERVER_FRAME_BYTES } from '@palisade/protocol';

/** The part of a `ws` WebSocket the send buffer writes to. */
export interface FrameSink {
  /** Writes one WebSocket message; `done` runs once the socket has taken the bytes (or failed). */
  send(data: string, done: (err?: Error) => void): void;
}

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
 * One connection's outgoing frames: frames pushed in the same tick are packed into pages (one JSON
 * array under `pageBytes`), and pages are handed to the socket only while less than `highWater`
 * bytes are in the socket's own buffer. The socket's write callbacks are the flow control: catch-up
 * waits for `whenDrained()`, live delivery checks `congested`, and `overflowing` / `stalled(now)` tell
 * the connection when to give up on a device that does not read.
 */
export class SendBuffer {
  private page: string[] = [];
  private pageBytes = 0;
  private readonly pages: { text: string; bytes: number }[] = [];
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
   * Queues one serialised frame of `bytes` UTF-8 bytes (at most `pageBytes - 2`, the caller checks).
   * It goes out in the current page, at the latest on the next turn of the event loop.
   */
  push(text: string, bytes: number): void {
    if (this.closed) return;
    // A page is `[a,b,c]`: each frame costs its bytes plus one separator, the brackets two more.
    if (this.page.length > 0 && this.pageBytes + bytes + 2 > this.limits.pageBytes) {
      this.seal();
      this.pump();
    }
    this.page.push(text);
    this.pageBytes += bytes + 1;
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
    const text = this.page.length === 1 ? (this.page[0] as string) : `[${this.page.join(',')}]`;
    const bytes = this.page.length === 1 ? this.pageBytes - 1 : this.pageBytes + 1;
    this.page = [];
    this.pageBytes = 0;
    this.pages.push({ text, bytes });
    this.queuedBytes += bytes;
  }

  private pump(): void {
    while (!this.closed && this.pages.length > 0 && this.inSocket < this.limits.highWater) {
      const p = this.pages.shift() as { text: string; bytes: number };
      this.queuedBytes -= p.bytes;
      if (this.inSocket === 0) this.lastProgressAt = this.now();
      this.inSocket += p.bytes;
      this.pagesSent++;
      this.sink.send(p.text, () => this.taken(p.bytes));
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
