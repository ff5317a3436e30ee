import { MAX_FRAME_BYTES, MAX_JSON_DEPTH } from './limits.js';
import type { ErrorCode } from './errors.js';

/** Result of a parse that never throws. */
export type ParseResult<T> =
  { ok: true; value: T } | { ok: false; code: ErrorCode; message: string; details?: unknown };

/**
 * Parses JSON text with a size limit and a depth limit.
 * SECURITY: keys such as `__proto__` are dropped so parsed objects cannot pollute prototypes.
 */
export function parseJsonBounded(
  text: string,
  maxBytes = MAX_FRAME_BYTES,
  maxDepth = MAX_JSON_DEPTH,
): ParseResult<unknown> {
  if (text.length > maxBytes || (text.length * 3 > maxBytes && utf8Length(text) > maxBytes)) {
    return { ok: false, code: 'body_too_large', message: `larger than ${maxBytes} bytes` };
  }
  if (jsonDepth(text) > maxDepth) {
    return { ok: false, code: 'too_deep', message: `nested deeper than ${maxDepth}` };
  }
  try {
    // Fast path: text that cannot name a dangerous key (not even through \u escapes) needs no reviver.
    const value: unknown = MAY_NAME_DANGEROUS_KEY.test(text)
      ? JSON.parse(text, (key, v: unknown) =>
          key === '__proto__' || key === 'constructor' || key === 'prototype' ? undefined : v,
        )
      : JSON.parse(text);
    return { ok: true, value };
  } catch {
    return { ok: false, code: 'bad_json', message: 'not valid JSON' };
  }
}

const MAY_NAME_DANGEROUS_KEY = /__proto__|constructor|prototype|\\u/;

/** Maximum bracket nesting of JSON text, ignoring brackets inside strings. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses a JSON body given as bytes: refuses bytes that are not valid UTF-8 instead of replacing
 * them with U+FFFD (which would change the text silently), then parses as {@link parseJsonBounded}.
 */
export function parseJsonBytes(
  bytes: Uint8Array,
  maxBytes = MAX_FRAME_BYTES,
  maxDepth = MAX_JSON_DEPTH,
): ParseResult<unknown> {
  if (bytes.byteLength > maxBytes)
    return { ok: false, code: 'body_too_large', message: `larger than ${maxBytes} bytes` };
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return { ok: false, code: 'bad_json', message: 'the body is not valid UTF-8' };
  }
  return parseJsonBounded(text, maxBytes, maxDepth);
}

const encoder = new TextEncoder();

/** UTF-8 length of a string without Node-only APIs. */
export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}
