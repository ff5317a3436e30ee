/**
 * Safety numbers: a short code two users compare out of band (read aloud, or side by side) to know
 * that the devices each one's client accepted for the other are the devices the other really has.
 *
 * Like Signal's numeric fingerprints: each user's half is 30 digits from an iterated SHA-512 over a
 * version, the user's id and the sorted set of the user's device signature keys; the pair is shown
 * in a canonical order (the smaller half first), so both users see the same 60 digits, in 12 groups
 * of 5. Any change of either user's devices changes the number.
 */
import { sha512 } from '@noble/hashes/sha2.js';

/** One side of a safety number: a user and the device signature keys (Ed25519, 32 bytes) accepted for it. */
export interface SafetyIdentity {
  userId: string;
  deviceKeys: Uint8Array[];
}

/** Raised for a side that cannot have a safety number (no id, no device, a key of the wrong size). */
export class SafetyNumberError extends Error {
  readonly code = 'invalid_safety_identity';
  constructor(message: string) {
    super(message);
    this.name = 'SafetyNumberError';
  }
}

/** The version byte string hashed first: a new algorithm gets a new version (and different digits). */
const VERSION = new Uint8Array([0x00, 0x01]);
/** Rounds of SHA-512, as Signal: slows a search for a colliding set of keys. */
const SAFETY_NUMBER_ITERATIONS = 5200;
const DIGITS_PER_SIDE = 30;

/**
 * The 60-digit safety number of two users (digits only, no spaces): the same whichever side asks.
 * SECURITY: the device set is a set (duplicates removed, sorted by bytes), so two clients that
 * accepted the same devices agree whatever order the key directory listed them in.
 */
export function safetyNumber(a: SafetyIdentity, b: SafetyIdentity): string {
  const sides = [sideDigits(a), sideDigits(b)].sort();
  return sides.join('');
}

/** One user's 30 digits. */
function sideDigits(side: SafetyIdentity): string {
  const input = sideInput(side);
  let hash = sha512(concat([VERSION, input.keys, input.id]));
  // hash = SHA-512(hash || keys), in one reused buffer (the keys stay at the end)
  const buf = new Uint8Array(hash.length + input.keys.length);
  buf.set(input.keys, hash.length);
  for (let i = 1; i < SAFETY_NUMBER_ITERATIONS; i++) {
    buf.set(hash, 0);
    hash = sha512(buf);
  }
  let out = '';
  // Six 5-byte chunks of the hash, each read as a 40-bit integer modulo 100000 (Signal's encoding).
  for (let c = 0; c < DIGITS_PER_SIDE / 5; c++) {
    let n = 0;
    for (let j = 0; j < 5; j++) n = n * 256 + hash[c * 5 + j]!;
    out += String(n % 100000).padStart(5, '0');
  }
  return out;
}

/** `12345 67890 …`: 12 groups of 5 digits on one line, or `lines: true` for 3 lines of 4 groups. */
export function formatSafetyNumber(digits: string, opts: { lines?: boolean } = {}): string {
  const clean = normalise(digits);
  if (clean === undefined) throw new SafetyNumberError('a safety number is 60 digits');
  const groups = clean.match(/\d{5}/g)!;
  if (!opts.lines) return groups.join(' ');
  return [0, 4, 8].map((i) => groups.slice(i, i + 4).join(' ')).join('\n');
}

/**
 * Whether two safety numbers are the same, ignoring spaces and line breaks (as typed or pasted by a
 * user). Anything that is not 60 digits once white space is removed is never the same.
 */
export function sameSafetyNumber(a: string, b: string): boolean {
  const x = normalise(a);
  const y = normalise(b);
  if (x === undefined || y === undefined) return false;
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x.charCodeAt(i) ^ y.charCodeAt(i);
  return diff === 0;
}

function normalise(text: string): string | undefined {
  if (typeof text !== 'string') return undefined;
  const clean = text.replace(/\s+/g, '');
  return /^\d{60}$/.test(clean) ? clean : undefined;
}

function sideInput(side: SafetyIdentity): { id: Uint8Array; keys: Uint8Array } {
  if (typeof side?.userId !== 'string' || side.userId.length === 0)
    throw new SafetyNumberError('a safety identity needs a user id');
  if (!Array.isArray(side.deviceKeys) || side.deviceKeys.length === 0)
    throw new SafetyNumberError('a safety identity needs at least one device key');
  const unique = new Map<string, Uint8Array>();
  for (const k of side.deviceKeys) {
    if (!(k instanceof Uint8Array) || k.length !== 32)
      throw new SafetyNumberError('a device signature key is 32 bytes (Ed25519)');
    unique.set(hex(k), k);
  }
  const sorted = [...unique.keys()].sort().map((h) => unique.get(h)!);
  const id = new TextEncoder().encode(side.userId);
  // Length-prefixed fields, so no two different (id, key set) pairs hash the same bytes.
  return {
    id: concat([u32(id.length), id]),
    keys: concat([u32(sorted.length), ...sorted]),
  };
}

function u32(n: number): Uint8Array {
  return new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
