import { z } from 'zod';
import { B64Url, ClientMsgId, Id, Payload, Seq, text } from './common.js';
import type { ErrorBody } from './errors.js';
import type { WelcomeView } from './mls.js';
import { parseJsonBounded, type ParseResult } from './json.js';

/**
 * First client frame: the session token and a device signature over the server's challenge.
 * `frames: 'binary'` asks for binary payload frames (binary-frames.ts); the server confirms it in `ready`.
 */
export const AuthFrame = z.strictObject({
  type: z.literal('auth'),
  token: text({ min: 1, max: 128, kind: 'secret' }),
  signature: B64Url(128),
  frames: z.enum(['json', 'binary']).optional(),
});
/** Send one message. `ref` is echoed in the `sent` or `error` reply. */
export const SendFrame = z.strictObject({
  type: z.literal('send'),
  ref: text({ max: 64, kind: 'machine' }).optional(),
  conversationId: Id,
  clientMsgId: ClientMsgId,
  payload: Payload,
});
/** This device has received everything up to `seq` in the conversation. */
export const AckFrame = z.strictObject({ type: z.literal('ack'), conversationId: Id, seq: Seq });
/** The user has read up to `seq`. */
export const ReadFrame = z.strictObject({ type: z.literal('read'), conversationId: Id, seq: Seq });
/** Ephemeral typing notice. */
export const TypingFrame = z.strictObject({ type: z.literal('typing'), conversationId: Id });
/** Keep-alive. */
export const PingFrame = z.strictObject({
  type: z.literal('ping'),
  ref: text({ max: 64, kind: 'machine' }).optional(),
});

/** Every frame a client may send. */
export const ClientFrame = z.discriminatedUnion('type', [
  AuthFrame,
  SendFrame,
  AckFrame,
  ReadFrame,
  TypingFrame,
  PingFrame,
]);
export type ClientFrame = z.infer<typeof ClientFrame>;
export type ClientFrameType = ClientFrame['type'];

/** A stored message as the server presents it (history pages and `msg` frames). Payload is base64. */
export interface MessageView {
  seq: number;
  senderId: string;
  senderDeviceId: string;
  clientMsgId: string;
  payload: string;
  /** ISO 8601, UTC. */
  sentAt: string;
  /**
   * 'mls': an MLS application message; 'commit': an MLS commit (a handshake, processed by the client);
   * 'legacy': sent before end-to-end encryption (or by a server with it off).
   */
  kind: MessageKind;
}

/** What a stored message is (see {@link MessageView.kind}). */
export type MessageKind = 'legacy' | 'mls' | 'commit';

/** Frames the server sends. */
export type ServerFrame =
  | { type: 'challenge'; nonce: string }
  | { type: 'ready'; userId: string; deviceId: string; expiresAt: string; frames?: 'binary' }
  | ({ type: 'msg'; conversationId: string } & MessageView)
  | { type: 'sent'; ref?: string; conversationId: string; clientMsgId: string; seq: number }
  | { type: 'receipt'; conversationId: string; userId: string; kind: 'delivered' | 'read'; seq: number }
  | { type: 'typing'; conversationId: string; userId: string }
  | { type: 'presence'; userId: string; online: boolean }
  | { type: 'conversation'; conversationId: string; change: 'joined' | 'left' | 'updated' }
  | { type: 'synced' }
  | { type: 'pong'; ref?: string }
  | ({ type: 'welcome' } & WelcomeView)
  | { type: 'key_packages_low'; stock: number }
  /** To security admins online (`alert.manage`) when an alert is raised; details through the console API. */
  | {
      type: 'alert';
      alertId: string;
      ruleId: string;
      severity: 'low' | 'medium' | 'high' | 'critical';
      title: string;
      at: string;
      count: number;
    }
  | ({ type: 'error'; ref?: string } & ErrorBody);

/** The bytes a device signs to prove possession of its key: a fixed context string and the challenge. */
export function deviceProofMessage(nonce: string): string {
  return `palisade-device-proof-v1:${nonce}`;
}

/** How far (each way) an HTTP proof's timestamp may be from the server's clock. */
export const HTTP_PROOF_WINDOW_MS = 30_000;

/** What one HTTP request proof covers (see docs/protocol.md, "Request proof"). */
export interface HttpProofInput {
  method: string;
  /** The request target exactly as sent on the wire (path and query, no canonicalisation). */
  pathAndQuery: string;
  /** Milliseconds since the epoch, strictly increasing per device. */
  unixMs: number;
  /** Lower-case hex SHA-256 of the raw body bytes (of zero bytes when there is no body). */
  bodySha256: string;
  /** Lower-case hex SHA-256 of the session token (binds the proof to this session). */
  sessionSha256: string;
}

/**
 * The bytes a device signs for one authenticated HTTP request (header `X-Palisade-Proof`).
 * SECURITY: the fixed-length fields come before the free-form path, so no two inputs give the same
 * string; the body hash and the session hash stop a captured proof being reused with another body
 * or another session.
 */
export function httpProofMessage(p: HttpProofInput): string {
  return `palisade-http-proof-v2:${p.unixMs}:${p.method.toUpperCase()}:${p.sessionSha256}:${p.bodySha256}:${p.pathAndQuery}`;
}

/** The bytes a device signs to collect the session of a single sign-on it started. */
export function ssoProofMessage(ssoId: string): string {
  return `palisade-sso-proof-v1:${ssoId}`;
}

/**
 * Parses one client frame. Never throws: bad input returns a stable error code.
 */
export function parseClientFrame(text: string): ParseResult<ClientFrame> {
  const json = parseJsonBounded(text);
  if (!json.ok) return json;
  const value = json.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'bad_request', message: 'a frame is a JSON object' };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !FRAME_TYPES.has(type)) {
    return { ok: false, code: 'unknown_frame', message: 'unknown frame type' };
  }
  const parsed = ClientFrame.safeParse(value);
  if (!parsed.success) {
    const tooLarge = parsed.error.issues.some((i) => i.message === 'payload_too_large');
    return {
      ok: false,
      code: tooLarge ? 'payload_too_large' : 'bad_request',
      message: 'frame does not match the schema',
      details: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    };
  }
  return { ok: true, value: parsed.data };
}

/**
 * The `ref` of a frame that failed {@link parseClientFrame}, when it can be recovered (the text is
 * JSON within the limits and `ref` is a short printable string), so the error frame names the request
 * it answers. Undefined otherwise.
 */
export function recoverFrameRef(text: string): string | undefined {
  const json = parseJsonBounded(text);
  if (!json.ok || typeof json.value !== 'object' || json.value === null || Array.isArray(json.value)) return undefined;
  const ref = (json.value as { ref?: unknown }).ref;
  return typeof ref === 'string' && /^[\x21-\x7e]{1,64}$/.test(ref) ? ref : undefined;
}

const FRAME_TYPES = new Set<string>(['auth', 'send', 'ack', 'read', 'typing', 'ping']);
