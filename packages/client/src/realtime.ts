import {
  BINARY_FRAMES,
  decodeServerFrames,
  encodeSendFrame,
  MAX_FRAME_BYTES,
  MAX_PAYLOAD_BYTES,
  type MessageKind,
  type ServerFrame,
} from '@palisade/protocol';
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
  conversationId: string;
  clientMsgId: string;
  payload: Uint8Array;
  /** The JSON `send` frame, made on first use (a JSON connection, or fields a binary frame cannot carry). */
  json?: string;
  /** The binary `send` frame, made on first use on a binary connection. */
  binary?: Uint8Array;
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
  /**
   * Wire format of payload frames: 'binary' (default) asks the server for binary `send` and `msg`
   * frames when the socket can carry them (SocketLike.sendBinary), and falls back to JSON when the
   * server does not confirm; 'json' never asks. Control frames are JSON either way.
   */
  frames?: 'binary' | 'json';
}

const ACK_DELAY_MS = 25;
const SEND_TIMEOUT_MS = 30_000;
const utf8Length = (s: string) => new TextEncoder().encode(s).byteLength;
/** An id the binary frame can carry (as the protocol's `Id`); anything else is sent as JSON and refused there. */
const BINARY_ID = /^[A-Za-z0-9_-]{1,64}$/;

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
  /** The server confirmed binary payload frames on the current socket (in `ready`). */
  private binary = false;
  /**
   * This client asked for binary frames on the current socket: from then on it reads binary messages
   * (the server's first page may already be a batch holding `ready` and the catch-up after it).
   */
  private askedBinary = false;
  /** Settles when the socket `close()` closed has finished its closing handshake. */
  private socketGone: Promise<void> = Promise.resolve();

  constructor(
    private readonly sockets: SocketFactory,
    private readonly key: DeviceKey,
    private readonly token: () => string | undefined,
    readonly handlers: RealtimeHandlers = {},
    private readonly options: RealtimeOptions = {},
  ) {}

  /** The payload frame format of the current connection: 'binary' once the server confirmed it, else 'json'. */
  get frameFormat(): 'binary' | 'json' {
    return this.binary ? 'binary' : 'json';
  }

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
    const p: PendingSend = { conversationId, clientMsgId, payload, resolve: () => undefined, reject: () => undefined };
    // The server would refuse it (or close the socket, then refuse it again after every reconnect).
    const plainIds = BINARY_ID.test(conversationId) && BINARY_ID.test(clientMsgId);
    if (payload.byteLength > MAX_PAYLOAD_BYTES || (!plainIds && utf8Length(jsonSend(p)) > MAX_FRAME_BYTES)) {
      return Promise.reject(
        new PalisadeError({
          code: 'payload_too_large',
          message: `the message is ${payload.byteLength} bytes; at most ${MAX_PAYLOAD_BYTES} bytes fit`,
        }),
      );
    }
    return new Promise((resolve, reject) => {
      this.pending.set(clientMsgId, { ...p, resolve, reject });
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
    if (this.binary && this.socket.sendBinary && BINARY_ID.test(p.conversationId) && BINARY_ID.test(p.clientMsgId)) {
      p.binary ??= encodeSendFrame({
        ref: p.clientMsgId,
        conversationId: p.conversationId,
        clientMsgId: p.clientMsgId,
        payload: p.payload,
      });
      this.socket.sendBinary(p.binary);
    } else this.socket.send((p.json ??= jsonSend(p)));
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
    this.binary = false;
    this.askedBinary = false;
    ws.onbinary = (data) => this.onBinary(ws, data);
    ws.onmessage = (text) => this.onText(text);
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
        const signature = this.key.signChallenge(f.nonce);
        const binary = this.options.frames !== 'json' && this.socket?.sendBinary !== undefined;
        this.askedBinary = binary;
        this.socket?.send(
          JSON.stringify({ type: 'auth', token, signature, ...(binary ? { frames: BINARY_FRAMES } : {}) }),
        );
        return;
      }
      case 'ready':
        this.attempt = 0;
        // Binary only when this client asked (it did iff the socket can) and the server confirmed.
        this.binary = f.frames === BINARY_FRAMES && this.options.frames !== 'json';
        this.setState('ready');
        for (const id of [...this.pending.keys()]) this.write(id);
        this.flushAcks();
        return;
      case 'synced':
        return this.setState('synced');
      case 'msg':
        return this.onMessage({
          conversationId: f.conversationId,
          seq: f.seq,
          senderId: f.senderId,
          senderDeviceId: f.senderDeviceId,
          clientMsgId: f.clientMsgId,
          payload: fromBase64(f.payload),
          sentAt: f.sentAt,
          kind: f.kind ?? 'legacy',
        });
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

  /** A JSON text message: one server frame, or a page (an array) of them. */
  private onText(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    for (const f of Array.isArray(parsed) ? parsed : [parsed]) this.onFrame(f as ServerFrame);
  }

  /**
   * A binary message: `msg` frames (one, or a batch, with JSON frames between them as text entries)
   * on a connection that negotiated them. Anything
   * else, or a malformed one, is a broken server: reported, and the socket closed (1007) so the client
   * reconnects and resumes after its last acknowledged seq (nothing is skipped silently).
   */
  private onBinary(ws: SocketLike, data: Uint8Array): void {
    if (this.socket !== ws) return;
    const r = this.askedBinary ? decodeServerFrames(data) : undefined;
    if (!r?.ok) {
      this.handlers.error?.(
        new PalisadeError({ code: 'bad_request', message: r?.message ?? 'unexpected binary frame from the server' }),
      );
      return ws.close(1007, 'malformed binary frame');
    }
    for (const m of r.value) {
      // A JSON frame queued between two messages rides in the batch, in its place.
      if (m.type === 'text') {
        this.onText(m.text);
        continue;
      }
      const { type: _type, sentAt, ...rest } = m;
      this.onMessage({ ...rest, sentAt: new Date(sentAt).toISOString() });
    }
  }

  private onMessage(f: IncomingMessage): void {
    const last = this.delivered.get(f.conversationId) ?? 0;
    if (f.seq > last) {
      this.delivered.set(f.conversationId, f.seq);
      this.handlers.message?.(f);
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

/** The JSON `send` frame of a pending send. */
function jsonSend(p: Pick<PendingSend, 'conversationId' | 'clientMsgId' | 'payload'>): string {
  const { conversationId, clientMsgId } = p;
  return JSON.stringify({ type: 'send', ref: clientMsgId, conversationId, clientMsgId, payload: toBase64(p.payload) });
}

function chain<T>(a: (v: T) => void, b: (v: T) => void) {
  return (v: T) => {
    a(v);
    b(v);
  };
}
const chainErr = chain<Error>;
