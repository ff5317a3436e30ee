import type { ErrorBody, ErrorKind } from '@palisade/protocol';
import { isAppError } from '../core/index.js';
import { randomId } from '../crypto/index.js';
import type { Logger } from '../core/index.js';

/** The one place AppError kinds become HTTP statuses. */
export const STATUS_OF_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/**
 * Turns anything thrown into a status and a stable error body.
 * SECURITY: unknown errors are logged with a reference and answered with `internal` and that
 * reference only; no stack trace or message from inside reaches the client.
 */
export function toHttpError(e: unknown, log: Logger): { status: number; body: ErrorBody } {
  if (isAppError(e)) {
    const body: ErrorBody = { code: e.code, message: e.message };
    if (e.details !== undefined) body.details = e.details;
    if (e.retryAfterMs !== undefined) body.retryAfterMs = e.retryAfterMs;
    return { status: STATUS_OF_KIND[e.kind], body };
  }
  const fe = e as { code?: string; statusCode?: number };
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, body: { code: 'body_too_large', message: 'request body too large' } };
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, body: { code: 'bad_request', message: 'send application/json' } };
  if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return { status: 400, body: { code: 'bad_json', message: 'not valid JSON' } };
  if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) return { status: fe.statusCode, body: { code: 'bad_request', message: 'malformed request' } };
  const ref = randomId().slice(0, 12);
  log.error({ err: e, ref }, 'unhandled error');
  return { status: 500, body: { code: 'internal', message: `internal error, reference ${ref}` } };
}
