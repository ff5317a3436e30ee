import type { ErrorBody, ErrorCode } from '@palisade/protocol';

/**
 * An error answered by the server, with its stable code; two codes are the client's own: `network`
 * (the server cannot be reached, or the client closed) and `timeout` (no answer in time).
 */
export class PalisadeError extends Error {
  readonly code: ErrorCode | 'network' | 'timeout';
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  readonly details: unknown;

  constructor(body: Omit<Partial<ErrorBody>, 'code'> & { code: ErrorCode | 'network' | 'timeout' }, status = 0) {
    super(body.message ?? body.code);
    this.name = 'PalisadeError';
    this.code = body.code;
    this.status = status;
    this.retryAfterMs = body.retryAfterMs;
    this.details = body.details;
  }
}
