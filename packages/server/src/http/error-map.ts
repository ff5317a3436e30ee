import type { ErrorBody, ErrorCode, ErrorKind } from '@palisade/protocol';
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

interface MappedError {
  status: number;
  code: ErrorCode;
  message: string;
}

/**
 * Every Fastify error a client can cause, with our status and code. SECURITY: fixed messages only;
 * Fastify's own messages echo the URL or header, and none of that goes back to the client.
 * http/hostile.test.ts enumerates fastify's errors module against this table.
 */
export const FRAMEWORK_ERRORS: Readonly<Record<string, MappedError>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body_too_large', message: 'request body too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', message: 'send application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'bad_http',
    message: 'the body size does not match Content-Length',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'bad_json', message: 'not valid JSON' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'bad_json', message: 'not valid JSON' },
  FST_ERR_BAD_URL: { status: 400, code: 'bad_http', message: 'malformed URL encoding' },
  FST_ERR_INVALID_URL: { status: 400, code: 'bad_http', message: 'malformed URL' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'uri_too_long', message: 'a path segment is too long' },
  FST_ERR_ROUTE_MISSING_CONTENT_TYPE: { status: 415, code: 'unsupported_media_type', message: 'send application/json' },
  FST_ERR_ROUTE_MISSING_CONTENT: { status: 400, code: 'bad_json', message: 'send a JSON body' },
  FST_ERR_VALIDATION: { status: 400, code: 'bad_request', message: 'malformed request' },
  FST_ERR_NOT_FOUND: { status: 404, code: 'not_found', message: 'no such route' },
  FST_ERR_HANDLER_TIMEOUT: { status: 503, code: 'unavailable', message: 'the request took too long; retry later' },
};

/** Node's HTTP parser and socket errors (the `clientError` path, before Fastify sees a request). */
export function clientErrorToHttp(e: { code?: string }): { status: number; body: ErrorBody } {
  if (e.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return { status: 408, body: { code: 'request_timeout', message: 'request not received in time' } };
  if (e.code === 'HPE_HEADER_OVERFLOW')
    return { status: 431, body: { code: 'headers_too_large', message: 'request headers too large' } };
  return { status: 400, body: { code: 'bad_http', message: 'malformed HTTP request' } };
}

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
  const framework = fe.code === undefined ? undefined : FRAMEWORK_ERRORS[fe.code];
  if (framework) return { status: framework.status, body: { code: framework.code, message: framework.message } };
  if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500)
    return { status: fe.statusCode, body: { code: 'bad_request', message: 'malformed request' } };
  const ref = randomId().slice(0, 12);
  log.error({ err: e, ref }, 'unhandled error');
  return { status: 500, body: { code: 'internal', message: `internal error, reference ${ref}` } };
}
