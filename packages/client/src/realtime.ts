import { MAX_FRAME_BYTES, MAX_PAYLOAD_BYTES, type MessageKind, type ServerFrame } from '@palisade/protocol';
import { fromBase64, toBase64 } from './bytes.js';
import type { DeviceKey } from './device-key.js';
import { PalisadeError } from './errors.js';
import type { SocketFactory, SocketLike } from './transport.js';

/** A message handed to the application: exactly once per (conversation, seq), in seq order. */
export interface IncomingMessage {
  conversationId: string;
  seq: number;
  senderId: string;
  senderDeviceId: string;
  clientMsgId: string;
  payload: Uint8Array;
  sentAt: string;
  /** 'mls' (application message), 'commit' (MLS handshake) or 'legacy' (before end-to-end encryption). */
  kind: MessageKind;
}

/** Connection state seen by the application. */
export type ConnectionState = 'connecting' | 'ready' | 'synced' | 'disconnected' | 'unauthenticated' | 'closed';

/** Callbacks the application may set. */
export interface RealtimeHandlers {
  message?(m: IncomingMessage): void;
  receipt?(r: Extract<ServerFrame, { type: 'receipt' }>): void;
  typing?(t: Extract<ServerFrame, { type: 'typing' }>): void;
  presence?(p: Extract<ServerFrame, { type: 'presence' }>): void;
  conversation?(c: Extract<ServerFrame, { type: 'conversation' }>): void;
  state?: (s: ConnectionState, detail?: string) => void;
  error?(e: PalisadeError): void;
  /** Every other server frame (e.g. `welcome`, `key_packages_low`), as received. */
  onFrame?(frame: ServerFrame): void;
}

interface PendingSend {
  frame: string;
  resolve: (seq: number) => void;
  reject: (e: Error) => void;
  /** Armed while the frame is on a live socket: the server must answer within the send timeout. */
  timer?: ReturnType<typeof setTimeout>;
}

/** Options of the live connection. */
export interface RealtimeOptions {
  /**
   * How long a send written to a live socket may wait for the server's `sent` (or `error`) before it
   * is rejected with code `timeout` (default 30 s). Time spent disconnected does not count: an
   * unacknowledged send is written again after a reconnect and its clock starts afresh.
   */
  sendTimeoutMs?: number;
}

const ACK_DELAY_MS = 25;
const SEND_TIMEOUT_MS = 30_000;
const utf8Length = (s: string) => new TextEncoder().encode(s).byteLength;

/**
 * The live connection: challenge-response authentication with the device key, automatic reconnect
 * with backoff, re-sending of unacknowledged messages under the same clientMsgId (the server dedupes),
 * and per-conversation de-duplication so the application sees each message once and in order.
 * A catch-up may arrive in many pages (JSON arrays, each under MAX_SERVER_FRAME_BYTES); a close with
 * 4008 (the device read too slowly) or 1001 reconnects and resumes after the last acknowledged seq.
 */
export class Realtime {
  state: ConnectionState = 'disconnected';
  /** Highest seq handed to the application, per conversation. */
  readonly delivered = new Map<string, number>();
  private socket: SocketLike | undefined;
  private readonly pending = new Map<string, PendingSend>();
  private acks = new Map<string, number>();
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private wanted = false;
  /** Settles when the socket `close()` closed has finished its closing handshake. */
  private socketGone: Promise<void> = Promise.resolve();

  constructor(
    private readonly sockets: SocketFactory,
    private readonly key: DeviceKey,
    private readonly token: () => string | undefined,
    readonly handlers: RealtimeHandlers = {},
    private readonly options: RealtimeOptions = {},
  ) {}

  /** Number of sends not yet acknowledged by the server. */
  get pendingSends(): number {
    return this.pending.size;
  }

  /** Connects and resolves once the initial catch-up is done; reconnects by itself afterwards. */
  connect(): Promise<void> {
    this.wanted = true;
    return new Promise((resolve, reject) => {
      const prev = this.handlers.state;
      this.handlers.state = (s, d) => {
        prev?.(s, d);
        if (s === 'synced') {
          this.handlers.state = prev;
          resolve();
        } else if (s === 'unauthenticated' || s === 'closed') {
          this.handlers.state = prev;
          reject(new PalisadeError({ code: 'session_invalid', message: d ?? 'connection refused' }));
        }
      };
      this.open();
    });
  }

  /**
   * Sends a message; resolves with its seq once the server has committed it. Rejects with
   * `payload_too_large` at once (nothing is sent) when the payload is over the protocol limit, with the
   * server's error for this send, with `session_invalid` when the session ends, with `network` on
   * `close()`, and with `timeout` when a live server does not answer in time.
   */
  send(conversationId: string, clientMsgId: string, payload: Uint8Array): Promise<number> {
    const existing = this.pending.get(clientMsgId);
    if (existing)
      return new Promise((res, rej) =>
        this.pending.set(clientMsgId, {
          ...existing,
          resolve: chain(existing.resolve, res),
          reject: chainErr(existing.reject, rej),
        }),
      );
    const frame = JSON.stringify({
      type: 'send',
      ref: clientMsgId,
      conversationId,
      clientMsgId,
      payload: toBase64(payload),
    });
    // The server would refuse it (or close the socket, then refuse it again after every reconnect).
    if (payload.byteLength > MAX_PAYLOAD_BYTES || utf8Length(frame) > MAX_FRAME_BYTES) {
      return Promise.reject(
        new PalisadeError({
          code: 'payload_too_large',
          message: `the message is ${payload.byteLength} bytes; at most ${MAX_PAYLOAD_BYTES} bytes fit`,
        }),
      );
    }
    return new Promise((resolve, reject) => {
      this.pending.set(clientMsgId, { frame, resolve, reject });
      if (this.state === 'ready' || this.state === 'synced') this.write(clientMsgId);
    });
  }

  /** Writes a pending send to the socket and starts its answer clock. */
  private write(clientMsgId: string): void {
    const p = this.pending.get(clientMsgId);
    if (!p || !this.socket) return;
    clearTimeout(p.timer);
    const ms = this.options.sendTimeoutMs ?? SEND_TIMEOUT_MS;
    p.timer = setTimeout(
      () =>
        this.settle(
          clientMsgId,
          new PalisadeError({
            code: 'timeout',
            message: `the server did not confirm the message within ${Math.round(ms / 1000)} s; it may or may not have arrived`,
          }),
        ),
      ms,
    );
    this.socket.send(p.frame);
  }

  /** Ends a pending send with an error. */
  private settle(clientMsgId: string, err: Error): void {
    const p = this.pending.get(clientMsgId);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(clientMsgId);
    p.reject(err);
  }

  private settleAll(err: () => Error): void {
    for (const id of [...this.pending.keys()]) this.settle(id, err());
  }

  /** Sends any frame if connected (typing, read). Returns false when offline. */
  sendFrame(frame: object): boolean {
    if (this.state !== 'ready' && this.state !== 'synced') return false;
    this.socket?.send(JSON.stringify(frame));
    return true;
  }

  /** Closes for good (no reconnect). Unacknowledged sends are rejected. */
  close(): void {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.flushAcks();
    const ws = this.socket;
    if (ws)
      this.socketGone = new Promise((resolve) => {
        const before = ws.onclose;
        ws.onclose = (code, reason) => {
          before?.(code, reason);
          resolve();
        };
      });
    ws?.close(1000, 'bye');
    this.setState('closed');
    this.settleAll(
      () => new PalisadeError({ code: 'network', message: 'client closed before the server acknowledged' }),
    );
  }

  /**
   * Resolves once the socket ended by `close()` has finished its closing handshake, or after `maxMs`.
   * A process that exits right after `close()` cuts the socket before its close frame is answered,
   * and the server then records an abnormal end (1006) instead of 1000.
   */
  async closed(maxMs = 1000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([this.socketGone, new Promise<void>((r) => (timer = setTimeout(r, maxMs)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  private setState(s: ConnectionState, detail?: string): void {
    this.state = s;
    this.handlers.state?.(s, detail);
  }

  private open(): void {
    this.setState('connecting');
    const ws = this.sockets.open('/v1/ws');
    this.socket = ws;
    ws.onmessage = (text) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return;
      }
      for (const f of Array.isArray(parsed) ? parsed : [parsed]) this.onFrame(f as ServerFrame);
    };
    ws.onclose = (code, reason) => {
      if (this.socket !== ws) return;
      this.socket = undefined;
      // Off the wire: the answer clocks stop; unacknowledged sends are written again after a reconnect.
      for (const p of this.pending.values()) clearTimeout(p.timer);
      if (code === 4401) {
        this.wanted = false;
        this.setState('unauthenticated', reason);
        // No reconnect will come: nothing left pending may wait for one.
        return this.settleAll(
          () => new PalisadeError({ code: 'session_invalid', message: reason || 'the session ended' }),
        );
      }
      if (!this.wanted) return;
      this.setState('disconnected', reason);
      const delay = Math.min(5000, 100 * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
      this.retryTimer = setTimeout(() => this.wanted && this.open(), delay);
    };
  }

  private onFrame(f: ServerFrame): void {
    switch (f.type) {
      case 'challenge': {
        const token = this.token();
        if (!token) return this.socket?.close(1000, 'no session');
        this.socket?.send(JSON.stringify({ type: 'auth', token, signature: this.key.signChallenge(f.nonce) }));
        return;
      }
      case 'ready':
        this.attempt = 0;
        this.setState('ready');
        for (const id of [...this.pending.keys()]) this.write(id);
        this.flushAcks();
        return;
      case 'synced':
        return this.setState('synced');
      case 'msg':
        return this.onMessage(f);
      case 'sent': {
        const p = this.pending.get(f.clientMsgId);
        if (p) {
          clearTimeout(p.timer);
          this.pending.delete(f.clientMsgId);
          p.resolve(f.seq);
        }
        return;
      }
      case 'error': {
        const err = new PalisadeError(f);
        // An error for one send carries its ref; one without a ref goes to the handler, and any send
        // it may have concerned still ends by its answer clock (never hangs).
        if (f.ref !== undefined && this.pending.has(f.ref) && f.code !== 'shutting_down')
          return this.settle(f.ref, err);
        return this.handlers.error?.(err);
      }
      case 'receipt':
        return this.handlers.receipt?.(f);
      case 'typing':
        return this.handlers.typing?.(f);
      case 'presence':
        return this.handlers.presence?.(f);
      case 'conversation':
        return this.handlers.conversation?.(f);
      default:
        return this.handlers.onFrame?.(f);
    }
  }

  private onMessage(f: Extract<ServerFrame, { type: 'msg' }>): void {
    const last = this.delivered.get(f.conversationId) ?? 0;
    if (f.seq > last) {
      this.delivered.set(f.conversationId, f.seq);
      this.handlers.message?.({
        conversationId: f.conversationId,
        seq: f.seq,
        senderId: f.senderId,
        senderDeviceId: f.senderDeviceId,
        clientMsgId: f.clientMsgId,
        payload: fromBase64(f.payload),
        sentAt: f.sentAt,
        kind: f.kind ?? 'legacy',
      });
    }
    // Acknowledge (coalesced) so the server resumes after this point on the next connection.
    this.acks.set(f.conversationId, Math.max(this.acks.get(f.conversationId) ?? 0, f.seq));
    this.ackTimer ??= setTimeout(() => this.flushAcks(), ACK_DELAY_MS);
  }

  private flushAcks(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.state !== 'ready' && this.state !== 'synced') return;
    for (const [conversationId, seq] of this.acks)
      this.socket?.send(JSON.stringify({ type: 'ack', conversationId, seq }));
    this.acks.clear();
  }
}

function chain<T>(a: (v: T) => void, b: (v: T) => void) {
  return (v: T) => {
    a(v);
    b(v);
  };
}
const chainErr = chain<Error>;
