/**
 * The byte-level reader and writer of the binary payload frames (binary-frames.ts): bounds-checked,
 * big-endian, and refusing with the protocol's error codes. Internal to the protocol package.
 */
import { MAX_ID_LENGTH, MAX_PAYLOAD_BYTES } from './limits.js';

/** A `ref` is at most 64 code points, so at most 256 UTF-8 bytes. */
const MAX_REF_BYTES = 256;
/** Longest server-issued string of a `msg` frame (ids, and clientMsgIds such as `mls-commit:<epoch>`), in bytes. */
export const MAX_NAME_BYTES = 128;
export const ID = /^[A-Za-z0-9_-]+$/;
export const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const TWO_32 = 2 ** 32;

export const encoder = new TextEncoder();
export const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Thrown inside the decoder only; every public function turns it into a ParseResult. */
export class Refusal extends Error {
  constructor(
    readonly code: 'bad_request' | 'payload_too_large' | 'unknown_frame',
    message: string,
  ) {
    super(message);
  }
}

/** A bounds-checked big-endian reader over one frame. */
export class Reader {
  private at = 0;
  constructor(private readonly b: Uint8Array) {}

  u8(): number {
    this.need(1);
    return this.b[this.at++] as number;
  }
  u16(): number {
    this.need(2);
    const v = ((this.b[this.at] as number) << 8) | (this.b[this.at + 1] as number);
    this.at += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const b = this.b;
    const i = this.at;
    this.at += 4;
    return (
      (b[i] as number) * 0x1000000 + (((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number))
    );
  }
  /** A u64 that must be a safe integer (at most 2^53 - 1). */
  u64(field: string): number {
    const hi = this.u32();
    const lo = this.u32();
    if (hi > 0x1fffff) throw new Refusal('bad_request', `${field} is larger than 2^53 - 1`);
    return hi * TWO_32 + lo;
  }
  /** The next `n` bytes as a view (no copy), for a nested frame. */
  sub(n: number): Uint8Array {
    this.need(n);
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  /** The rest of the frame as strict UTF-8. */
  restUtf8(): string {
    try {
      return strictUtf8.decode(this.sub(this.b.byteLength - this.at));
    } catch {
      throw new Refusal('bad_request', 'a text entry is not valid UTF-8');
    }
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    // A copy into a plain Uint8Array (Buffer#slice would share memory): what is decoded does not
    // retain the frame's buffer (often a slice of a socket read).
    const v = new Uint8Array(n);
    v.set(this.b.subarray(this.at, this.at + n));
    this.at += n;
    return v;
  }
  /** A u16-length-prefixed id: 1 to MAX_ID_LENGTH url-safe ASCII characters, as the JSON `Id` schema. */
  id(field: string): string {
    const n = this.u16();
    if (n < 1 || n > MAX_ID_LENGTH) throw new Refusal('bad_request', `${field} is 1 to ${MAX_ID_LENGTH} characters`);
    this.need(n);
    let s = '';
    for (let i = this.at; i < this.at + n; i++) s += String.fromCharCode(this.b[i] as number);
    this.at += n;
    if (!ID.test(s)) throw new Refusal('bad_request', `${field}: url-safe characters only`);
    return s;
  }
  /** A u16-length-prefixed `ref`: strict UTF-8, at most 64 code points, no control characters. */
  ref(): string {
    const s = this.text('ref', 0, MAX_REF_BYTES);
    if ([...s].length > 64) throw new Refusal('bad_request', 'ref: at most 64 characters');
    return s;
  }
  /** A u16-length-prefixed server-issued name of a `msg` frame: strict UTF-8, 1 to 128 bytes, no control characters. */
  name(field: string): string {
    return this.text(field, 1, MAX_NAME_BYTES);
  }
  private text(field: string, min: number, max: number): string {
    const n = this.u16();
    if (n < min || n > max) throw new Refusal('bad_request', `${field} is ${min} to ${max} bytes`);
    this.need(n);
    let s: string;
    try {
      s = strictUtf8.decode(this.b.subarray(this.at, this.at + n));
    } catch {
      throw new Refusal('bad_request', `${field} is not valid UTF-8`);
    }
    this.at += n;
    if (CONTROL.test(s)) throw new Refusal('bad_request', `${field}: control characters are not allowed`);
    return s;
  }
  /** A u32-length-prefixed payload of at most MAX_PAYLOAD_BYTES. */
  payload(): Uint8Array {
    const n = this.u32();
    if (n > MAX_PAYLOAD_BYTES) throw new Refusal('payload_too_large', `the payload is over ${MAX_PAYLOAD_BYTES} bytes`);
    return this.bytes(n);
  }
  end(): void {
    if (this.at !== this.b.byteLength) throw new Refusal('bad_request', 'trailing bytes after the frame');
  }
  private need(n: number): void {
    if (this.at + n > this.b.byteLength) throw new Refusal('bad_request', 'the frame is truncated');
  }
}

/** A bounds-free writer: the caller sizes the buffer exactly first. */
export class Writer {
  readonly b: Uint8Array;
  private at = 0;
  constructor(size: number) {
    this.b = new Uint8Array(size);
  }
  u8(v: number): void {
    this.b[this.at++] = v;
  }
  u16(v: number): void {
    this.b[this.at++] = v >>> 8;
    this.b[this.at++] = v & 0xff;
  }
  u32(v: number): void {
    this.b[this.at++] = v >>> 24;
    this.b[this.at++] = (v >>> 16) & 0xff;
    this.b[this.at++] = (v >>> 8) & 0xff;
    this.b[this.at++] = v & 0xff;
  }
  u64(v: number): void {
    this.u32(Math.floor(v / TWO_32));
    this.u32(v >>> 0);
  }
  raw(v: Uint8Array): void {
    this.b.set(v, this.at);
    this.at += v.byteLength;
  }
  /** A u16-length-prefixed ASCII id (validated by the caller). */
  ascii(s: string): void {
    this.u16(s.length);
    for (let i = 0; i < s.length; i++) this.b[this.at++] = s.charCodeAt(i);
  }
  /** A u16-length-prefixed name: ASCII text (one byte per character) or UTF-8 bytes. */
  name(v: string | Uint8Array): void {
    if (typeof v === 'string') return this.ascii(v);
    this.u16(v.byteLength);
    this.raw(v);
  }
  prefixed32(v: Uint8Array): void {
    this.u32(v.byteLength);
    this.raw(v);
  }
}
