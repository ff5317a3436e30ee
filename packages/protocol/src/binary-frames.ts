/**
 * The binary WebSocket frames that carry payloads (docs/protocol.md, "Binary payload frames"): the
 * client's `send` and the server's `msg`, plus a server page of several `msg` frames. A length-prefixed
 * layout, big-endian, no JSON and no base64. Everything else stays a JSON text frame.
 * Pure Uint8Array code (no Node APIs): the SDK runs it in browsers too.
 */
import type { MessageKind } from './frames.js';
import type { ParseResult } from './json.js';
import { CONTROL, encoder, ID, MAX_NAME_BYTES, Reader, Refusal, strictUtf8, Writer } from './binary-io.js';
import { MAX_ID_LENGTH, MAX_PAYLOAD_BYTES, MAX_SERVER_FRAME_BYTES } from './limits.js';

/** The layout version every binary frame carries in its second byte. */
export const BINARY_FRAME_VERSION = 1;

/** The first byte of a binary frame. */
export const BINARY_FRAME_TYPE = { send: 0x01, msg: 0x02, batch: 0x03, text: 0x04 } as const;

/** The value of the `frames` field (auth and ready) that turns binary payload frames on. */
export const BINARY_FRAMES = 'binary';

/** A client `send` as a binary frame: the JSON `send` frame's fields with the payload as bytes. */
export interface BinarySend {
  type: 'send';
  ref?: string;
  conversationId: string;
  clientMsgId: string;
  payload: Uint8Array;
}

/** A delivered message as a binary frame: the JSON `msg` frame's fields; `sentAt` in ms since the epoch. */
export interface BinaryMsg {
  type: 'msg';
  conversationId: string;
  seq: number;
  senderId: string;
  senderDeviceId: string;
  clientMsgId: string;
  /** Milliseconds since the epoch, UTC (the JSON frame's ISO 8601 `sentAt`). */
  sentAt: number;
  kind: MessageKind;
  payload: Uint8Array;
}

/** A JSON server frame carried inside a batch (type `text`), so a page keeps its order: the JSON text as sent. */
export interface BinaryText {
  type: 'text';
  text: string;
}

const KINDS: readonly MessageKind[] = ['legacy', 'mls', 'commit'];
/** The latest instant a Date (and so an ISO 8601 `sentAt`) can hold. */
const MAX_DATE_MS = 8.64e15;
const FLAG_REF = 0x01;

/** Checks the two-byte header: the frame type and the layout version. */
function header(r: Reader, allowed: readonly number[]): number {
  const type = r.u8();
  const version = r.u8();
  if (!allowed.includes(type)) throw new Refusal('unknown_frame', 'unknown binary frame type');
  if (version !== BINARY_FRAME_VERSION) throw new Refusal('bad_request', 'unsupported binary frame version');
  return type;
}

function guarded<T>(f: () => T): ParseResult<T> {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, code: e.code, message: e.message };
    // Not reachable by design (every read is bounds-checked); never let anything else escape.
    return { ok: false, code: 'bad_request', message: 'malformed binary frame' };
  }
}

/**
 * Decodes a client's binary `send` frame. Never throws: a wrong version, an unknown type, a
 * truncated frame, trailing bytes, an over-long length, invalid UTF-8 or an id that the JSON `Id`
 * schema would refuse answer `bad_request` (`unknown_frame` for the type, `payload_too_large` for a
 * payload over MAX_PAYLOAD_BYTES), with the same limits as the JSON frame.
 */
export function decodeSendFrame(bytes: Uint8Array): ParseResult<BinarySend> {
  return guarded(() => {
    const r = new Reader(bytes);
    header(r, [BINARY_FRAME_TYPE.send]);
    const flags = r.u8();
    if ((flags & ~FLAG_REF) !== 0) throw new Refusal('bad_request', 'unknown flags');
    const ref = flags & FLAG_REF ? r.ref() : undefined;
    const conversationId = r.id('conversationId');
    const clientMsgId = r.id('clientMsgId');
    const payload = r.payload();
    r.end();
    const f: BinarySend = { type: 'send', conversationId, clientMsgId, payload };
    if (ref !== undefined) f.ref = ref;
    return f;
  });
}

/**
 * The `ref` of a binary `send` that failed {@link decodeSendFrame}, when its header and ref are
 * well-formed (so the error frame names the request it answers); undefined otherwise.
 */
export function recoverBinaryRef(bytes: Uint8Array): string | undefined {
  const r = guarded(() => {
    const rd = new Reader(bytes);
    header(rd, [BINARY_FRAME_TYPE.send]);
    return rd.u8() & FLAG_REF ? rd.ref() : undefined;
  });
  return r.ok && r.value !== undefined && /^[\x21-\x7e]{1,64}$/.test(r.value) ? r.value : undefined;
}

/**
 * Decodes a server binary message: one `msg` frame or a `batch` of `msg` frames and JSON text
 * entries, in order. Never throws; refuses what {@link decodeSendFrame} refuses, and a batch that is
 * empty, nests a batch, holds invalid UTF-8 text or is larger than MAX_SERVER_FRAME_BYTES. The JSON of
 * a text entry is not parsed here (the receiver parses it as any JSON text frame).
 */
export function decodeServerFrames(bytes: Uint8Array): ParseResult<(BinaryMsg | BinaryText)[]> {
  return guarded(() => {
    if (bytes.byteLength > MAX_SERVER_FRAME_BYTES) throw new Refusal('bad_request', 'the frame is too large');
    const r = new Reader(bytes);
    if (header(r, [BINARY_FRAME_TYPE.msg, BINARY_FRAME_TYPE.batch]) === BINARY_FRAME_TYPE.msg) {
      const m = readMsg(r);
      r.end();
      return [m];
    }
    const count = r.u16();
    if (count === 0) throw new Refusal('bad_request', 'an empty batch');
    const out: (BinaryMsg | BinaryText)[] = [];
    for (let i = 0; i < count; i++) {
      const inner = new Reader(r.sub(r.u32()));
      if (header(inner, [BINARY_FRAME_TYPE.msg, BINARY_FRAME_TYPE.text]) === BINARY_FRAME_TYPE.text) {
        out.push({ type: 'text', text: inner.restUtf8() });
        continue;
      }
      out.push(readMsg(inner));
      inner.end();
    }
    r.end();
    return out;
  });
}

function readMsg(r: Reader): BinaryMsg {
  const conversationId = r.name('conversationId');
  const seq = r.u64('seq');
  const senderId = r.name('senderId');
  const senderDeviceId = r.name('senderDeviceId');
  const clientMsgId = r.name('clientMsgId');
  const sentAt = r.u64('sentAt');
  if (sentAt > MAX_DATE_MS) throw new Refusal('bad_request', 'sentAt is not a date');
  const kind = KINDS[r.u8()];
  if (kind === undefined) throw new Refusal('bad_request', 'unknown message kind');
  const payload = r.payload();
  return { type: 'msg', conversationId, seq, senderId, senderDeviceId, clientMsgId, sentAt, kind, payload };
}

/** Refuses (throws) what the decoder would refuse, so an encoder never produces a frame the peer rejects. */
function checkId(field: string, s: string): void {
  if (s.length < 1 || s.length > MAX_ID_LENGTH || !ID.test(s)) throw new RangeError(`${field} is not an id`);
}

function checkPayload(p: Uint8Array): void {
  if (p.byteLength > MAX_PAYLOAD_BYTES) throw new RangeError('payload_too_large');
}

/**
 * Encodes a binary `send` frame. Throws RangeError for fields the decoder refuses (a non-id, a
 * payload over MAX_PAYLOAD_BYTES, a `ref` over 64 characters or with control characters).
 */
export function encodeSendFrame(f: Omit<BinarySend, 'type'>): Uint8Array {
  checkId('conversationId', f.conversationId);
  checkId('clientMsgId', f.clientMsgId);
  checkPayload(f.payload);
  const ref = f.ref === undefined ? undefined : encoder.encode(f.ref);
  if (f.ref !== undefined && ([...f.ref].length > 64 || CONTROL.test(f.ref) || strictUtf8.decode(ref) !== f.ref))
    throw new RangeError('ref is not a valid ref');
  const size =
    3 + (ref ? 2 + ref.byteLength : 0) + 4 + f.conversationId.length + f.clientMsgId.length + 4 + f.payload.byteLength;
  const w = new Writer(size);
  w.u8(BINARY_FRAME_TYPE.send);
  w.u8(BINARY_FRAME_VERSION);
  w.u8(ref ? FLAG_REF : 0);
  if (ref) {
    w.u16(ref.byteLength);
    w.raw(ref);
  }
  w.ascii(f.conversationId);
  w.ascii(f.clientMsgId);
  w.prefixed32(f.payload);
  return w.b;
}

/** Encodes a binary `msg` frame. Throws RangeError for fields the decoder refuses. */
export function encodeMsgFrame(m: Omit<BinaryMsg, 'type'>): Uint8Array {
  const conversationId = checkName('conversationId', m.conversationId);
  const senderId = checkName('senderId', m.senderId);
  const senderDeviceId = checkName('senderDeviceId', m.senderDeviceId);
  const clientMsgId = checkName('clientMsgId', m.clientMsgId);
  checkPayload(m.payload);
  const kind = KINDS.indexOf(m.kind);
  if (kind < 0) throw new RangeError('unknown message kind');
  if (!Number.isSafeInteger(m.seq) || m.seq < 0) throw new RangeError('seq is not a u64');
  if (!Number.isSafeInteger(m.sentAt) || m.sentAt < 0 || m.sentAt > MAX_DATE_MS)
    throw new RangeError('sentAt is not a date');
  const names = [conversationId, senderId, senderDeviceId, clientMsgId].reduce((n, v) => n + v.length, 0);
  const w = new Writer(2 + 8 + names + 8 + 8 + 1 + 4 + m.payload.byteLength);
  w.u8(BINARY_FRAME_TYPE.msg);
  w.u8(BINARY_FRAME_VERSION);
  w.name(conversationId);
  w.u64(m.seq);
  w.name(senderId);
  w.name(senderDeviceId);
  w.name(clientMsgId);
  w.u64(m.sentAt);
  w.u8(kind);
  w.prefixed32(m.payload);
  return w.b;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * A `msg` frame's name as it goes on the wire: the string itself when it is printable ASCII (one byte
 * per character, written directly), else its UTF-8 bytes. Throws RangeError for what the decoder refuses.
 */
function checkName(field: string, s: string): string | Uint8Array {
  if (PRINTABLE_ASCII.test(s)) {
    if (s.length < 1 || s.length > MAX_NAME_BYTES) throw new RangeError(`${field} is 1 to ${MAX_NAME_BYTES} bytes`);
    return s;
  }
  const b = encoder.encode(s);
  if (b.byteLength > MAX_NAME_BYTES || CONTROL.test(s) || strictUtf8.decode(b) !== s)
    throw new RangeError(`${field} cannot be carried in a binary frame`);
  return b;
}

/**
 * Bytes a batch adds: a 4-byte header, a 4-byte length per entry, and 2 more (type, version) for a
 * text entry (a string: one JSON server frame, as UTF-8).
 */
export const BATCH_OVERHEAD = { header: 4, perFrame: 4, perText: 6 } as const;

/**
 * Packs entries (1 to 65535) into one batch frame, in order: encoded `msg` frames as they are, and
 * strings (JSON server frames) as text entries.
 */
export function encodeBatch(entries: readonly (Uint8Array | string)[]): Uint8Array {
  if (entries.length < 1 || entries.length > 0xffff) throw new RangeError('a batch holds 1 to 65535 frames');
  const parts = entries.map((e) => (typeof e === 'string' ? encoder.encode(e) : e));
  let size = BATCH_OVERHEAD.header;
  for (let i = 0; i < parts.length; i++)
    size +=
      (typeof entries[i] === 'string' ? BATCH_OVERHEAD.perText : BATCH_OVERHEAD.perFrame) +
      (parts[i] as Uint8Array).byteLength;
  const w = new Writer(size);
  w.u8(BINARY_FRAME_TYPE.batch);
  w.u8(BINARY_FRAME_VERSION);
  w.u16(entries.length);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as Uint8Array;
    if (typeof entries[i] !== 'string') {
      w.prefixed32(part);
      continue;
    }
    w.u32(part.byteLength + 2);
    w.u8(BINARY_FRAME_TYPE.text);
    w.u8(BINARY_FRAME_VERSION);
    w.raw(part);
  }
  return w.b;
}
