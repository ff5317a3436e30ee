import { ERROR_CODES, type ErrorCode, type ErrorKind } from '@palisade/protocol';

/**
 * The one error type domain code throws. Carries a stable code from the protocol catalogue;
 * transports map its kind to a status or error frame, each in one file.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly details: unknown;
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    opts: { details?: unknown; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message ?? ERROR_CODES[code].hint, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.kind = ERROR_CODES[code].kind;
    this.details = opts.details;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** True when `e` is an AppError. */
export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
