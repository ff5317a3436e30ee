import { z } from 'zod';
import { MAX_ID_LENGTH, MAX_PAYLOAD_BYTES } from './limits.js';

/**
 * How strict a text field is.
 * - `display`: shown to people (display names, group names, topics, device names, labels, reasons):
 *   no control characters (C0, DEL, C1), no line or paragraph separators, no bidirectional embedding,
 *   override or isolate controls (U+202A-U+202E, U+2066-U+2069: "Trojan Source" spoofing), and not blank.
 *   The implicit marks LRM, RLM and ALM (U+200E, U+200F, U+061C) and joiners (ZWJ, ZWNJ) are allowed:
 *   right-to-left scripts and emoji sequences need them, and they cannot reorder other text.
 * - `secret`: passwords and tokens: compared exactly as sent; only NUL is refused.
 * - `machine`: identifiers a program chose (references, WebAuthn fields): no control characters.
 * Every kind refuses text that is not well-formed UTF-16 (a lone surrogate): it cannot be stored as
 * UTF-8 without being changed, and two different inputs would become one stored value.
 */
export type TextKind = 'display' | 'secret' | 'machine';

/** Options of {@link text}: lengths are counted in Unicode code points (an emoji is one, not two). */
export interface TextOptions {
  min?: number;
  max: number;
  kind?: TextKind;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const DISPLAY_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const BLANK = /^[\s\u200b-\u200d\u2060\ufeff]*$/;

/** Messages of the refusals, so clients and tests can recognise them. */
export const TEXT_ISSUES = {
  loneSurrogate: 'not well-formed Unicode (lone surrogate)',
  nul: 'NUL characters are not allowed',
  control: 'control characters are not allowed',
  displayControl: 'control characters, line separators and bidirectional overrides are not allowed',
  blank: 'must contain a visible character',
} as const;

/** Number of Unicode code points of a well-formed string. */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/**
 * The one schema for every text field of the protocol.
 * SECURITY: text is never trimmed, normalised or repaired: it is accepted exactly as sent (and
 * stored and returned byte for byte), or refused with a reason at the field's path.
 */
export function text(opts: TextOptions) {
  const { min = 0, max, kind = 'display' } = opts;
  // A cheap bound on UTF-16 length first, so a huge string is refused before it is scanned.
  let s = z.string().max(max * 2, `at most ${max} characters`);
  s = s.refine((v) => !LONE_SURROGATE.test(v), TEXT_ISSUES.loneSurrogate);
  if (kind === 'secret') s = s.refine((v) => !v.includes('\u0000'), TEXT_ISSUES.nul);
  if (kind === 'machine') s = s.refine((v) => !CONTROL.test(v), TEXT_ISSUES.control);
  if (kind === 'display') {
    s = s.refine((v) => !DISPLAY_FORBIDDEN.test(v), TEXT_ISSUES.displayControl);
    if (min > 0) s = s.refine((v) => !BLANK.test(v), TEXT_ISSUES.blank);
  }
  return s.refine(
    (v) => {
      const n = codePointLength(v);
      return n >= min && n <= max;
    },
    min > 0 ? `${min} to ${max} characters` : `at most ${max} characters`,
  );
}

/** Opaque identifier issued by the server (UUID-like, url-safe). */
export const Id = z
  .string()
  .min(1)
  .max(MAX_ID_LENGTH)
  .regex(/^[A-Za-z0-9_-]+$/, 'url-safe characters only');

/** Client-chosen message id used for idempotent retries. */
export const ClientMsgId = Id;

/**
 * User name: lower-case letters, digits, dot, dash, underscore; 2 to 32 characters. Names that start
 * with `bot.`, `deleted.` or `admin` (and look-alikes) are reserved for the server at enrolment.
 */
export const Username = text({ min: 2, max: 32, kind: 'machine' }).regex(
  /^[a-z0-9][a-z0-9._-]*$/,
  'lower-case letters, digits, dot, dash and underscore; start with a letter or digit',
);

/** Password: stored and compared exactly as typed (no trimming, no normalisation); NUL and lone surrogates refused. */
export const Password = text({ min: 1, max: 1024, kind: 'secret' });

/** Free text shown to people (display names, group names, device names). Stored exactly. */
export const DisplayText = text({ min: 1, max: 128 });

/** A conversation topic: display text up to 512 characters. */
export const TopicText = text({ min: 1, max: 512 });

/** A reason given for an administrative action (kept in the audit trail and shown to approvers). */
export const ReasonText = text({ min: 3, max: 500 });

/**
 * An e-mail address (ASCII, as zod's `email()` accepts). Normalised on purpose: the server stores
 * and returns it lower-cased, and compares it case-insensitively (through a blind index).
 */
export const Email = text({ max: 254, kind: 'machine' }).email();

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Base64 (standard alphabet, padded) binary payload of at most 64 KiB decoded. */
export const Payload = z
  .string()
  .max(Math.ceil(MAX_PAYLOAD_BYTES / 3) * 4, 'payload_too_large')
  .refine((s) => s.length % 4 === 0 && BASE64.test(s), 'must be base64');

/** Base64url without padding. */
export const B64Url = (maxLen: number) => z.string().max(maxLen).regex(BASE64URL, 'must be base64url');

/** Per-conversation sequence number. */
export const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
