/**
 * The plaintext inside every MLS application message: a small versioned, typed envelope, padded to
 * a few size buckets so the server (which sees only ciphertext lengths) learns little from lengths.
 *
 * Layout (version 1), all integers big-endian:
 *   [0]       format version = 1
 *   [1]       type: 1 text (2 reply, 3 edit, 4 reaction, 5 attachment: reserved, refused for now)
 *   [2..9]    sentAt, Unix milliseconds (u64, at most 2^53 - 1)
 *   [10..17]  counter: the sender device's strictly increasing message counter (u64, <= 2^53 - 1)
 *   [18..21]  body length n (u32), then n bytes of UTF-8
 *   then zero bytes up to the smallest bucket that holds the content ({@link PAD_BUCKETS}).
 * SECURITY: the padding is canonical (exactly the smallest bucket, all zeros), so one envelope has
 * one byte form and the padding cannot carry a covert channel.
 */

/** Reordering and timing facts every envelope carries. */
interface EnvelopeMeta {
  v: 1;
  /** When the sender composed it (Unix ms, the sender's clock: not trusted for ordering). */
  sentAt: number;
  /** The sender device's strictly increasing message counter: a gap or a step back shows reordering. */
  counter: number;
}

/** A text message. The only type implemented today. */
export interface TextEnvelope extends EnvelopeMeta {
  type: 'text';
  body: string;
}

/** Reserved: a reply quoting an earlier message. */
export interface ReplyEnvelope extends EnvelopeMeta {
  type: 'reply';
  body: string;
  /** The id of the message replied to. */
  inReplyTo: string;
}

/** Reserved: a new body for an earlier message of the same sender. */
export interface EditEnvelope extends EnvelopeMeta {
  type: 'edit';
  target: string;
  body: string;
}

/** Reserved: a reaction (an emoji) added to or removed from a message. */
export interface ReactionEnvelope extends EnvelopeMeta {
  type: 'reaction';
  target: string;
  reaction: string;
  remove?: boolean;
}

/** Reserved: a file, encrypted with its own key and stored elsewhere. */
export interface AttachmentEnvelope extends EnvelopeMeta {
  type: 'attachment';
  name: string;
  mime: string;
  size: number;
  /** SHA-256 of the encrypted file (hex), checked on download. */
  sha256: string;
  /** The file's symmetric key (base64url). */
  key: string;
  /** Where the encrypted file is stored. */
  ref: string;
  caption?: string;
}

/** Every envelope type; only `text` is implemented. */
export type Envelope = TextEnvelope | ReplyEnvelope | EditEnvelope | ReactionEnvelope | AttachmentEnvelope;

/** Stable envelope failure codes. */
export type EnvelopeErrorCode =
  | 'empty' // no bytes
  | 'version' // an envelope format this SDK does not know
  | 'unsupported' // a reserved type, not implemented yet
  | 'padding' // padding that is not the canonical bucket of zeros
  | 'malformed' // fields that do not parse (lengths, integers, UTF-8)
  | 'too_large'; // over MAX_ENVELOPE_BYTES / MAX_TEXT_BYTES

/** An envelope failure with a stable code. */
export class EnvelopeError extends Error {
  constructor(
    readonly code: EnvelopeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

/** What {@link decodeEnvelope} returns: never throws. */
export type EnvelopeResult = { ok: true; envelope: TextEnvelope } | { ok: false; code: EnvelopeErrorCode };

const FORMAT_VERSION = 1;
const TYPE_CODES = { text: 1, reply: 2, edit: 3, reaction: 4, attachment: 5 } as const;
const HEADER_BYTES = 22;

/**
 * The largest padded envelope. An MLS PrivateMessage adds its header (group id up to 255 bytes,
 * epoch, content type), the encrypted sender data, the signature and the AEAD tag: well under
 * 1 KiB, so 63 KiB keeps the message within the 64 KiB payload limit (protocol MAX_PAYLOAD_BYTES).
 */
export const MAX_ENVELOPE_BYTES = 63 * 1024;

/** Padded sizes: 256 B, 1 KiB, 4 KiB, 16 KiB, then multiples of 16 KiB, then the limit. */
export const PAD_BUCKETS: readonly number[] = [256, 1024, 4096, 16384, 32768, 49152, MAX_ENVELOPE_BYTES];

/** The largest text body, in UTF-8 bytes, that fits (and so can be sent as one MLS message). */
export const MAX_TEXT_BYTES = MAX_ENVELOPE_BYTES - HEADER_BYTES;

/** The bucket a content of `n` bytes pads to, or undefined if none holds it. */
export function paddedSize(n: number): number | undefined {
  return PAD_BUCKETS.find((b) => b >= n);
}

const isU53 = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

function putU64(out: Uint8Array, at: number, x: number): void {
  const hi = Math.floor(x / 2 ** 32);
  const lo = x >>> 0;
  new DataView(out.buffer, out.byteOffset).setUint32(at, hi);
  new DataView(out.buffer, out.byteOffset).setUint32(at + 4, lo);
}

/** A string with no lone surrogates (TextEncoder would silently replace them). */
function wellFormed(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/**
 * Encodes and pads an envelope. Throws EnvelopeError: 'unsupported' for a reserved type,
 * 'malformed' for bad fields, 'too_large' for a body over {@link MAX_TEXT_BYTES}.
 */
export function encodeEnvelope(e: Envelope): Uint8Array {
  if (e === null || typeof e !== 'object' || e.v !== 1) throw new EnvelopeError('version', 'envelope v must be 1');
  if (e.type !== 'text') {
    const known = Object.hasOwn(TYPE_CODES, e.type);
    throw new EnvelopeError(known ? 'unsupported' : 'malformed', `envelope type ${String(e.type)} is not supported`);
  }
  if (!isU53(e.sentAt) || !isU53(e.counter))
    throw new EnvelopeError('malformed', 'sentAt and counter: integers from 0 to 2^53 - 1');
  if (typeof e.body !== 'string' || !wellFormed(e.body)) throw new EnvelopeError('malformed', 'body: well-formed text');
  const body = new TextEncoder().encode(e.body);
  if (body.length > MAX_TEXT_BYTES) throw new EnvelopeError('too_large', `body over ${MAX_TEXT_BYTES} bytes`);
  const size = paddedSize(HEADER_BYTES + body.length) as number;
  const out = new Uint8Array(size);
  out[0] = FORMAT_VERSION;
  out[1] = TYPE_CODES.text;
  putU64(out, 2, e.sentAt);
  putU64(out, 10, e.counter);
  new DataView(out.buffer).setUint32(18, body.length);
  out.set(body, HEADER_BYTES);
  return out;
}

/**
 * Reads a padded envelope. Never throws: anything but a canonical version-1 text envelope is a
 * stable code ('unsupported' for the reserved types).
 */
export function decodeEnvelope(bytes: Uint8Array): EnvelopeResult {
  const fail = (code: EnvelopeErrorCode): EnvelopeResult => ({ ok: false, code });
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) return fail('empty');
  if (bytes[0] !== FORMAT_VERSION) return fail('version');
  if (bytes.length > MAX_ENVELOPE_BYTES) return fail('too_large');
  if (!PAD_BUCKETS.includes(bytes.length)) return fail('padding');
  const type = bytes[1];
  if (type !== TYPE_CODES.text) {
    const reserved = type !== undefined && Object.values(TYPE_CODES).includes(type as 1);
    return fail(reserved ? 'unsupported' : 'malformed');
  }
  if (bytes.length < HEADER_BYTES) return fail('malformed');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u64 = (at: number): number | undefined => {
    const hi = view.getUint32(at);
    if (hi >= 2 ** 21) return undefined; // over 2^53 - 1
    return hi * 2 ** 32 + view.getUint32(at + 4);
  };
  const sentAt = u64(2);
  const counter = u64(10);
  if (sentAt === undefined || counter === undefined) return fail('malformed');
  const n = view.getUint32(18);
  const end = HEADER_BYTES + n;
  if (end > bytes.length) return fail('malformed');
  if (paddedSize(end) !== bytes.length) return fail('padding');
  for (let i = end; i < bytes.length; i++) if (bytes[i] !== 0) return fail('padding');
  let body: string;
  try {
    body = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(HEADER_BYTES, end));
  } catch {
    return fail('malformed');
  }
  return { ok: true, envelope: { v: 1, type: 'text', body, sentAt, counter } };
}
