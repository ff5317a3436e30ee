import type { ClientFrame, ServerFrame } from '@palisade/protocol';
import {
  BINARY_FRAMES,
  decodeSendFrame,
  MAX_PAYLOAD_BYTES,
  MAX_SERVER_FRAME_BYTES,
  parseClientFrame,
  recoverBinaryRef,
  recoverFrameRef,
} from '@palisade/protocol';
import type WebSocket from 'ws';
import { authenticateToken, newChallenge, touchSession, verifyDeviceProof } from '../auth/index.js';
import { AppError, isAppError, systemTimers, withRequestContext, type Principal, type Timers } from '../core/index.js';
import {
  acknowledgeDelivery,
  deviceCursors,
  markRead,
  readRange,
  sendMessage,
  type StoredMessage,
} from '../messaging/index.js';
import { recordProofFailure, signalConnectionOpened } from './connect-records.js';
import type { RealtimeDeps } from './deps.js';
import { CLOSE, toErrorFrame } from './frame-errors.js';
import type { Hub } from './hub.js';
import { MessageFrames, type FrameFormat } from './message-frames.js';
import type { Peer } from './peer.js';
import { SEND_LIMITS, SendBuffer } from './send-buffer.js';

/** Most messages one catch-up read takes from the store. */
const FILL_BATCH = 200;
/** A catch-up read aims at about this many payload bytes (fewer messages when they are large), at most a quarter of the hard cap. */
const FILL_READ_BYTES = 1024 * 1024;
/** After a 4008 close, a peer that does not read the close frame is cut off after this long. */
const TERMINATE_AFTER_MS = 5_000;
const ACK_FLUSH_MS = 20;
/** Record user activity on the session at most this often. */
const TOUCH_EVERY_MS = 60_000;
/** Frames a person causes (they count as session activity); `ping` and `ack` are automatic and do not. */
const ACTIVITY_FRAMES = new Set<string>(['send', 'read', 'typing']);

/** A send from either format: the payload as bytes. */
interface SendInput {
  ref?: string;
  conversationId: string;
  clientMsgId: string;
  payload: Uint8Array;
}

/**
 * One WebSocket connection: the challenge-response handshake, frame dispatch, and in-order,
 * once-only delivery per conversation. `cursors` holds the highest seq sent on this socket; a gap or
 * an unknown conversation is filled from the store, so the database stays the source of truth.
 */
export class Connection implements Peer {
  principal: Principal | undefined;
  readonly cursors = new Map<string, number>();
  private nonce: string = newChallenge();
  private state: 'challenge' | 'syncing' | 'ready' | 'closed' = 'challenge';
  /** The format of `msg` frames to this device, and whether it may send binary `send` frames (negotiated in `auth`). */
  private format: FrameFormat = 'json';
  private readonly pending = new Set<string>();
  private active: string | undefined;
  private filling = false;
  private readonly out: SendBuffer;
  private acks: Map<string, number> | undefined;
  /** Cancels the pending deadline: the authentication timeout, then the session-expiry timer. */
  private cancelDeadline: () => void = () => undefined;
  private readonly timers: Timers;
  private expiresAt = 0;
  private touchedAt = 0;
  // For the session's log line: when it opened, frames each way, and the close code.
  private readonly openedAt = performance.now();
  private framesIn = 0;
  private framesOut = 0;
  private closeCode: number | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: RealtimeDeps,
    private readonly hub: Hub,
    private readonly address: string,
    private readonly onAuthenticated: () => void = () => undefined,
    /** Set when the upgrade carried a live drill's token: every frame is handled as drill traffic. */
    private readonly drill?: string,
  ) {
    this.out = new SendBuffer(
      { send: (data, done) => ws.send(data, done) },
      deps.monotonicNow ?? (() => performance.now()),
      deps.sendLimits ?? SEND_LIMITS,
    );
    this.timers = deps.timers ?? systemTimers;
    this.cancelDeadline = this.timers.setTimeout(
      () => this.close(CLOSE.authTimeout, 'authenticate in time'),
      deps.authTimeoutMs ?? 10_000,
    );
    // Frames arrive on the socket's own async context: re-enter the drill's for each one.
    ws.on('message', (data, isBinary) =>
      drill === undefined
        ? void this.onFrame(data as Buffer, isBinary)
        : withRequestContext({ drill }, () => void this.onFrame(data as Buffer, isBinary)),
    );
    ws.on('close', (code: number) => ((this.closeCode ??= code), this.onClosed()));
    ws.on('error', () => undefined);
    this.push({ type: 'challenge', nonce: this.nonce });
  }

  /**
   * Queues a frame; frames queued in the same tick go out as one JSON array, in pages under
   * MAX_SERVER_FRAME_BYTES. Past the send buffer's hard cap the connection closes (4008).
   */
  push(frame: ServerFrame | string): void {
    if (this.state === 'closed') return;
    let text = typeof frame === 'string' ? frame : JSON.stringify(frame);
    let bytes = Buffer.byteLength(text);
    if (bytes > MAX_SERVER_FRAME_BYTES - 2) {
      // Only an error frame with very long details can get here (a msg frame is at most about 88 KiB).
      this.deps.log.error({ bytes }, 'a server frame exceeded the frame size bound; sent without details');
      const f = JSON.parse(text) as { type?: string; ref?: string };
      text = JSON.stringify({
        type: 'error',
        code: 'internal',
        message: 'a reply was too large to send',
        ...(f.type === 'error' && f.ref !== undefined ? { ref: f.ref } : {}),
      });
      bytes = Buffer.byteLength(text);
    }
    this.pushEncoded(text, bytes);
  }

  /** Queues a serialised frame (text, or a binary `msg` frame of at most about 64 KiB) of `bytes` bytes. */
  private pushEncoded(data: string | Uint8Array, bytes: number): void {
    if (this.state === 'closed') return;
    this.out.push(data, bytes);
    this.framesOut++;
    if (this.out.overflowing) this.tooSlow('send buffer full');
  }

  /** Queues a message's `msg` frame in this connection's format (serialised once per fan-out and format). */
  private pushMessage(m: MessageFrames): void {
    const e = m.encoded(this.format);
    this.pushEncoded(e.data, e.bytes);
  }

  /** Closes the socket with a code; pending frames are flushed first. */
  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.out.flush();
    this.closeCode ??= code;
    this.ws.close(code, reason);
    this.onClosed();
  }

  /** Periodic check (from the hub): a congested socket that took no byte for `stallMs` is closed. */
  sweep(now: number): void {
    if (this.state !== 'closed' && this.out.stalled(now)) this.tooSlow('not reading');
  }

  /** Bytes queued for this socket and not yet taken by it. */
  get buffered(): number {
    return this.out.buffered;
  }

  /**
   * The device does not read fast enough: close with 4008. Nothing is lost: unacknowledged messages
   * stay in the store and the device resumes from its cursor when it reconnects.
   */
  private tooSlow(reason: string): void {
    if (this.state === 'closed') return;
    this.deps.log.warn(
      { reason, buffered: this.out.buffered },
      'closing a slow WebSocket (4008); the device resumes from its cursor',
    );
    this.close(CLOSE.tooSlow, 'too slow; reconnect and resume');
    // A peer that does not read will not answer the close frame either.
    setTimeout(() => this.ws.terminate(), TERMINATE_AFTER_MS).unref();
  }

  private onClosed(): void {
    if (this.state === 'closed') return;
    const wasAuthenticated = this.state !== 'challenge';
    this.state = 'closed';
    this.cancelDeadline();
    this.out.close();
    if (wasAuthenticated) {
      this.hub.unregister(this);
      this.deps.metrics?.webSocketOpen(-1);
    }
    this.flushAcks();
    // The session's access-log line. SECURITY: ids and counts only; never the token or a payload.
    const p = this.principal;
    this.deps.log.info(
      {
        event: 'ws.session',
        principal: p?.userId ?? null,
        device: p?.deviceId ?? null,
        ms: Math.round(performance.now() - this.openedAt),
        framesIn: this.framesIn,
        framesOut: this.framesOut,
        code: this.closeCode ?? null,
      },
      'websocket session ended',
    );
  }

  /** Hands a committed message (or only its seq) to this connection. */
  deliver(conversationId: string, seq: number, message?: MessageFrames): void {
    if (this.state === 'closed' || this.state === 'challenge') return;
    const sent = this.cursors.get(conversationId);
    if (sent !== undefined && seq <= sent) return;
    // A congested socket gets no more live messages: they wait in the store and `fill` reads them
    // from the cursor once the socket drains.
    const busy =
      this.state === 'syncing' ||
      this.active === conversationId ||
      this.pending.has(conversationId) ||
      this.out.congested;
    if (!busy && sent !== undefined && seq === sent + 1 && message) {
      this.cursors.set(conversationId, seq);
      this.pushMessage(message);
      this.deps.metrics?.messageDelivered('live');
      this.deps.metrics?.deliveryLatency((this.deps.auth.clock.now() - message.message.sentAt) / 1000);
      return;
    }
    this.pending.add(conversationId);
    if (this.state === 'ready') void this.fill();
  }

  /** The user joined a conversation: start delivering it from their join point. */
  joined(conversationId: string): void {
    this.push({ type: 'conversation', conversationId, change: 'joined' });
    this.deliver(conversationId, Number.MAX_SAFE_INTEGER);
  }

  /** The user left a conversation: stop delivering it at once. */
  left(conversationId: string): void {
    this.cursors.delete(conversationId);
    this.pending.delete(conversationId);
    this.push({ type: 'conversation', conversationId, change: 'left' });
  }

  private async fill(): Promise<void> {
    if (this.filling) return;
    this.filling = true;
    try {
      while (this.pending.size > 0 && this.state === 'ready') {
        const conversationId = this.pending.values().next().value as string;
        this.pending.delete(conversationId);
        this.active = conversationId;
        let after = this.cursors.get(conversationId);
        if (after === undefined) {
          const c = (await deviceCursors(this.deps.messaging, this.principal as Principal)).find(
            (x) => x.conversationId === conversationId,
          );
          if (!c) continue; // SECURITY: not a member (any more): deliver nothing.
          after = c.deliveredSeq;
          this.cursors.set(conversationId, after);
        }
        // Start small enough that even the largest payloads fit the budget, then adapt to the sizes seen.
        const budget = Math.min(FILL_READ_BYTES, this.out.limits.hardCap / 4);
        let limit = Math.max(1, Math.floor(budget / MAX_PAYLOAD_BYTES));
        for (;;) {
          // Flow control: the next page is read only once the socket has taken the previous ones.
          await this.out.whenDrained();
          if (this.state !== 'ready' || !this.cursors.has(conversationId)) break;
          const batch = await readRange(this.deps.messaging, conversationId, after, limit);
          // The user may have left while we read: deliver nothing more.
          if (this.state !== 'ready' || !this.cursors.has(conversationId)) break;
          let bytes = 0;
          for (const m of batch) {
            bytes += m.payload.length;
            this.pushMessage(new MessageFrames(m));
          }
          for (let i = 0; i < batch.length; i++) this.deps.metrics?.messageDelivered('catchup');
          if (batch.length > 0) after = (batch[batch.length - 1] as StoredMessage).seq;
          this.cursors.set(conversationId, after);
          if (batch.length < limit) break;
          limit = Math.max(1, Math.min(FILL_BATCH, Math.floor((budget * batch.length) / Math.max(bytes, 1))));
        }
      }
    } catch (e) {
      this.deps.log.warn({ err: e }, 'delivery fill failed; closing so the client resumes');
      this.close(CLOSE.goingAway, 'delivery interrupted');
    } finally {
      this.active = undefined;
      this.filling = false;
    }
  }

  private async onFrame(data: Buffer, isBinary: boolean): Promise<void> {
    if (this.state === 'closed') return;
    this.framesIn++;
    if (isBinary) return this.onBinaryFrame(data);
    const text = data.toString('utf8');
    const r = parseClientFrame(text);
    if (this.state === 'challenge') {
      if (!r.ok || r.value.type !== 'auth') return this.close(CLOSE.protocolViolation, 'the first frame must be auth');
      return this.authenticate(r.value);
    }
    if (!r.ok) {
      const f: ServerFrame = { type: 'error', code: r.code, message: r.message };
      // The client settles the request this answers (e.g. an over-size send) by its ref.
      const ref = recoverFrameRef(text);
      if (ref !== undefined) f.ref = ref;
      if (r.details !== undefined) f.details = r.details;
      return this.push(f);
    }
    const frame = r.value;
    if (frame.type === 'auth') return this.close(CLOSE.protocolViolation, 'already authenticated');
    if (ACTIVITY_FRAMES.has(frame.type)) this.activity();
    if (frame.type === 'ping')
      return this.push(frame.ref === undefined ? { type: 'pong' } : { type: 'pong', ref: frame.ref });
    // Sends are queued in arrival order by the domain's group commit, so a sender's order is kept.
    if (frame.type === 'send') {
      const at = performance.now();
      const input: SendInput = {
        conversationId: frame.conversationId,
        clientMsgId: frame.clientMsgId,
        payload: Buffer.from(frame.payload, 'base64'),
      };
      if (frame.ref !== undefined) input.ref = frame.ref;
      return this.run(frame.ref, () => this.handleSend(input, at));
    }
    return this.run(undefined, () => this.handleOther(frame));
  }

  /**
   * A binary WebSocket message: only a `send` frame, only from a connection that negotiated binary
   * frames. SECURITY: before authentication, or on a JSON connection, it is a protocol violation (4400),
   * as it always was; a malformed one gets the error frame a malformed JSON frame gets, and the
   * connection goes on.
   */
  private onBinaryFrame(data: Buffer): Promise<void> | void {
    if (this.state === 'challenge' || this.format !== 'binary')
      return this.close(CLOSE.protocolViolation, 'text frames only');
    const r = decodeSendFrame(data);
    if (!r.ok) {
      const f: ServerFrame = { type: 'error', code: r.code, message: r.message };
      const ref = recoverBinaryRef(data);
      if (ref !== undefined) f.ref = ref;
      return this.push(f);
    }
    this.activity();
    const at = performance.now();
    return this.run(r.value.ref, () => this.handleSend(r.value, at));
  }

  private async run(ref: string | undefined, op: () => Promise<void>): Promise<void> {
    this.hub.inflight++;
    try {
      await op();
    } catch (e) {
      const { frame, close } = toErrorFrame(e, ref, this.deps.log);
      this.push(frame);
      if (close !== undefined) this.close(close, 'unauthenticated');
    } finally {
      this.hub.inflight--;
    }
  }

  private async handleSend(f: SendInput, arrivedAt: number): Promise<void> {
    if (this.state !== 'ready' && this.state !== 'syncing') return;
    if (this.hub.draining) throw new AppError('shutting_down');
    const p = this.principal as Principal;
    const res = await sendMessage(this.deps.messaging, p, {
      conversationId: f.conversationId,
      clientMsgId: f.clientMsgId,
      payload: f.payload,
    });
    // SECURITY: acknowledged only now, after COMMIT.
    const ack: ServerFrame = {
      type: 'sent',
      conversationId: f.conversationId,
      clientMsgId: f.clientMsgId,
      seq: res.seq,
    };
    if (f.ref !== undefined) ack.ref = f.ref;
    this.push(ack);
    this.deps.metrics?.sendToAck((performance.now() - arrivedAt) / 1000);
  }

  private async handleOther(f: Exclude<ClientFrame, { type: 'send' | 'auth' | 'ping' }>): Promise<void> {
    const p = this.principal as Principal;
    if (f.type === 'ack') {
      if (!this.cursors.has(f.conversationId)) throw new AppError('not_found', 'no such conversation');
      const acks = (this.acks ??= new Map<string, number>());
      if (acks.size === 0) setTimeout(() => this.flushAcks(), ACK_FLUSH_MS);
      acks.set(f.conversationId, Math.max(acks.get(f.conversationId) ?? 0, f.seq));
    } else if (f.type === 'read') {
      await markRead(this.deps.messaging, p, f.conversationId, f.seq);
    } else if (f.type === 'typing') {
      await this.hub.typing(p, f.conversationId);
    }
  }

  /**
   * SECURITY (S21): what a person does on the socket keeps the session from idling out (throttled);
   * a socket that is merely open does not, so idle limits (AAL2 1 h, AAL3 15 min) hold for sockets too.
   */
  private activity(): void {
    const now = this.deps.auth.clock.monotonic(); // a throttle: a wall-clock step must not stop the touches
    if (now - this.touchedAt < TOUCH_EVERY_MS || !this.principal) return;
    this.touchedAt = now;
    void touchSession(this.deps.auth, this.principal.sessionId).catch(() => undefined);
  }

  /** The re-check found the session valid; re-arm the expiry timer when `expires_at` moved (a step-up shortens it). */
  sessionHolds(expiresAt: number): void {
    if (this.state === 'closed' || this.state === 'challenge' || expiresAt === this.expiresAt) return;
    this.armExpiry(expiresAt);
  }

  private armExpiry(expiresAt: number): void {
    this.cancelDeadline();
    this.expiresAt = expiresAt;
    const delay = Math.min(expiresAt - this.deps.auth.clock.now(), 2 ** 31 - 1);
    // Ref'd on purpose: the open socket keeps the process alive anyway, and Node frees the timer list of
    // a cleared timer at once only when it is ref'd. Unref'd, every closed connection left an empty list
    // (one per distinct duration) until its session would have expired: memory that grew with churn.
    this.cancelDeadline = this.timers.setTimeout(
      () => this.close(CLOSE.unauthenticated, 'session expired'),
      Math.max(delay, 0),
      { ref: true },
    );
  }

  private flushAcks(): void {
    const acks = this.acks;
    this.acks = undefined;
    if (!acks || !this.principal) return;
    for (const [conversationId, seq] of acks) {
      void this.run(undefined, async () => {
        await acknowledgeDelivery(this.deps.messaging, this.principal as Principal, conversationId, seq);
      });
    }
  }

  private async authenticate(f: Extract<ClientFrame, { type: 'auth' }>): Promise<void> {
    this.cancelDeadline();
    const nonce = this.nonce;
    this.nonce = '';
    try {
      const session = await authenticateToken(this.deps.auth, f.token);
      // SECURITY: the token alone is not enough: the device key must sign this connection's challenge.
      if (!verifyDeviceProof(session.devicePublicKey, nonce, f.signature)) {
        await recordProofFailure(this.deps, session.principal, this.address);
        throw new AppError('device_proof_failed');
      }
      if (this.state === 'closed') return;
      this.principal = session.principal;
      this.state = 'syncing';
      if (f.frames === BINARY_FRAMES) this.format = 'binary';
      const firstOfUser = this.hub.register(this);
      this.deps.metrics?.webSocketOpen(1);
      this.deps.metrics?.authentication('websocket', 'success');
      // An authenticated socket no longer counts against its address's pre-auth connection cap.
      this.onAuthenticated();
      this.touchedAt = this.deps.auth.clock.monotonic();
      this.armExpiry(session.expiresAt);
      signalConnectionOpened(this.deps, session.principal, this.address, this.drill);
      this.push({
        type: 'ready',
        userId: session.principal.userId,
        deviceId: session.principal.deviceId,
        expiresAt: new Date(session.expiresAt).toISOString(),
        ...(this.format === 'binary' ? { frames: BINARY_FRAMES } : {}),
      });
      const cursors = await deviceCursors(this.deps.messaging, session.principal);
      for (const c of cursors) {
        if (!this.cursors.has(c.conversationId)) this.cursors.set(c.conversationId, c.deliveredSeq);
        if (c.lastSeq > c.deliveredSeq) this.pending.add(c.conversationId);
      }
      if (this.state !== 'syncing') return;
      if (firstOfUser) this.hub.announceOnline(this);
      this.state = 'ready';
      await this.fill();
      this.push({ type: 'synced' });
    } catch (e) {
      const { frame } = toErrorFrame(e, undefined, this.deps.log);
      if (frame.type === 'error') this.deps.metrics?.authentication('websocket', frame.code);
      this.push(frame);
      // A store outage while authenticating is no verdict on the session: close with 1013 so the
      // client reconnects later, instead of 4401, after which it would stop and ask to log in again.
      const retry = !isAppError(e) || e.kind === 'unavailable';
      this.close(
        retry ? CLOSE.tryAgainLater : CLOSE.unauthenticated,
        retry ? 'try again later' : 'authentication failed',
      );
    }
  }
}
