import { BATCH_OVERHEAD, encodeBatch, MAX_SERVER_FRAME_BYTES } from '@palisade/protocol';

/** The part of a `ws` WebSocket the send buffer writes to. */
export interface FrameSink {
  /** Writes one WebSocket message (text for a string, binary for bytes); `done` runs once the socket has taken it (or failed). */
  send(data: string | Uint8Array, done: (err?: Error) => void): void;
}

/** What is in the open page: entries by kind, and their bytes (UTF-8 for text). */
interface PageCount {
  text: number;
  textBytes: number;
  binary: number;
  binaryBytes: number;
}

/**
 * The exact size of a page as it goes out. A page of one frame is that frame alone; a page of text
 * frames only is a JSON array `[a,b,c]` (a separator per frame, the brackets one more); a page with a
 * binary frame is a binary batch (a 4-byte header, a 4-byte length per entry, 2 more for a text entry).
 */
function pageSize(c: PageCount): number {
  const n = c.text + c.binary;
  if (n <= 1) return c.textBytes + c.binaryBytes;
  if (c.binary === 0) return c.textBytes + n + 1;
  return (
    BATCH_OVERHEAD.header +
    c.binaryBytes +
    c.binary * BATCH_OVERHEAD.perFrame +
    c.textBytes +
    c.text * BATCH_OVERHEAD.perText
  );
}

const EMPTY: PageCount = { text: 0, textBytes: 0, binary: 0, binaryBytes: 0 };

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
 * `pageBytes`, in order: text frames alone into one JSON array; once a page holds a binary `msg`
 * frame (a connection that negotiated binary frames) it goes out as one binary batch, its text frames
 * as text entries. A JSON connection's pages are exactly as before. Pages are handed to the socket only while less than `highWater`
 * bytes are in the socket's own buffer. The socket's write callbacks are the flow control: catch-up
 * waits for `whenDrained()`, live delivery checks `congested`, and `overflowing` / `stalled(now)` tell
 * the connection when to give up on a device that does not read.
 */
export class SendBuffer {
  private page: (string | Uint8Array)[] = [];
  private count: PageCount = { ...EMPTY };
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
    return pageSize(this.count) + this.queuedBytes + this.inSocket;
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
    const c = this.count;
    const next: PageCount =
      typeof data === 'string'
        ? { ...c, text: c.text + 1, textBytes: c.textBytes + bytes }
        : { ...c, binary: c.binary + 1, binaryBytes: c.binaryBytes + bytes };
    if (this.page.length > 0 && pageSize(next) > this.limits.pageBytes) {
      this.seal();
      this.pump();
      return this.push(data, bytes);
    }
    this.page.push(data);
    this.count = next;
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
    this.count = { ...EMPTY };
    this.pages.length = 0;
    this.queuedBytes = 0;
    this.inSocket = 0; // the socket's own buffer goes with the socket
    this.wake();
  }

  private seal(): void {
    if (this.page.length === 0) return;
    const c = this.count;
    const data =
      this.page.length === 1
        ? (this.page[0] as string | Uint8Array)
        : c.binary === 0
          ? `[${this.page.join(',')}]`
          : encodeBatch(this.page);
    const bytes = pageSize(c);
    this.page = [];
    this.count = { ...EMPTY };
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
